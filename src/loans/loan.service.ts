/**
 * The loan state machine as commands, with lending policies, automatic blocks and fines.
 * Source: docs/DESIGN.md §3 (state machine), §5 (policies, blocks, fines), §6 (errors, validation,
 * permissions), §7 (transactions and concurrency).
 *
 * @module
 */
import { type EntityManager, LockMode, ref } from '@mikro-orm/core';
import { toCopyChangeEvent } from '../catalog/views.ts';
import { type CopyEventType, CopyStatus, LoanStatus, type ReturnOutcome } from '../domain/vocabulary.ts';
import { CatalogEntry } from '../entities/catalog-entry.entity.ts';
import { CopyEvent } from '../entities/copy-event.entity.ts';
import { ItemInstance } from '../entities/item-instance.entity.ts';
import { Loan } from '../entities/loan.entity.ts';
import { LoanEvent } from '../entities/loan-event.entity.ts';
import { LoanPolicy } from '../entities/loan-policy.entity.ts';
import { User } from '../entities/user.entity.ts';
import { SwlError } from '../errors.ts';
import {
  type CommandScope,
  loadActor,
  lockFor,
  ServiceBase,
  type ServiceOptions,
} from '../internal/service-base.ts';
import { type Actor, assertCan, can } from '../permissions.ts';
import type { Page } from '../validation.ts';
import { addMoney, calculateFine, type FineBreakdown, overdueMinutes } from './fines.ts';
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
import { borrowerFigures, findPolicy, loanPeriodMs } from './standing.ts';
import { fixLoanTerms, loanTerms, policyTerms } from './terms.ts';
import { assertLoanCommand } from './transitions.ts';
import {
  type BorrowerStanding,
  type LoanDetails,
  type LoanTerms,
  type LoanView,
  type OverdueLoanView,
  type ReturnedLoanView,
  toLoanEventView,
  toLoanTransitionEvent,
  toLoanView,
} from './views.ts';

/** Copy status after a return with each outcome (docs/DESIGN.md §3 "return"). */
const STATUS_AFTER_RETURN: Readonly<Record<ReturnOutcome, CopyStatus>> = {
  ok: CopyStatus.Available,
  damaged: CopyStatus.Maintenance,
  lost: CopyStatus.Lost,
};

const NO_FINE: FineBreakdown = {
  overdueMinutes: 0,
  chargedMinutes: 0,
  intervals: 0,
  uncapped: 0,
  amount: 0,
  cappedBy: null,
};

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
 * Concurrency (docs/DESIGN.md §7): on PostgreSQL the loan and copy rows are locked (`FOR UPDATE`; a copy
 * picked for a title-level request with `SKIP LOCKED`), and `version` columns catch what the locks
 * do not; on SQLite, write transactions start with `BEGIN IMMEDIATE` (see `SwlSqliteDialect`). The
 * partial unique index on approved loans is the last line: two approvals of one copy can never
 * both commit.
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
   * `perdido`/`mantenimiento`/`retirado` and the entry is not withdrawn; a policy lets the borrower's role borrow the category; the
   * environment is given when the policy requires it; the borrower is not blocked (overdue loan,
   * unsettled penalty); fewer than the policy's `maxActiveLoans` pending + approved loans in the
   * category; `requestedDueDate` is in the future.
   *
   * @param actor - acting user (`{ id, role }`); capability `loan:request:own` (`loan:request:any` for others).
   * @param input - {@link RequestLoanInput}.
   * @returns the new loan.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND`, `BORROWER_INACTIVE`,
   *   `COPY_UNAVAILABLE`, `POLICY_FORBIDS`, `ENVIRONMENT_REQUIRED`, `BORROWER_BLOCKED`,
   *   `LOAN_LIMIT_REACHED`, `IDEMPOTENCY_KEY_REUSED`, `CAPACITY_EXCEEDED`, `CONFLICT`, `UNAVAILABLE`.
   */
  async request(actor: Actor, input: RequestLoanInput): Promise<LoanView> {
    const { actor: a, input: i } = this.authorize(actor, 'loan:request:own', RequestLoanInput, input);
    const borrowerId = i.borrowerId ?? a.id;
    if (borrowerId !== a.id) assertCan(a, 'loan:request:any');
    return this.command(
      async (scope) => {
        const { em } = scope;
        // Serialize a borrower's requests (limit check) on PostgreSQL by locking the borrower row.
        let borrower: User;
        if (borrowerId === a.id) {
          // Borrowing for themself: one (locked) read of the row serves both checks; loadActor then
          // finds it in the identity map and still refuses an unknown/inactive/re-roled actor first.
          const own = await em.findOne(User, a.id, lockFor(scope.postgres));
          borrower = await scope.loadActor(a);
          if (own !== borrower) throw SwlError.notFound('user', borrowerId);
        } else {
          await scope.loadActor(a);
          borrower = await this.#lockedUser(scope, borrowerId);
        }
        if (!borrower.active) throw inactive(borrower.id);
        const now = scope.instant();

        let entry: CatalogEntry;
        let copy: ItemInstance | null = null;
        if (i.copyId !== undefined) {
          copy = await em.findOne(ItemInstance, i.copyId);
          if (!copy) throw SwlError.notFound('copy', i.copyId);
          if (copy.status === 'perdido' || copy.status === 'mantenimiento' || copy.status === 'retirado') {
            throw unavailable(`copy ${copy.code} is ${copy.status}`, {
              copyId: copy.id,
              status: copy.status,
            });
          }
          entry = await em.findOneOrFail(CatalogEntry, copy.catalogEntry.id);
        } else {
          const found = await em.findOne(CatalogEntry, i.catalogEntryId as number);
          if (!found) throw SwlError.notFound('catalogEntry', i.catalogEntryId);
          entry = found;
        }
        if (entry.withdrawnAt) {
          throw unavailable(`"${entry.titleOrName}" was withdrawn from circulation`, {
            catalogEntryId: entry.id,
            withdrawnAt: entry.withdrawnAt.toISOString(),
          });
        }

        const policy = await findPolicy(em, entry.category, borrower.role);
        if (!policy) throw policyForbids(entry.category, borrower.role);
        if (policy.environmentRequired && !i.environment) {
          throw new SwlError(
            'ENVIRONMENT_REQUIRED',
            `${entry.category} items need the environment where they will be used`,
            {
              category: entry.category,
            },
          );
        }
        const figures = await borrowerFigures(em, borrower.id, now);
        if (figures.reasons.length > 0) throw blocked(borrower.id, figures);
        const active = await em.count(Loan, {
          borrower: borrower.id,
          status: { $in: ['pendiente', 'aprobado'] },
          catalogEntry: { category: entry.category },
        });
        if (active >= policy.maxActiveLoans) {
          throw new SwlError(
            'LOAN_LIMIT_REACHED',
            `the borrower already has ${active} active ${entry.category} loans`,
            {
              borrowerId: borrower.id,
              category: entry.category,
              active,
              limit: policy.maxActiveLoans,
            },
          );
        }
        if (i.requestedDueDate && i.requestedDueDate.getTime() <= now.getTime()) {
          throw validation('requestedDueDate', 'must be in the future');
        }

        const loan = em.create(Loan, {
          borrower,
          catalogEntry: entry,
          copy,
          environment: i.environment,
          status: 'pendiente',
          requestDate: now,
          requestedDueDate: i.requestedDueDate ?? null,
          observation: i.observation,
          requestedBy: a.id,
        });
        this.#loanEvent(scope, loan, 'requested', null, a.id, {
          copyId: copy?.id ?? null,
          catalogEntryId: entry.id,
          requestedDueDate: i.requestedDueDate?.toISOString() ?? null,
        });
        await em.flush();
        return toLoanView(loan);
      },
      this.idempotent('loan.request', a, i),
    );
  }

  /**
   * Approves a pending request: picks the named copy, or the copy given in `copyId`, or the
   * first available copy of the entry; sets `approvalDate`, `dueDate` (approval + policy period,
   * or the requested/given due date when earlier) and the copy → `prestado`.
   *
   * Fixes the loan's terms (docs/DESIGN.md §11): the policy's loan period, renewals allowed and fine
   * fields are copied onto the loan (`LoanView.terms`, and the `approved` event's data) and govern
   * its renewals and its fine at return, whatever later happens to the policy.
   *
   * Two concurrent approvals for one copy: exactly one wins; the other gets
   * `COPY_UNAVAILABLE` (or `CONFLICT`). The same loan approved twice at once: one succeeds, the
   * other gets `INVALID_TRANSITION` (or `CONFLICT`).
   *
   * @param actor - staff/admin (capability `loan:approve`).
   * @param input - {@link ApproveLoanInput}.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND`, `INVALID_TRANSITION`,
   *   `BORROWER_INACTIVE`, `BORROWER_BLOCKED`, `POLICY_FORBIDS`, `COPY_UNAVAILABLE`,
   *   `IDEMPOTENCY_KEY_REUSED`, `CAPACITY_EXCEEDED`, `CONFLICT`, `UNAVAILABLE`.
   */
  async approve(actor: Actor, input: ApproveLoanInput): Promise<LoanView> {
    const { actor: a, input: i } = this.authorize(actor, 'loan:approve', ApproveLoanInput, input);
    return this.command(
      async (scope) => {
        const { em } = scope;
        await scope.loadActor(a);
        const loan = await this.#lockedLoan(scope, i.loanId);
        assertLoanCommand('approve', loan.status, loan.id);
        const entry = await em.findOneOrFail(CatalogEntry, loan.catalogEntry.id);
        // The copy is locked before the instant is taken; what is wrong with it is reported after
        // the borrower checks, in the order the guards are documented.
        const pick = await this.#lockCopyForApproval(scope, loan, entry, i.copyId);
        const now = scope.instant(...loanInstants(loan));
        const borrower = await em.findOneOrFail(User, loan.borrower.id);
        if (!borrower.active) throw inactive(borrower.id);
        const figures = await borrowerFigures(em, borrower.id, now);
        if (figures.reasons.length > 0) throw blocked(borrower.id, figures);
        const policy = await findPolicy(em, entry.category, borrower.role);
        if (!policy) throw policyForbids(entry.category, borrower.role);
        if (!pick.copy) throw pick.error;
        const copy = pick.copy;

        let dueDate = new Date(now.getTime() + loanPeriodMs(policy));
        for (const [field, candidate] of [
          ['requestedDueDate', loan.requestedDueDate],
          ['dueDate', i.dueDate],
        ] as const) {
          if (!candidate) continue;
          if (candidate.getTime() <= now.getTime()) {
            if (field === 'dueDate') throw validation('dueDate', 'must be in the future');
            continue; // a requested due date that has passed while pending is ignored
          }
          if (candidate.getTime() < dueDate.getTime()) dueDate = candidate;
        }

        const terms = policyTerms(policy);
        loan.status = 'aprobado';
        loan.approvalDate = now;
        loan.dueDate = dueDate;
        loan.approvedBy = em.getReference(User, a.id, { wrapped: true });
        loan.copy = ref(copy);
        fixLoanTerms(loan, terms);
        this.#copyChange(scope, copy, 'loaned', 'prestado', loan, a.id, null);
        this.#loanEvent(scope, loan, 'approved', 'pendiente', a.id, {
          copyId: copy.id,
          dueDate: dueDate.toISOString(),
          terms: { ...terms },
        });
        await em.flush();
        return toLoanView(loan);
      },
      this.idempotent('loan.approve', a, i),
    );
  }

  /**
   * Rejects a pending request with a reason (→ `rechazado`).
   * @param actor - staff/admin (capability `loan:reject`).
   * @param input - {@link RejectLoanInput}.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND`, `INVALID_TRANSITION`,
   *   `IDEMPOTENCY_KEY_REUSED`, `CAPACITY_EXCEEDED`, `CONFLICT`, `UNAVAILABLE`.
   */
  async reject(actor: Actor, input: RejectLoanInput): Promise<LoanView> {
    const { actor: a, input: i } = this.authorize(actor, 'loan:reject', RejectLoanInput, input);
    return this.command(
      async (scope) => {
        await scope.loadActor(a);
        const loan = await this.#lockedLoan(scope, i.loanId);
        assertLoanCommand('reject', loan.status, loan.id);
        loan.status = 'rechazado';
        loan.rejectionDate = scope.instant(...loanInstants(loan));
        loan.rejectedBy = scope.em.getReference(User, a.id, { wrapped: true });
        loan.rejectionReason = i.reason;
        this.#loanEvent(scope, loan, 'rejected', 'pendiente', a.id, { reason: i.reason });
        await scope.em.flush();
        return toLoanView(loan);
      },
      this.idempotent('loan.reject', a, i),
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
    const { actor: a, input: i } = this.authorize(actor, 'loan:cancel:own', CancelLoanInput, input);
    return this.command(
      async (scope) => {
        await scope.loadActor(a);
        const loan = await this.#lockedLoan(scope, i.loanId);
        this.#assertOwnOr(a, loan, 'loan:cancel:any');
        assertLoanCommand('cancel', loan.status, loan.id);
        loan.status = 'rechazado';
        loan.rejectionDate = scope.instant(...loanInstants(loan));
        loan.rejectedBy = scope.em.getReference(User, a.id, { wrapped: true });
        loan.rejectionReason = i.reason;
        this.#loanEvent(scope, loan, 'cancelled', 'pendiente', a.id, { reason: i.reason });
        await scope.em.flush();
        return toLoanView(loan);
      },
      this.idempotent('loan.cancel', a, i),
    );
  }

  /**
   * Renews an approved loan: the due date moves by one loan period of the loan's terms (fixed at
   * approval, docs/DESIGN.md §11) from the current due date; the status stays `aprobado`. Later edits of
   * the policy, or its deletion, do not change the period or the renewals allowed.
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
    const { actor: a, input: i } = this.authorize(actor, 'loan:renew:own', RenewLoanInput, input);
    return this.command(
      async (scope) => {
        const { em } = scope;
        await scope.loadActor(a);
        const loan = await this.#lockedLoan(scope, i.loanId);
        this.#assertOwnOr(a, loan, 'loan:renew:any');
        assertLoanCommand('renew', loan.status, loan.id);
        const now = scope.instant(...loanInstants(loan));
        const borrower = await em.findOneOrFail(User, loan.borrower.id);
        if (!borrower.active) throw inactive(borrower.id);
        const entry = await em.findOneOrFail(CatalogEntry, loan.catalogEntry.id);
        const terms = await this.#termsOf(em, loan, entry, borrower);
        if (!terms) throw policyForbids(entry.category, borrower.role);
        const due = loan.dueDate as Date;
        if (due.getTime() <= now.getTime()) {
          throw new SwlError('LOAN_OVERDUE', 'an overdue loan cannot be renewed; return it', {
            loanId: loan.id,
            dueDate: due.toISOString(),
          });
        }
        if (loan.renewalCount >= terms.maxRenewals) {
          throw new SwlError('RENEWAL_LIMIT_REACHED', `no renewals left (${terms.maxRenewals} allowed)`, {
            loanId: loan.id,
            renewals: loan.renewalCount,
            limit: terms.maxRenewals,
          });
        }
        const figures = await borrowerFigures(em, borrower.id, now);
        if (figures.reasons.length > 0) throw blocked(borrower.id, figures);
        const waiting = await em.count(Loan, {
          catalogEntry: entry.id,
          status: 'pendiente',
          borrower: { $ne: borrower.id },
          $or: [{ copy: null }, { copy: loan.copy?.id ?? null }],
        });
        if (waiting > 0) {
          throw new SwlError('HOLD_PENDING', 'another borrower is waiting for this item', {
            loanId: loan.id,
            waiting,
          });
        }
        const previous = due;
        loan.dueDate = new Date(due.getTime() + loanPeriodMs(terms));
        loan.renewalCount += 1;
        this.#loanEvent(scope, loan, 'renewed', 'aprobado', a.id, {
          previousDueDate: previous.toISOString(),
          dueDate: loan.dueDate.toISOString(),
          renewalCount: loan.renewalCount,
        });
        await em.flush();
        return toLoanView(loan);
      },
      this.idempotent('loan.renew', a, i),
    );
  }

  /**
   * Checks a loan in (→ `devuelto`): sets `returnDate`, the copy's status from the outcome (`ok` →
   * `disponible`, `damaged` → `mantenimiento`, `lost` → `perdido`) and condition, and the penalty:
   *
   * - `overdueFine`: the fine rule of docs/DESIGN.md §5 under the loan's **terms fixed at approval**
   *   (docs/DESIGN.md §11) — lowering, raising or deleting the policy afterwards does not change it. A
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
   * @param actor - staff/admin (capability `loan:return`).
   * @param input - {@link ReturnLoanInput}.
   * @returns the returned loan (`overdueFine`, `replacementCharge`, `finalPenalty` in minor units)
   *   and `replacementCostUnknown` ({@link ReturnedLoanView}).
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND`, `INVALID_TRANSITION`,
   *   `IDEMPOTENCY_KEY_REUSED`, `CAPACITY_EXCEEDED`, `CONFLICT`, `UNAVAILABLE`.
   */
  async return(actor: Actor, input: ReturnLoanInput): Promise<ReturnedLoanView> {
    const { actor: a, input: i } = this.authorize(actor, 'loan:return', ReturnLoanInput, input);
    return this.command(
      async (scope) => {
        const { em, postgres } = scope;
        await scope.loadActor(a);
        const loan = await this.#lockedLoan(scope, i.loanId);
        assertLoanCommand('return', loan.status, loan.id);
        const copy = await em.findOneOrFail(
          ItemInstance,
          (loan.copy as { id: number }).id,
          lockFor(postgres),
        );
        const now = scope.instant(...loanInstants(loan));
        const entry = await em.findOneOrFail(CatalogEntry, loan.catalogEntry.id);
        const fixed = loanTerms(loan);
        const terms = fixed ?? (await this.#termsOf(em, loan, entry));
        const cost = entry.replacementCost ?? null;
        const fine = terms ? calculateFine(loan.dueDate as Date, now, terms, cost) : NO_FINE;
        const lost = i.outcome === 'lost';
        const replacementCharge = lost ? (cost ?? 0) : 0;
        const replacementCostUnknown = lost && cost === null;
        const total = addMoney(fine.amount, replacementCharge);

        loan.status = 'devuelto';
        loan.returnDate = now;
        loan.receivedBy = em.getReference(User, a.id, { wrapped: true });
        loan.returnOutcome = i.outcome;
        loan.overdueFine = fine.amount;
        loan.replacementCharge = replacementCharge;
        loan.finalPenalty = total.amount;
        if (i.observation) loan.observation = i.observation;
        if (i.condition) copy.condition = i.condition;
        this.#copyChange(scope, copy, 'returned', STATUS_AFTER_RETURN[i.outcome], loan, a.id, i.condition);
        this.#loanEvent(scope, loan, 'returned', 'aprobado', a.id, {
          outcome: i.outcome,
          fine: { ...fine },
          // Where the fine terms came from: the loan (fixed at approval), the current policy (a
          // legacy loan without terms) or nowhere (no fine).
          termsSource: fixed ? 'loan' : terms ? 'policy' : 'none',
          replacementCharge,
          replacementCostUnknown,
          finalPenalty: loan.finalPenalty,
          finalPenaltyCappedBy: total.cappedBy,
        });
        await em.flush();
        return { ...toLoanView(loan), replacementCostUnknown };
      },
      this.idempotent('loan.return', a, i),
    );
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
    const { actor: a, input: i } = this.authorize(actor, 'loan:settle', SettlePenaltyInput, input);
    return this.command(
      async (scope) => {
        await scope.loadActor(a);
        const loan = await this.#lockedLoan(scope, i.loanId);
        assertLoanCommand('settlePenalty', loan.status, loan.id);
        if (loan.finalPenalty <= 0) {
          throw SwlError.invalidTransition('loan', 'devuelto', 'devuelto', {
            loanId: loan.id,
            reason: 'no_penalty',
          });
        }
        if (loan.penaltySettlement) {
          throw SwlError.invalidTransition('loan', 'devuelto', 'devuelto', {
            loanId: loan.id,
            reason: 'already_settled',
            settlement: loan.penaltySettlement,
          });
        }
        loan.penaltySettlement = i.settlement;
        loan.penaltySettledAt = scope.instant(...loanInstants(loan));
        loan.penaltySettledBy = scope.em.getReference(User, a.id, { wrapped: true });
        this.#loanEvent(scope, loan, 'penalty_settled', 'devuelto', a.id, {
          settlement: i.settlement,
          amount: loan.finalPenalty,
          note: i.note,
        });
        await scope.em.flush();
        return toLoanView(loan);
      },
      this.idempotent('loan.settlePenalty', a, i),
    );
  }

  /**
   * One loan with its audit trail (oldest event first).
   * @param actor - the borrower (`loan:read:own`) or staff/admin (`loan:read:any`).
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND`, `UNAVAILABLE`.
   */
  async getLoan(actor: Actor, input: GetLoanInput): Promise<LoanDetails> {
    const { actor: a, input: i } = this.authorize(actor, 'loan:read:own', GetLoanInput, input);
    return this.read(async (em) => {
      await loadActor(em, a);
      const loan = await em.findOne(Loan, i.loanId, { populate: ['copy'] });
      if (!loan) throw SwlError.notFound('loan', i.loanId);
      this.#assertOwnOr(a, loan, 'loan:read:any');
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
    const { actor: a, input: i } = this.authorize(actor, 'loan:read:own', ListBorrowerLoansInput, input);
    const borrowerId = i.borrowerId ?? a.id;
    if (borrowerId !== a.id) assertCan(a, 'loan:read:any');
    const statuses = {
      active: [LoanStatus.Pending, LoanStatus.Approved],
      past: [LoanStatus.Returned, LoanStatus.Rejected],
      all: [LoanStatus.Pending, LoanStatus.Approved, LoanStatus.Returned, LoanStatus.Rejected],
    }[i.scope] as Loan['status'][];
    return this.read(async (em) => {
      await loadActor(em, a);
      const [items, total] = await em.findAndCount(
        Loan,
        { borrower: borrowerId, status: { $in: statuses } },
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
    const { actor: a, input: i } = this.authorize(actor, 'loan:read:any', PendingQueueInput, input);
    return this.read(async (em) => {
      await loadActor(em, a);
      const [items, total] = await em.findAndCount(
        Loan,
        { status: LoanStatus.Pending },
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
    const { actor: a, input: i } = this.authorize(actor, 'loan:read:any', OverdueLoansInput, input);
    const asOf = i.asOf ?? this.clock.now();
    return this.read(async (em) => {
      await loadActor(em, a);
      const [loans, total] = await em.findAndCount(
        Loan,
        { status: LoanStatus.Approved, dueDate: { $lt: asOf } },
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
        const accruedFine = terms ? calculateFine(due, asOf, terms, entry.replacementCost ?? null) : NO_FINE;
        return { ...toLoanView(loan), overdueMinutes: overdueMinutes(due, asOf), accruedFine };
      });
      return { items, total, limit: i.limit, offset: i.offset };
    });
  }

  /**
   * Whether a borrower may borrow now, and why not (automatic blocks of docs/DESIGN.md §5).
   * @param actor - the borrower (`loan:read:own`) or staff/admin (`loan:read:any`).
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND`, `UNAVAILABLE`.
   */
  async borrowerStanding(actor: Actor, input: BorrowerStandingInput = {}): Promise<BorrowerStanding> {
    const { actor: a, input: i } = this.authorize(actor, 'loan:read:own', BorrowerStandingInput, input);
    const borrowerId = i.borrowerId ?? a.id;
    if (borrowerId !== a.id) assertCan(a, 'loan:read:any');
    const now = this.clock.now();
    return this.read(async (em) => {
      await loadActor(em, a);
      const borrower = await em.findOne(User, borrowerId);
      if (!borrower) throw SwlError.notFound('user', borrowerId);
      const f = await borrowerFigures(em, borrowerId, now);
      return {
        borrowerId,
        active: borrower.active,
        blocked: f.reasons.length > 0,
        reasons: f.reasons,
        overdueLoans: f.overdueLoans,
        unsettledPenalties: f.unsettledPenalties,
        unsettledAmount: f.unsettledAmount,
        activeLoans: f.activeLoans,
      };
    });
  }

  /**
   * The terms that govern `loan`: those fixed at approval, else (a legacy loan) the current policy
   * for its entry's category and the borrower's role, else null.
   */
  async #termsOf(
    em: EntityManager,
    loan: Loan,
    entry: CatalogEntry,
    borrower?: User,
  ): Promise<LoanTerms | null> {
    const fixed = loanTerms(loan);
    if (fixed) return fixed;
    const role = (borrower ?? (await em.findOneOrFail(User, loan.borrower.id))).role;
    const policy = await findPolicy(em, entry.category, role);
    return policy ? policyTerms(policy) : null;
  }

  /** Loads a loan, locking its row on PostgreSQL. */
  async #lockedLoan(scope: CommandScope, loanId: number): Promise<Loan> {
    const loan = await scope.em.findOne(Loan, loanId, lockFor(scope.postgres));
    if (!loan) throw SwlError.notFound('loan', loanId);
    return loan;
  }

  /**
   * Locks the copy an approval will lend — the one the request names, the one the desk names, or
   * the first available copy of the entry — and checks it is available. Problems are returned, not
   * thrown, so the caller reports them after the borrower checks.
   */
  async #lockCopyForApproval(
    scope: CommandScope,
    loan: Loan,
    entry: CatalogEntry,
    copyId: number | undefined,
  ): Promise<{ copy: ItemInstance; error?: undefined } | { copy?: undefined; error: SwlError }> {
    const { em, postgres } = scope;
    let copy: ItemInstance | null;
    if (loan.copy) {
      if (copyId !== undefined && copyId !== loan.copy.id) {
        return { error: validation('copyId', 'the request names another copy') };
      }
      copy = await em.findOne(ItemInstance, loan.copy.id, lockFor(postgres));
    } else if (copyId !== undefined) {
      copy = await em.findOne(ItemInstance, copyId, lockFor(postgres));
      if (!copy) return { error: SwlError.notFound('copy', copyId) };
      if (copy.catalogEntry.id !== entry.id) {
        return { error: validation('copyId', 'the copy belongs to another catalog entry') };
      }
    } else {
      copy = await this.#lockAnyAvailableCopy(scope, entry);
      if (!copy) {
        return {
          error: unavailable(`no copy of "${entry.titleOrName}" is available`, { catalogEntryId: entry.id }),
        };
      }
    }
    if (copy?.status !== CopyStatus.Available) {
      return {
        error: unavailable('the copy is not available', {
          copyId: copy?.id,
          status: copy?.status,
        }),
      };
    }
    return { copy };
  }

  /**
   * The first available copy of `entry` (by copy number), locked. On PostgreSQL a copy another
   * transaction holds is skipped (`SKIP LOCKED`) while an unlocked one exists; when every available
   * copy is held, the approval waits for the first one and takes it if it is still available once
   * released (a transaction that rolled back leaves it available), so an available copy is never
   * reported unavailable. Null only when no copy is available.
   */
  async #lockAnyAvailableCopy(scope: CommandScope, entry: CatalogEntry): Promise<ItemInstance | null> {
    const where = { catalogEntry: entry.id, status: CopyStatus.Available };
    const orderBy = { sequence: 'asc' as const };
    if (!scope.postgres) return scope.em.findOne(ItemInstance, where, { orderBy });
    const free = await scope.em.findOne(ItemInstance, where, {
      orderBy,
      lockMode: LockMode.PESSIMISTIC_PARTIAL_WRITE,
    });
    if (free) return free;
    // Every available copy is locked by another transaction (or none is available): wait. After the
    // wait PostgreSQL re-checks the row and moves on to the next candidate when it no longer matches.
    return scope.em.findOne(ItemInstance, where, {
      orderBy,
      lockMode: LockMode.PESSIMISTIC_WRITE,
      refresh: true,
    });
  }

  /** Loads a user, locking its row on PostgreSQL. */
  async #lockedUser(scope: CommandScope, userId: number): Promise<User> {
    const user = await scope.em.findOne(User, userId, { ...lockFor(scope.postgres), refresh: true });
    if (!user) throw SwlError.notFound('user', userId);
    return user;
  }

  /** The loan must be the actor's own, unless the actor's role has `capability`. */
  #assertOwnOr(actor: Actor, loan: Loan, capability: 'loan:cancel:any' | 'loan:renew:any' | 'loan:read:any') {
    if (loan.borrower.id !== actor.id && !can(actor.role, capability)) {
      throw SwlError.forbidden("another borrower's loan", { loanId: loan.id });
    }
  }

  #loanEvent(
    scope: CommandScope,
    loan: Loan,
    type: LoanEvent['type'],
    from: Loan['status'] | null,
    actorId: number,
    data: Record<string, unknown>,
  ): void {
    const event = scope.em.create(LoanEvent, {
      loan,
      type,
      fromStatus: from,
      toStatus: loan.status,
      actor: actorId,
      at: scope.now,
      data,
    });
    scope.emit(() => toLoanTransitionEvent(event));
  }

  #copyChange(
    scope: CommandScope,
    copy: ItemInstance,
    type: CopyEventType,
    to: CopyStatus,
    loan: Loan,
    actorId: number,
    note: string | null | undefined,
  ): void {
    const from = copy.status;
    copy.status = to;
    const event = scope.em.create(CopyEvent, {
      copy,
      type,
      fromStatus: from,
      toStatus: to,
      loan,
      actor: actorId,
      at: scope.now,
      note: note ?? null,
    });
    scope.emit(() => toCopyChangeEvent(event));
  }
}

/** Every instant recorded on `loan`: a transition is never recorded before the latest of them. */
function loanInstants(loan: Loan): Array<Date | null | undefined> {
  return [
    loan.updatedAt,
    loan.requestDate,
    loan.approvalDate,
    loan.rejectionDate,
    loan.returnDate,
    loan.penaltySettledAt,
  ];
}

function inactive(borrowerId: number): SwlError {
  return new SwlError('BORROWER_INACTIVE', 'the borrower is deactivated', { borrowerId });
}

function blocked(
  borrowerId: number,
  figures: { reasons: string[]; overdueLoans: number; unsettledAmount: number },
) {
  return new SwlError('BORROWER_BLOCKED', `the borrower is blocked: ${figures.reasons.join(', ')}`, {
    borrowerId,
    reasons: figures.reasons,
    overdueLoans: figures.overdueLoans,
    unsettledAmount: figures.unsettledAmount,
  });
}

function policyForbids(category: string, role: string): SwlError {
  return new SwlError('POLICY_FORBIDS', `role ${role} may not borrow ${category} items`, { category, role });
}

function unavailable(message: string, details: Record<string, unknown>): SwlError {
  return new SwlError('COPY_UNAVAILABLE', message, details);
}

function validation(path: string, message: string): SwlError {
  return new SwlError('VALIDATION_FAILED', `${path} ${message}`, {
    issues: [{ path: [path], code: 'custom', message }],
  });
}
