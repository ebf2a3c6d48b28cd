/**
 * The creation of a loan: the `request` row of the loan table, inserted with its `requested`
 * event. Used by `LoanService.request` and by a reservation's pickup (`ReservationService.pickUp`),
 * which then approves the loan in the same command.
 *
 * @module
 * @internal
 */
import { assertRowIds } from '../internal/id-ceiling.ts';
import { compiled } from '../kernel/compiled.ts';
import { instantParam, toInt } from '../kernel/db.ts';
import type { TransitionScope } from '../kernel/writes.ts';
import { type CopyRecord, loanRecordFromRow } from './loan-queries.ts';
import { LOAN_MACHINE, type LoanTransition, recordLoanEvent } from './transitions.ts';
import type { LoanView } from './views.ts';

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
