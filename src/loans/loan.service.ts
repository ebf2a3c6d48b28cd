/**
 * The loan state machine as commands, with lending policies, automatic blocks and fines.
 * Source: `docs/DESIGN.md` §3 (state machine), §5 (policies, blocks, fines), §6 (errors,
 * validation, permissions), §7 (transactions and concurrency).
 *
 * The lifecycle commands read and write through typed Kysely queries on the command's transaction
 * (`src/loans/loan-queries.ts`, `src/kernel/`); status changes go through `applyLoanTransition`
 * and `applyCopyTransition`; the rules they apply are the pure functions of `src/loans/rules.ts`.
 *
 * @module
 */
import type { EntityManager } from '@mikro-orm/core';
import { applyCopyTransition } from '../catalog/copy-transitions.ts';
import { CopyStatus, LoanStatus } from '../domain/vocabulary.ts';
import { Loan } from '../entities/loan.entity.ts';
import { LoanEvent } from '../entities/loan-event.entity.ts';
import { LoanPolicy } from '../entities/loan-policy.entity.ts';
import { SwlError } from '../errors.ts';
import { holdSetAsideOn, serveHolds } from '../holds/serve.ts';
import {
  type CommandScope,
  defineCommand,
  defineQuery,
  ServiceBase,
  type ServiceOptions,
  unlessOwn,
} from '../internal/service-base.ts';
import { compiled } from '../kernel/compiled.ts';
import { kyselyOf, toBool } from '../kernel/db.ts';
import { type Actor, can } from '../permissions.ts';
import { lockEntry } from '../reservations/availability.ts';
import { assertRenewalClearOfReservations, dueDateBeforeReservations } from '../reservations/loan-guard.ts';
import type { Page } from '../validation.ts';
import { insertPendingLoan, type NewLoan } from './create.ts';
import { calculateFine, overdueMinutes } from './fines.ts';
import {
  type CopyRecord,
  countWaitingRequests,
  type LendingFacts,
  type LoanRecord,
  pickAvailableCopy,
  readBorrowerFigures,
  readCopy,
  readLendingFacts,
  readLoan,
} from './loan-queries.ts';
import {
  blockReasons,
  blockRefusal,
  COPY_STATUS_AFTER_RETURN,
  chargesAtReturn,
  copyUnavailable,
  dueDateAtApproval,
  inactiveBorrower,
  loanLimitRefusal,
  NO_FINE,
  policyForbids,
  renewalRefusal,
  renewedDueDate,
  requestedCopyRefusal,
  validationError,
} from './rules.ts';
import {
  ApproveLoanInput,
  BorrowerStandingInput,
  CancelLoanInput,
  GetLoanInput,
  ListBorrowerLoansInput,
  OverdueLoansInput,
  PendingQueueInput,
  RejectLoanInput,
  RenewLoanInput,
  RequestLoanInput,
  ReturnLoanInput,
  SettlePenaltyInput,
} from './schemas.ts';
import { loanTerms, policyTerms } from './terms.ts';
import { applyLoanTransition, assertLoanCommand, type LoanCommand } from './transitions.ts';
import {
  type ApprovedLoanView,
  type BorrowerStanding,
  type LoanDetails,
  type LoanView,
  type OverdueLoanView,
  type ReturnedLoanView,
  toLoanEventView,
  toLoanView,
} from './views.ts';

const { Pending, Approved, Returned, Rejected } = LoanStatus;

const REQUEST = defineCommand({
  name: 'loan.request',
  capability: 'loan:request:own',
  input: RequestLoanInput,
  authorize: unlessOwn('loan:request:any'),
});
const APPROVE = defineCommand({ name: 'loan.approve', capability: 'loan:approve', input: ApproveLoanInput });
const REJECT = defineCommand({ name: 'loan.reject', capability: 'loan:reject', input: RejectLoanInput });
const CANCEL = defineCommand({ name: 'loan.cancel', capability: 'loan:cancel:own', input: CancelLoanInput });
const RENEW = defineCommand({ name: 'loan.renew', capability: 'loan:renew:own', input: RenewLoanInput });
const RETURN = defineCommand({ name: 'loan.return', capability: 'loan:return', input: ReturnLoanInput });
const SETTLE = defineCommand({
  name: 'loan.settlePenalty',
  capability: 'loan:settle',
  input: SettlePenaltyInput,
});

const GET_LOAN = defineQuery({ capability: 'loan:read:own', input: GetLoanInput });
const LIST_BORROWER_LOANS = defineQuery({
  capability: 'loan:read:own',
  input: ListBorrowerLoansInput,
  authorize: unlessOwn('loan:read:any'),
});
const PENDING_QUEUE = defineQuery({ capability: 'loan:read:any', input: PendingQueueInput });
const OVERDUE_LOANS = defineQuery({ capability: 'loan:read:any', input: OverdueLoansInput });
const BORROWER_STANDING = defineQuery({
  capability: 'loan:read:own',
  input: BorrowerStandingInput,
  authorize: unlessOwn('loan:read:any'),
});

/**
 * Loan requests, approvals, rejections, cancellations, renewals, returns and penalty settlements,
 * plus the reads a lending desk needs.
 *
 * Every command:
 * - validates its input with the exported zod schema and checks the acting role's capability
 *   before reading anything (`VALIDATION_FAILED`, `FORBIDDEN`);
 * - runs atomically in `em.transactional()` on the EntityManager given to the constructor, so it
 *   joins the host's open transaction (as a savepoint) instead of opening a second one;
 * - writes one `LoanEvent` per transition (and a `CopyEvent` per copy status change) in the
 *   same transaction, and publishes them to the {@link ServiceOptions.events} bus only after the
 *   outermost commit;
 * - takes its instant from the injected clock;
 * - throws only {@link SwlError}; driver errors (unique/lock/deadlock/connection) are translated.
 *
 * Concurrency (`docs/DESIGN.md` §7): on PostgreSQL the loan and copy rows are locked (`FOR
 * UPDATE`; a copy picked for a title-level request with `SKIP LOCKED`), and every update carries
 * its version check (`where version = ?`, exactly one row changed, else `CONFLICT`); on SQLite,
 * write transactions start with `BEGIN IMMEDIATE` (see `SwlSqliteDialect`). The partial unique
 * index on approved loans is the last line: two approvals of one copy can never both commit.
 *
 * @example
 * ```ts
 * const loans = new LoanService(em, { clock, events });
 * const loan = await loans.request(student, { catalogEntryId: 3, environment: 'Aula 204' });
 * await loans.approve(staff, { loanId: loan.id });
 * const back = await loans.return(staff, { loanId: loan.id, outcome: 'ok' });
 * back.finalPenalty; // minor units
 * ```
 */
export class LoanService extends ServiceBase {
  /**
   * @param em - the caller's EntityManager (a request-scoped fork, or the one of an open host transaction).
   * @param options - clock and event bus.
   */
  constructor(em: EntityManager, options: ServiceOptions = {}) {
    super(em, options);
  }

  /**
   * Requests a loan of a copy (`copyId`) or of any copy of a title/model (`catalogEntryId`) for
   * the acting user, or — staff/admin — for `borrowerId`. Creates a `pendiente` loan.
   *
   * Guards, in order: borrower exists and is active; the copy/entry exists; a named copy is not
   * `perdido`/`mantenimiento`/`retirado` and the entry is not withdrawn; a policy lets the
   * borrower's role borrow the category; the environment is given when the policy requires it;
   * the borrower is not blocked (overdue loan, unsettled penalty); fewer than the policy's
   * `maxActiveLoans` pending + approved loans in the category; `requestedDueDate` is in the future.
   *
   * @param actor - acting user (`{ id, role }`); capability `loan:request:own` (`loan:request:any` for others).
   * @param input - {@link RequestLoanInput}.
   * @returns the new loan.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND`, `BORROWER_INACTIVE`,
   *   `COPY_UNAVAILABLE`, `POLICY_FORBIDS`, `ENVIRONMENT_REQUIRED`, `BORROWER_BLOCKED`,
   *   `LOAN_LIMIT_REACHED`, `IDEMPOTENCY_KEY_REUSED`, `CAPACITY_EXCEEDED`, `CONFLICT`, `UNAVAILABLE`.
   */
  async request(actor: Actor, input: RequestLoanInput): Promise<LoanView> {
    return this.command(REQUEST, actor, input, async (s) => {
      const { db, postgres, input: i } = s;
      const borrowerId = i.borrowerId ?? s.actor.id;
      // Serialize a borrower's requests (the limit check) on PostgreSQL by locking the borrower row.
      if (postgres) {
        await db.executeQuery(
          compiled(db, postgres, 'borrower.lock', [borrowerId], (db, id) =>
            db.selectFrom('swl_user').select('id').where('id', '=', id).forUpdate(),
          ),
        );
      }
      const now = s.instant();
      const copy = i.copyId === undefined ? undefined : await readCopy(db, i.copyId, postgres, false);
      const entryId = i.copyId === undefined ? (i.catalogEntryId as number) : (copy?.catalogEntryId ?? 0);
      const { borrower, entry, policy, figures } = await readLendingFacts(
        db,
        borrowerId,
        entryId,
        now,
        postgres,
      );

      if (!borrower) throw SwlError.notFound('user', borrowerId);
      if (!borrower.active) throw inactiveBorrower(borrower.id);
      if (i.copyId !== undefined) {
        if (!copy) throw SwlError.notFound('copy', i.copyId);
        const unavailable = requestedCopyRefusal(copy);
        if (unavailable) throw unavailable;
      }
      if (!entry) throw SwlError.notFound('catalogEntry', i.catalogEntryId);
      if (entry.withdrawnAt) {
        throw copyUnavailable(`"${entry.titleOrName}" was withdrawn from circulation`, {
          catalogEntryId: entry.id,
          withdrawnAt: entry.withdrawnAt.toISOString(),
        });
      }
      if (!policy) throw policyForbids(entry.category, borrower.role);
      if (policy.environmentRequired && !i.environment) {
        throw new SwlError(
          'ENVIRONMENT_REQUIRED',
          `${entry.category} items need the environment where they will be used`,
          { category: entry.category },
        );
      }
      const refusal =
        blockRefusal(borrower.id, figures) ??
        loanLimitRefusal(borrower.id, entry.category, figures.activeInCategory, policy.maxActiveLoans);
      if (refusal) throw refusal;
      if (i.requestedDueDate && i.requestedDueDate.getTime() <= now.getTime()) {
        throw validationError('requestedDueDate', 'must be in the future');
      }
      return this.#createLoan(s, {
        borrowerId: borrower.id,
        catalogEntryId: entry.id,
        copy: copy ?? null,
        environment: i.environment ?? null,
        requestedDueDate: i.requestedDueDate ?? null,
        observation: i.observation ?? null,
        at: now,
      });
    });
  }

  /**
   * Approves a pending request: picks the named copy, or the copy given in `copyId`, or the
   * first available copy of the entry; sets `approvalDate`, `dueDate` (approval + policy period,
   * or the requested/given due date when earlier) and the copy → `prestado`.
   *
   * Fixes the loan's terms (`docs/DESIGN.md` §11): the policy's loan period, renewals allowed and
   * fine fields are copied onto the loan (`LoanView.terms`, and the `approved` event's data) and
   * govern its renewals and its fine at return, whatever later happens to the policy.
   *
   * Reservations and holds (issue 16): a copy set aside for a hold is not picked, and a named one is
   * refused (`COPY_UNAVAILABLE`, `details.reason: 'held'`, until the hold is fulfilled, cancelled or
   * swept); when the
   * due date would run into a booking of the copy or of the entry's stock (plus the buffer of the
   * booking policy for the category and the borrower's role), it is brought forward to end before
   * it and `dueDateCappedBy` says so; with less than `MIN_GAP_LOAN_MINUTES` left the approval is
   * refused (`COPY_UNAVAILABLE`, `details.reason: 'reserved'`).
   *
   * Two concurrent approvals for one copy: exactly one wins; the other gets `COPY_UNAVAILABLE`
   * (or `CONFLICT`). The same loan approved twice at once: one succeeds, the other gets
   * `INVALID_TRANSITION` (or `CONFLICT`).
   *
   * @param actor - staff/admin (capability `loan:approve`).
   * @param input - {@link ApproveLoanInput}.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND`, `INVALID_TRANSITION`,
   *   `BORROWER_INACTIVE`, `BORROWER_BLOCKED`, `POLICY_FORBIDS`, `COPY_UNAVAILABLE`,
   *   `IDEMPOTENCY_KEY_REUSED`, `CAPACITY_EXCEEDED`, `CONFLICT`, `UNAVAILABLE`.
   */
  async approve(actor: Actor, input: ApproveLoanInput): Promise<ApprovedLoanView> {
    return this.command(APPROVE, actor, input, async (s) => {
      const { db, postgres, input: i } = s;
      // On SQLite the loan comes with the first available copy of its entry (picked in the same
      // read); on PostgreSQL that copy is picked and locked separately.
      const record = await this.#loan(
        s,
        'approve',
        i.loanId,
        undefined,
        i.copyId === undefined ? 'picked copy' : null,
      );
      const { view: loan, instants } = record;
      // Entry, then copy: the lock order of every command that commits stock (reservations too).
      if (postgres) await lockEntry(db, postgres, loan.catalogEntryId);
      // The copy is locked before the instant is taken; what is wrong with it is reported after
      // the borrower checks, in the order the guards are documented.
      const pick = await this.#lockCopyForApproval(s, record, i.copyId);
      const now = s.instant(...instants);
      const facts = await readLendingFacts(db, loan.borrowerId, loan.catalogEntryId, now, postgres);
      const { borrower, entry, policy } = present(facts);
      if (!borrower.active) throw inactiveBorrower(borrower.id);
      const blocked = blockRefusal(borrower.id, facts.figures);
      if (blocked) throw blocked;
      if (!policy) throw policyForbids(entry.category, borrower.role);
      if (!pick.copy) throw pick.error(entry.titleOrName);
      const copy = pick.copy;
      const { dueDate, cappedBy } = await dueDateBeforeReservations(db, postgres, {
        loanId: loan.id,
        catalogEntryId: loan.catalogEntryId,
        copyId: copy.id,
        category: entry.category,
        role: borrower.role,
        now,
        due: dueDateAtApproval(now, policy.terms, loan.requestedDueDate, i.dueDate),
      });
      const dueDateCappedBy = cappedBy && {
        reservedFrom: cappedBy.reservedFrom.toISOString(),
        reservationId: cappedBy.reservationId,
      };
      const terms = policy.terms;
      applyCopyTransition(s, {
        copy,
        command: 'lend',
        loanId: loan.id,
        actorId: s.actor.id,
        at: now,
        note: null,
      });
      const approved = applyLoanTransition(s, {
        loan,
        command: 'approve',
        changes: {
          copyId: copy.id,
          copyCode: copy.code,
          approvalDate: now,
          dueDate,
          approvedById: s.actor.id,
          terms,
        },
        actorId: s.actor.id,
        at: now,
        data: {
          copyId: copy.id,
          dueDate: dueDate.toISOString(),
          terms: { ...terms },
          ...(dueDateCappedBy ? { dueDateCappedBy } : {}),
        },
      });
      await s.writes.run();
      return { ...approved, dueDateCappedBy };
    });
  }

  /**
   * Rejects a pending request with a reason (→ `rechazado`).
   * @param actor - staff/admin (capability `loan:reject`).
   * @param input - {@link RejectLoanInput}.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND`, `INVALID_TRANSITION`,
   *   `IDEMPOTENCY_KEY_REUSED`, `CAPACITY_EXCEEDED`, `CONFLICT`, `UNAVAILABLE`.
   */
  async reject(actor: Actor, input: RejectLoanInput): Promise<LoanView> {
    return this.command(REJECT, actor, input, (s) =>
      this.#refuse(s, 'reject', s.input.loanId, s.input.reason),
    );
  }

  /**
   * The borrower withdraws their own pending request (→ `rechazado`, event `cancelled`). Admins may
   * cancel anyone's request.
   * @param actor - the borrower (capability `loan:cancel:own`), or admin (`loan:cancel:any`).
   * @param input - {@link CancelLoanInput}.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN` (another borrower's loan), `NOT_FOUND`,
   *   `INVALID_TRANSITION`, `IDEMPOTENCY_KEY_REUSED`, `CAPACITY_EXCEEDED`, `CONFLICT`, `UNAVAILABLE`.
   */
  async cancel(actor: Actor, input: CancelLoanInput): Promise<LoanView> {
    return this.command(CANCEL, actor, input, (s) =>
      this.#refuse(s, 'cancel', s.input.loanId, s.input.reason),
    );
  }

  /**
   * Renews an approved loan: the due date moves by one loan period of the loan's terms (fixed at
   * approval, `docs/DESIGN.md` §11) from the current due date; the status stays `aprobado`. Later
   * edits of the policy, or its deletion, do not change the period or the renewals allowed.
   *
   * Refused, in this order, when the borrower is deactivated (`BORROWER_INACTIVE`, as `approve`
   * refuses — whoever renews, staff included), a legacy loan without terms has no policy either
   * (`POLICY_FORBIDS`), the loan is overdue (`LOAN_OVERDUE`), has used the renewals of its terms
   * (`RENEWAL_LIMIT_REACHED`), the borrower is blocked by another overdue loan or an unsettled
   * penalty (`BORROWER_BLOCKED`), or another borrower's request waits for this title or copy
   * (`HOLD_PENDING`).
   *
   * @param actor - the borrower (capability `loan:renew:own`) or staff/admin (`loan:renew:any`).
   * @param input - {@link RenewLoanInput}.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND`, `INVALID_TRANSITION`,
   *   `BORROWER_INACTIVE`, `POLICY_FORBIDS`, `LOAN_OVERDUE`, `RENEWAL_LIMIT_REACHED`,
   *   `BORROWER_BLOCKED`, `HOLD_PENDING`, `IDEMPOTENCY_KEY_REUSED`, `CAPACITY_EXCEEDED`, `CONFLICT`, `UNAVAILABLE`.
   */
  async renew(actor: Actor, input: RenewLoanInput): Promise<LoanView> {
    return this.command(RENEW, actor, input, async (s) => {
      const { db, postgres } = s;
      const { view: loan, instants } = await this.#loan(s, 'renew', s.input.loanId, 'loan:renew:any');
      if (postgres) await lockEntry(db, postgres, loan.catalogEntryId);
      const now = s.instant(...instants);
      const facts = await readLendingFacts(db, loan.borrowerId, loan.catalogEntryId, now, postgres);
      const { borrower, entry, policy } = present(facts);
      if (!borrower.active) throw inactiveBorrower(borrower.id);
      const terms = loan.terms ?? policy?.terms;
      if (!terms) throw policyForbids(entry.category, borrower.role);
      const dueDate = loan.dueDate as Date;
      const refusal =
        renewalRefusal({ id: loan.id, dueDate, renewalCount: loan.renewalCount }, terms, now) ??
        blockRefusal(borrower.id, facts.figures);
      if (refusal) throw refusal;
      const waiting = await countWaitingRequests(db, loan, postgres);
      if (waiting > 0) {
        throw new SwlError('HOLD_PENDING', 'another borrower is waiting for this item', {
          loanId: loan.id,
          waiting,
        });
      }
      const next = { dueDate: renewedDueDate(dueDate, terms), renewalCount: loan.renewalCount + 1 };
      await assertRenewalClearOfReservations(db, postgres, {
        loanId: loan.id,
        catalogEntryId: loan.catalogEntryId,
        copyId: loan.copyId,
        category: entry.category,
        role: borrower.role,
        now,
        currentDue: dueDate,
        due: next.dueDate,
      });
      const renewed = applyLoanTransition(s, {
        loan,
        command: 'renew',
        changes: next,
        actorId: s.actor.id,
        at: now,
        data: {
          previousDueDate: dueDate.toISOString(),
          dueDate: next.dueDate.toISOString(),
          renewalCount: next.renewalCount,
        },
      });
      await s.writes.run();
      return renewed;
    });
  }

  /**
   * Checks a loan in (→ `devuelto`): sets `returnDate`, the copy's status from the outcome (`ok` →
   * `disponible`, `damaged` → `mantenimiento`, `lost` → `perdido`) and condition, and the penalty:
   *
   * - `overdueFine`: the fine rule of `docs/DESIGN.md` §5 under the loan's **terms fixed at
   *   approval** (§11) — lowering, raising or deleting the policy afterwards does not change it. A
   *   legacy loan approved before terms were stored falls back to the current policy, and to no
   *   fine when there is none. With `capAtReplacementCost`, the fine is capped only at a known
   *   replacement cost (an unknown cost, `null`, is no cap; a known 0 caps at 0);
   * - `replacementCharge`: when lost, the entry's replacement cost; 0 when that cost is unknown
   *   (`null`) — then the result says so (`replacementCostUnknown: true`, also in the `returned`
   *   event's data) instead of silently charging nothing;
   * - `finalPenalty` = `overdueFine + replacementCharge`, computed exactly and held at `MAX_MONEY`.
   *
   * Every amount is integer minor units, 0 ..= `MAX_MONEY`, stored exactly on both databases. A
   * returned loan is closed whatever its penalty; the penalty blocks the borrower until it is
   * settled.
   *
   * A copy back on the shelf (`ok`) is set aside for the first waiting hold of its title, if any
   * (`setAsideForHold`, issue 16; `HoldService`).
   *
   * @param actor - staff/admin (capability `loan:return`).
   * @param input - {@link ReturnLoanInput}.
   * @returns the returned loan (`overdueFine`, `replacementCharge`, `finalPenalty` in minor units),
   *   `replacementCostUnknown` and `setAsideForHold` ({@link ReturnedLoanView}).
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND`, `INVALID_TRANSITION`,
   *   `IDEMPOTENCY_KEY_REUSED`, `CAPACITY_EXCEEDED`, `CONFLICT`, `UNAVAILABLE`.
   */
  async return(actor: Actor, input: ReturnLoanInput): Promise<ReturnedLoanView> {
    return this.command(RETURN, actor, input, async (s) => {
      const { db, postgres, input: i } = s;
      // On PostgreSQL: the loan, then its entry, then its copy — the lock order of every command
      // that commits stock (a copy checked in `ok` may be set aside for a hold).
      const record = await this.#loan(s, 'return', i.loanId);
      const { view: loan, instants, entry } = record;
      if (postgres) await lockEntry(db, postgres, loan.catalogEntryId);
      const copy = await readCopy(db, loan.copyId as number, postgres, postgres);
      if (!copy) throw SwlError.notFound('copy', loan.copyId);
      const now = s.instant(...instants);
      // A legacy loan approved before terms were stored falls back to the current policy.
      const terms =
        loan.terms ??
        (await readLendingFacts(db, loan.borrowerId, loan.catalogEntryId, now, postgres)).policy?.terms ??
        null;
      const charges = chargesAtReturn(loan.dueDate as Date, now, terms, entry.replacementCost, i.outcome);
      applyCopyTransition(s, {
        copy,
        command: 'checkIn',
        to: COPY_STATUS_AFTER_RETURN[i.outcome],
        ...(i.condition ? { condition: i.condition } : {}),
        loanId: loan.id,
        actorId: s.actor.id,
        at: now,
        note: i.condition ?? null,
      });
      const returned = applyLoanTransition(s, {
        loan,
        command: 'return',
        changes: {
          returnDate: now,
          receivedById: s.actor.id,
          returnOutcome: i.outcome,
          overdueFine: charges.fine.amount,
          replacementCharge: charges.replacementCharge,
          finalPenalty: charges.finalPenalty,
          ...(i.observation ? { observation: i.observation } : {}),
        },
        actorId: s.actor.id,
        at: now,
        data: {
          outcome: i.outcome,
          fine: { ...charges.fine },
          // Where the fine terms came from: the loan (fixed at approval), the current policy (a
          // legacy loan without terms) or nowhere (no fine).
          termsSource: loan.terms ? 'loan' : terms ? 'policy' : 'none',
          replacementCharge: charges.replacementCharge,
          replacementCostUnknown: charges.replacementCostUnknown,
          finalPenalty: charges.finalPenalty,
          finalPenaltyCappedBy: charges.finalPenaltyCappedBy,
        },
      });
      await s.writes.run();
      // A copy back on the shelf goes to the first waiting hold of its title, if any (src/holds/).
      const setAside =
        COPY_STATUS_AFTER_RETURN[i.outcome] === CopyStatus.Available
          ? await serveHolds(s, {
              catalogEntryId: loan.catalogEntryId,
              copyId: copy.id,
              actorId: s.actor.id,
              now,
            })
          : null;
      await s.writes.run();
      return {
        ...returned,
        replacementCostUnknown: charges.replacementCostUnknown,
        setAsideForHold: setAside && { holdId: setAside.holdId, expiresAt: setAside.expiresAt },
      };
    });
  }

  /**
   * Marks a returned loan's penalty `paid` or `waived`, with who and when. Lifts the
   * unsettled-penalty block once no other penalty is open.
   * @param actor - staff/admin (capability `loan:settle`).
   * @param input - {@link SettlePenaltyInput}.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND`, `INVALID_TRANSITION` (not returned,
   *   no penalty, or already settled — `details.reason`), `IDEMPOTENCY_KEY_REUSED`, `CAPACITY_EXCEEDED`, `CONFLICT`, `UNAVAILABLE`.
   */
  async settlePenalty(actor: Actor, input: SettlePenaltyInput): Promise<LoanView> {
    return this.command(SETTLE, actor, input, async (s) => {
      const { input: i } = s;
      const { view: loan, instants } = await this.#loan(s, 'settlePenalty', i.loanId);
      if (loan.finalPenalty <= 0) {
        throw SwlError.invalidTransition('loan', Returned, Returned, {
          loanId: loan.id,
          reason: 'no_penalty',
        });
      }
      if (loan.penaltySettlement) {
        throw SwlError.invalidTransition('loan', Returned, Returned, {
          loanId: loan.id,
          reason: 'already_settled',
          settlement: loan.penaltySettlement,
        });
      }
      const now = s.instant(...instants);
      const settled = applyLoanTransition(s, {
        loan,
        command: 'settlePenalty',
        changes: { penaltySettlement: i.settlement, penaltySettledAt: now, penaltySettledById: s.actor.id },
        actorId: s.actor.id,
        at: now,
        data: { settlement: i.settlement, amount: loan.finalPenalty, note: i.note },
      });
      await s.writes.run();
      return settled;
    });
  }

  /**
   * One loan with its audit trail (oldest event first).
   * @param actor - the borrower (`loan:read:own`) or staff/admin (`loan:read:any`).
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND`, `UNAVAILABLE`.
   */
  async getLoan(actor: Actor, input: GetLoanInput): Promise<LoanDetails> {
    return this.query(GET_LOAN, actor, input, async (em, a, i) => {
      const loan = await em.findOne(Loan, i.loanId, { populate: ['copy'] });
      if (!loan) throw SwlError.notFound('loan', i.loanId);
      assertOwnOr(a, loan.borrower.id, loan.id, 'loan:read:any');
      const events = await em.find(LoanEvent, { loan: loan.id }, { orderBy: { id: 'asc' } });
      return { ...toLoanView(loan), events: events.map(toLoanEventView) };
    });
  }

  /**
   * A borrower's loans, newest request first: `active` (pendiente + aprobado), `past` (devuelto +
   * rechazado) or `all`.
   * @param actor - the borrower (`loan:read:own`) or staff/admin (`loan:read:any`).
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `UNAVAILABLE`.
   */
  async listBorrowerLoans(actor: Actor, input: ListBorrowerLoansInput = {}): Promise<Page<LoanView>> {
    return this.query(LIST_BORROWER_LOANS, actor, input, async (em, a, i) => {
      const statuses = {
        active: [Pending, Approved],
        past: [Returned, Rejected],
        all: [Pending, Approved, Returned, Rejected],
      }[i.scope];
      const [items, total] = await em.findAndCount(
        Loan,
        { borrower: i.borrowerId ?? a.id, status: { $in: statuses } },
        {
          populate: ['copy'],
          orderBy: { requestDate: 'desc', id: 'desc' },
          limit: i.limit,
          offset: i.offset,
        },
      );
      return { items: items.map(toLoanView), total, limit: i.limit, offset: i.offset };
    });
  }

  /**
   * Pending requests, oldest first: the desk's queue.
   * @param actor - staff/admin (`loan:read:any`).
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `UNAVAILABLE`.
   */
  async pendingQueue(actor: Actor, input: PendingQueueInput = {}): Promise<Page<LoanView>> {
    return this.query(PENDING_QUEUE, actor, input, async (em, _a, i) => {
      const [items, total] = await em.findAndCount(
        Loan,
        { status: Pending },
        {
          populate: ['copy'],
          // Most pending requests name no copy: a second `where id in (…)` query for the few that do
          // beats a join, which PostgreSQL may plan as a hash join over every copy.
          strategy: 'select-in',
          orderBy: { requestDate: 'asc', id: 'asc' },
          limit: i.limit,
          offset: i.offset,
        },
      );
      return { items: items.map(toLoanView), total, limit: i.limit, offset: i.offset };
    });
  }

  /**
   * Approved loans past their due date at `asOf` (default: now), most overdue first, each with the
   * fine accrued so far (as if returned at `asOf`) under the loan's terms fixed at approval — the
   * current policy only for a legacy loan without terms, no fine when there is neither.
   * @param actor - staff/admin (`loan:read:any`).
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `UNAVAILABLE`.
   */
  async overdueLoans(actor: Actor, input: OverdueLoansInput = {}): Promise<Page<OverdueLoanView>> {
    return this.query(OVERDUE_LOANS, actor, input, async (em, _a, i) => {
      const asOf = i.asOf ?? this.clock.now();
      const [loans, total] = await em.findAndCount(
        Loan,
        { status: Approved, dueDate: { $lt: asOf } },
        {
          populate: ['copy', 'catalogEntry', 'borrower'],
          orderBy: { dueDate: 'asc', id: 'asc' },
          limit: i.limit,
          offset: i.offset,
        },
      );
      // Policies are read only when a legacy loan without terms needs them.
      const policies = loans.some((l) => !loanTerms(l)) ? await em.find(LoanPolicy, {}) : [];
      const items = loans.map((loan) => {
        const entry = loan.catalogEntry.unwrap();
        const role = loan.borrower.unwrap().role;
        const policy = policies.find((p) => p.category === entry.category && p.role === role);
        const terms = loanTerms(loan) ?? (policy ? policyTerms(policy) : null);
        const due = loan.dueDate as Date;
        const accruedFine = terms
          ? calculateFine(due, asOf, terms, entry.replacementCost ?? null)
          : { ...NO_FINE };
        return { ...toLoanView(loan), overdueMinutes: overdueMinutes(due, asOf), accruedFine };
      });
      return { items, total, limit: i.limit, offset: i.offset };
    });
  }

  /**
   * Whether a borrower may borrow now, and why not (automatic blocks of `docs/DESIGN.md` §5).
   * @param actor - the borrower (`loan:read:own`) or staff/admin (`loan:read:any`).
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND`, `UNAVAILABLE`.
   */
  async borrowerStanding(actor: Actor, input: BorrowerStandingInput = {}): Promise<BorrowerStanding> {
    const now = this.clock.now();
    return this.query(BORROWER_STANDING, actor, input, async (em, a, i) => {
      const borrowerId = i.borrowerId ?? a.id;
      const db = kyselyOf(em);
      const borrower = await db
        .selectFrom('swl_user')
        .select(['id', 'active'])
        .where('id', '=', borrowerId)
        .executeTakeFirst();
      if (!borrower) throw SwlError.notFound('user', borrowerId);
      const f = await readBorrowerFigures(db, borrowerId, now, this.postgres);
      const reasons = blockReasons(f);
      return {
        borrowerId,
        active: toBool(borrower.active),
        blocked: reasons.length > 0,
        reasons,
        overdueLoans: f.overdueLoans,
        unsettledPenalties: f.unsettledPenalties,
        unsettledAmount: f.unsettledAmount,
        activeLoans: f.activeLoans,
      };
    });
  }

  /**
   * The loan a command acts on: read (locked on PostgreSQL), or `NOT_FOUND`; another borrower's
   * loan is `FORBIDDEN` unless the actor's role has `anyCapability`; then `command` must apply to
   * its status (`INVALID_TRANSITION`) — in that order.
   */
  async #loan(
    s: CommandScope,
    command: Exclude<LoanCommand, 'request'>,
    loanId: number,
    anyCapability?: 'loan:cancel:any' | 'loan:renew:any',
    extra: 'picked copy' | 'locked copy' | null = null,
  ): Promise<LoanRecord> {
    const record = await readLoan(s.db, loanId, s.postgres, extra);
    if (!record) throw SwlError.notFound('loan', loanId);
    if (anyCapability) assertOwnOr(s.actor, record.view.borrowerId, loanId, anyCapability);
    assertLoanCommand(command, record.view.status, loanId);
    return record;
  }

  /** Rejects (staff) or cancels (the borrower) a pending request: → `rechazado` with a reason. */
  async #refuse(
    s: CommandScope,
    command: 'reject' | 'cancel',
    loanId: number,
    reason: string | null | undefined,
  ): Promise<LoanView> {
    const { view: loan, instants } = await this.#loan(
      s,
      command,
      loanId,
      command === 'cancel' ? 'loan:cancel:any' : undefined,
    );
    const now = s.instant(...instants);
    const refused = applyLoanTransition(s, {
      loan,
      command,
      changes: { rejectionDate: now, rejectedById: s.actor.id, rejectionReason: reason ?? null },
      actorId: s.actor.id,
      at: now,
      data: { reason },
    });
    await s.writes.run();
    return refused;
  }

  /**
   * Locks the copy an approval will lend — the one the request names, the one the desk names, or
   * the first available copy of the entry — and checks it is available. Problems are returned, not
   * thrown, so the caller reports them after the borrower checks.
   */
  async #lockCopyForApproval(
    s: CommandScope,
    record: LoanRecord,
    copyId: number | undefined,
  ): Promise<
    { copy: CopyRecord; error?: undefined } | { copy?: undefined; error: (title: string) => SwlError }
  > {
    const { db, postgres } = s;
    const { view: loan, copy: joined } = record;
    let copy: CopyRecord | undefined;
    if (loan.copyId !== null) {
      if (copyId !== undefined && copyId !== loan.copyId) {
        return { error: () => validationError('copyId', 'the request names another copy') };
      }
      copy = postgres ? await readCopy(db, loan.copyId, true, true) : joined;
    } else if (copyId !== undefined) {
      copy = await readCopy(db, copyId, postgres, postgres);
      if (!copy) return { error: () => SwlError.notFound('copy', copyId) };
      if (copy.catalogEntryId !== loan.catalogEntryId) {
        return { error: () => validationError('copyId', 'the copy belongs to another catalog entry') };
      }
    } else {
      copy = postgres ? await pickAvailableCopy(db, loan.catalogEntryId, postgres) : record.picked;
      if (!copy) {
        return {
          error: (title) =>
            copyUnavailable(`no copy of "${title}" is available`, { catalogEntryId: loan.catalogEntryId }),
        };
      }
    }
    if (copy?.status !== CopyStatus.Available) {
      const details = { copyId: copy?.id, status: copy?.status };
      return { error: () => copyUnavailable('the copy is not available', details) };
    }
    if (loan.copyId !== null || copyId !== undefined) {
      // A named copy set aside for a hold is that hold's until it is fulfilled, cancelled or swept.
      const holdId = await holdSetAsideOn(s, copy.id);
      if (holdId !== null) {
        const details = { copyId: copy.id, reason: 'held', holdId };
        return { error: () => copyUnavailable('the copy is set aside for a hold', details) };
      }
    }
    return { copy };
  }

  /** Inserts a `pendiente` loan (the `request` row of the loan table) and its `requested` event. */
  async #createLoan(s: CommandScope, loan: NewLoan): Promise<LoanView> {
    const view = await insertPendingLoan(s, loan);
    await s.writes.run();
    return view;
  }
}

/** The loan must be the actor's own, unless the actor's role has `capability` (`FORBIDDEN`). */
function assertOwnOr(
  actor: Actor,
  borrowerId: number,
  loanId: number,
  capability: 'loan:cancel:any' | 'loan:renew:any' | 'loan:read:any',
): void {
  if (borrowerId !== actor.id && !can(actor.role, capability)) {
    throw SwlError.forbidden("another borrower's loan", { loanId });
  }
}

/** The borrower and entry of a loan's facts, which its foreign keys guarantee exist. */
function present(facts: LendingFacts) {
  const { borrower, entry } = facts;
  if (!borrower || !entry) throw new SwlError('INTERNAL', 'a loan refers to a missing borrower or entry', {});
  return { ...facts, borrower, entry };
}
