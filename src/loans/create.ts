/**
 * The creation of a loan: the `request` row of the loan table, inserted with its `requested`
 * event (`LoanService.request`); and a loan lent at once, requested and approved in one command
 * (`ReservationService.pickUp`, `HoldService.fulfillHold`).
 *
 * @module
 * @internal
 */

import { applyCopyTransition } from '../catalog/copy-transitions.ts';
import { SwlError } from '../errors.ts';
import { assertRowIds } from '../internal/id-ceiling.ts';
import { compiled } from '../kernel/compiled.ts';
import { instantParam, toInt } from '../kernel/db.ts';
import type { TransitionScope } from '../kernel/writes.ts';
import { type CopyRecord, type LendingFacts, loanRecordFromRow, readLendingFacts } from './loan-queries.ts';
import { blockRefusal, inactiveBorrower, loanLimitRefusal, policyForbids } from './rules.ts';
import { applyLoanTransition, LOAN_MACHINE, type LoanTransition, recordLoanEvent } from './transitions.ts';
import type { LoanTerms, LoanView } from './views.ts';

/** What a new loan is made of. @internal */
export interface NewLoan {
  borrowerId: number;
  catalogEntryId: number;
  copy: CopyRecord | null;
  environment: string | null;
  requestedDueDate: Date | null;
  observation: string | null;
  /** The command's instant. */
  at: Date;
  /** Extra particulars of the `requested` event (e.g. the reservation it comes from). */
  data?: Record<string, unknown>;
}

/**
 * Inserts a `pendiente` loan now (its id is needed at once) and plans its `requested` event on the
 * command's write batch. @returns the loan's view (version 1). @internal
 */
export async function insertPendingLoan(
  s: TransitionScope & { actor: { id: number } },
  loan: NewLoan,
): Promise<LoanView> {
  const { db, postgres } = s;
  const creation = LOAN_MACHINE.find('request', null) as LoanTransition;
  const at = instantParam(postgres, loan.at);
  const row = {
    borrower_id: loan.borrowerId,
    catalog_entry_id: loan.catalogEntryId,
    instance_id: loan.copy?.id ?? null,
    environment: loan.environment,
    status: creation.to,
    request_date: at,
    requested_due_date: loan.requestedDueDate && instantParam(postgres, loan.requestedDueDate),
    observation: loan.observation,
    requested_by_id: s.actor.id,
    renewal_count: 0,
    overdue_fine: 0,
    replacement_charge: 0,
    final_penalty: 0,
    version: 1,
    created_at: at,
    updated_at: at,
  };
  const columns = Object.keys(row) as Array<keyof typeof row>;
  const insert = compiled(db, postgres, 'loan.insert', Object.values(row), (db, ...values) =>
    db
      .insertInto('swl_loan')
      .values(Object.fromEntries(columns.map((column, k) => [column, values[k]])) as typeof row)
      .returning('id'),
  );
  const inserted = (await db.executeQuery(insert)).rows[0];
  if (!inserted) throw new Error('an insert returns its row');
  const loanId = toInt(inserted.id);
  assertRowIds('swl_loan', [loanId]);
  recordLoanEvent(s, {
    loanId,
    transition: creation,
    actorId: s.actor.id,
    at: loan.at,
    data: {
      copyId: loan.copy?.id ?? null,
      catalogEntryId: loan.catalogEntryId,
      requestedDueDate: loan.requestedDueDate?.toISOString() ?? null,
      ...loan.data,
    },
  });
  return loanRecordFromRow({ ...row, id: loanId, copy_code: loan.copy?.code ?? null }).view;
}

/**
 * Lends `copy` to a borrower at once, in the command's transaction: the loan is inserted
 * (`requested`), the copy lent (`loaned`), the loan approved (`approved`) under `terms`, due at
 * `dueDate` — a reservation's pickup and a hold's fulfilment. `source` (`{ reservationId }`,
 * `{ holdId }`) goes into both loan events' data, `approvedData` into the `approved` event's.
 * @returns the approved loan's view. @internal
 */
export async function lendNow(
  s: TransitionScope & { actor: { id: number } },
  q: {
    borrowerId: number;
    catalogEntryId: number;
    copy: CopyRecord;
    environment: string | null;
    requestedDueDate: Date | null;
    dueDate: Date;
    terms: LoanTerms;
    at: Date;
    source: Record<string, unknown>;
    approvedData?: Record<string, unknown>;
  },
): Promise<LoanView> {
  const { copy, at } = q;
  const pending = await insertPendingLoan(s, {
    borrowerId: q.borrowerId,
    catalogEntryId: q.catalogEntryId,
    copy,
    environment: q.environment,
    requestedDueDate: q.requestedDueDate,
    observation: null,
    at,
    data: q.source,
  });
  applyCopyTransition(s, { copy, command: 'lend', loanId: pending.id, actorId: s.actor.id, at, note: null });
  return applyLoanTransition(s, {
    loan: pending,
    command: 'approve',
    changes: {
      copyId: copy.id,
      copyCode: copy.code,
      approvalDate: at,
      dueDate: q.dueDate,
      approvedById: s.actor.id,
      terms: q.terms,
    },
    actorId: s.actor.id,
    at,
    data: {
      copyId: copy.id,
      dueDate: q.dueDate.toISOString(),
      terms: { ...q.terms },
      ...q.source,
      ...q.approvedData,
    },
  });
}

/**
 * The borrower checks of lending `count` copies at once (a booking's pickup, a hold's
 * fulfilment), in the order `LoanService.approve` applies them: the borrower is active, not
 * blocked, has a lending policy for the entry's category, and stays within its `maxActiveLoans`.
 * `what` names the record for the error when its borrower or entry is missing (its foreign keys
 * make that impossible).
 * @returns the borrower, the entry and the policy (its terms govern the loans).
 * @throws SwlError `BORROWER_INACTIVE`, `BORROWER_BLOCKED`, `POLICY_FORBIDS`, `LOAN_LIMIT_REACHED`, `INTERNAL`.
 * @internal
 */
export async function lendingChecks(
  s: TransitionScope,
  q: { borrowerId: number; catalogEntryId: number; count: number; now: Date; what: string },
): Promise<{
  borrower: NonNullable<LendingFacts['borrower']>;
  entry: NonNullable<LendingFacts['entry']>;
  policy: NonNullable<LendingFacts['policy']>;
}> {
  const facts = await readLendingFacts(s.db, q.borrowerId, q.catalogEntryId, q.now, s.postgres);
  const { borrower, entry, policy } = facts;
  if (!borrower || !entry)
    throw new SwlError('INTERNAL', `${q.what} refers to a missing borrower or entry`, {});
  if (!borrower.active) throw inactiveBorrower(borrower.id);
  const blocked = blockRefusal(borrower.id, facts.figures);
  if (blocked) throw blocked;
  if (!policy) throw policyForbids(entry.category, borrower.role);
  const limit = loanLimitRefusal(
    borrower.id,
    entry.category,
    facts.figures.activeInCategory + q.count - 1,
    policy.maxActiveLoans,
  );
  if (limit) throw limit;
  return { borrower, entry, policy };
}
