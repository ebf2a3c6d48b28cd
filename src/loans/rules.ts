/**
 * The lending rules as pure functions: the due date at approval, the charges at return, the
 * renewal refusals and the automatic blocks. No database, no clock: every input is an argument, so
 * each rule is unit-tested on its own (`test/loan-rules.test.ts`) beside the fine calculator
 * (`src/loans/fines.ts`). `LoanService` gathers the facts, asks these functions, and writes.
 *
 * Source: `docs/DESIGN.md` §3 (approve, return), §5 (policies, blocks, fines), §11 (terms fixed at
 * approval); FOLIO's circulation rules (`mod-circulation`, "Renewal limit", "Overdue fine
 * policy") and Koha's `C4::Circulation::CanBookBeRenewed` for the order of the renewal refusals.
 *
 * @module
 */
import {
  type Category,
  CopyStatus,
  type PeriodUnit,
  type ReturnOutcome,
  type Role,
} from '../domain/vocabulary.ts';
import { SwlError } from '../errors.ts';
import { addMoney, calculateFine, type FineBreakdown, type FineCap } from './fines.ts';
import type { BlockReason, LoanTerms } from './views.ts';

const UNIT_MS: Readonly<Record<PeriodUnit, number>> = { minutes: 60_000, hours: 3_600_000, days: 86_400_000 };

/**
 * A loan period in milliseconds (`days` are 24-hour UTC days).
 * @param period - `loanPeriod` (> 0) and `loanPeriodUnit`.
 */
export function loanPeriodMs(period: { loanPeriod: number; loanPeriodUnit: PeriodUnit }): number {
  return period.loanPeriod * UNIT_MS[period.loanPeriodUnit];
}

/**
 * The due date fixed at approval: `approvedAt` + one loan period, or an earlier due date the
 * borrower requested or the desk gives. A requested due date that passed while the request waited
 * is ignored; a given one in the past is refused.
 * @throws SwlError `VALIDATION_FAILED` (path `dueDate`) when `given` is not after `approvedAt`.
 */
export function dueDateAtApproval(
  approvedAt: Date,
  period: { loanPeriod: number; loanPeriodUnit: PeriodUnit },
  requested: Date | null,
  given: Date | undefined,
): Date {
  let due = approvedAt.getTime() + loanPeriodMs(period);
  if (requested && requested.getTime() > approvedAt.getTime()) due = Math.min(due, requested.getTime());
  if (given) {
    if (given.getTime() <= approvedAt.getTime()) throw validationError('dueDate', 'must be in the future');
    due = Math.min(due, given.getTime());
  }
  return new Date(due);
}

/** No fine: what a loan without terms (and without a policy) is charged for being late. */
export const NO_FINE: Readonly<FineBreakdown> = Object.freeze({
  overdueMinutes: 0,
  chargedMinutes: 0,
  intervals: 0,
  uncapped: 0,
  amount: 0,
  cappedBy: null,
});

/** What a check-in charges ({@link chargesAtReturn}); amounts in minor units. */
export interface ReturnCharges {
  /** The overdue fine (DESIGN §5), under the loan's terms. */
  fine: FineBreakdown;
  /** The replacement cost when the copy is lost; 0 otherwise, and 0 when that cost is unknown. */
  replacementCharge: number;
  /** True when the copy is lost and its replacement cost is unknown (`null`): nothing could be charged. */
  replacementCostUnknown: boolean;
  /** `fine.amount + replacementCharge`, exact, held at `MAX_MONEY`. */
  finalPenalty: number;
  /** `'ceiling'` when the sum was held at `MAX_MONEY`. */
  finalPenaltyCappedBy: Extract<FineCap, 'ceiling'> | null;
}

/**
 * The charges of a check-in at `returnedAt` of a loan due at `dueAt` under `terms` (null: no
 * fine), with the entry's `replacementCost` (minor units, `null` = unknown) and the `outcome`.
 */
export function chargesAtReturn(
  dueAt: Date,
  returnedAt: Date,
  terms: LoanTerms | null,
  replacementCost: number | null,
  outcome: ReturnOutcome,
): ReturnCharges {
  const fine = terms ? calculateFine(dueAt, returnedAt, terms, replacementCost) : { ...NO_FINE };
  const lost = outcome === 'lost';
  const replacementCharge = lost ? (replacementCost ?? 0) : 0;
  const total = addMoney(fine.amount, replacementCharge);
  return {
    fine,
    replacementCharge,
    replacementCostUnknown: lost && replacementCost === null,
    finalPenalty: total.amount,
    finalPenaltyCappedBy: total.cappedBy,
  };
}

/**
 * Why a loan may not be renewed at `now`, or null: overdue (`LOAN_OVERDUE`), then out of renewals
 * under its terms (`RENEWAL_LIMIT_REACHED`). The refusals that need other loans (blocks, holds)
 * are checked by the caller after these, in that order.
 */
export function renewalRefusal(
  loan: { id: number; dueDate: Date; renewalCount: number },
  terms: Pick<LoanTerms, 'maxRenewals'>,
  now: Date,
): SwlError | null {
  if (loan.dueDate.getTime() <= now.getTime()) {
    return new SwlError('LOAN_OVERDUE', 'an overdue loan cannot be renewed; return it', {
      loanId: loan.id,
      dueDate: loan.dueDate.toISOString(),
    });
  }
  if (loan.renewalCount >= terms.maxRenewals) {
    return new SwlError('RENEWAL_LIMIT_REACHED', `no renewals left (${terms.maxRenewals} allowed)`, {
      loanId: loan.id,
      renewals: loan.renewalCount,
      limit: terms.maxRenewals,
    });
  }
  return null;
}

/** The due date after one renewal: one loan period of the terms after the current due date. */
export function renewedDueDate(dueDate: Date, terms: Pick<LoanTerms, 'loanPeriod' | 'loanPeriodUnit'>): Date {
  return new Date(dueDate.getTime() + loanPeriodMs(terms));
}

/** A borrower's figures that decide the automatic blocks (DESIGN §5); amounts in minor units. */
export interface StandingFigures {
  /** Approved loans past their due date. */
  overdueLoans: number;
  /** Returned loans with a penalty neither paid nor waived. */
  unsettledPenalties: number;
  /** Their sum, held at `MAX_MONEY`. */
  unsettledAmount: number;
  /** Pending + approved loans. */
  activeLoans: number;
}

/** The automatic blocks the figures impose, in a fixed order (empty: not blocked). */
export function blockReasons(
  figures: Pick<StandingFigures, 'overdueLoans' | 'unsettledPenalties'>,
): BlockReason[] {
  const reasons: BlockReason[] = [];
  if (figures.overdueLoans > 0) reasons.push('overdue_loan');
  if (figures.unsettledPenalties > 0) reasons.push('unsettled_penalty');
  return reasons;
}

/** `BORROWER_BLOCKED` when the figures block the borrower, else null. */
export function blockRefusal(borrowerId: number, figures: StandingFigures): SwlError | null {
  const reasons = blockReasons(figures);
  if (reasons.length === 0) return null;
  return new SwlError('BORROWER_BLOCKED', `the borrower is blocked: ${reasons.join(', ')}`, {
    borrowerId,
    reasons,
    overdueLoans: figures.overdueLoans,
    unsettledAmount: figures.unsettledAmount,
  });
}

/** `LOAN_LIMIT_REACHED` when `active` loans of the category already reach the policy's limit, else null. */
export function loanLimitRefusal(
  borrowerId: number,
  category: Category,
  active: number,
  limit: number,
): SwlError | null {
  if (active < limit) return null;
  return new SwlError('LOAN_LIMIT_REACHED', `the borrower already has ${active} active ${category} loans`, {
    borrowerId,
    category,
    active,
    limit,
  });
}

/** `BORROWER_INACTIVE`: the borrower is deactivated. */
export function inactiveBorrower(borrowerId: number): SwlError {
  return new SwlError('BORROWER_INACTIVE', 'the borrower is deactivated', { borrowerId });
}

/** `POLICY_FORBIDS`: no policy lets `role` borrow `category`. */
export function policyForbids(category: Category, role: Role): SwlError {
  return new SwlError('POLICY_FORBIDS', `role ${role} may not borrow ${category} items`, { category, role });
}

/**
 * The statuses of a copy a borrower may name in a request: on the shelf, or out on loan (the
 * request waits for its return). A copy in maintenance, lost or withdrawn cannot be requested.
 */
export const REQUESTABLE_COPY_STATUSES: readonly CopyStatus[] = [CopyStatus.Available, CopyStatus.OnLoan];

/** `COPY_UNAVAILABLE` when a request names a copy whose status is not requestable, else null. */
export function requestedCopyRefusal(copy: {
  id: number;
  code: string;
  status: CopyStatus;
}): SwlError | null {
  if (REQUESTABLE_COPY_STATUSES.includes(copy.status)) return null;
  return copyUnavailable(`copy ${copy.code} is ${copy.status}`, { copyId: copy.id, status: copy.status });
}

/** The copy's status after a check-in with each outcome (`docs/DESIGN.md` §3 "return"). */
export const COPY_STATUS_AFTER_RETURN: Readonly<Record<ReturnOutcome, CopyStatus>> = {
  ok: CopyStatus.Available,
  damaged: CopyStatus.Maintenance,
  lost: CopyStatus.Lost,
};

/** `COPY_UNAVAILABLE` with `details`. */
export function copyUnavailable(message: string, details: Record<string, unknown>): SwlError {
  return new SwlError('COPY_UNAVAILABLE', message, details);
}

/** `VALIDATION_FAILED` for one input field, shaped like a schema issue. */
export function validationError(path: string, message: string): SwlError {
  return new SwlError('VALIDATION_FAILED', `${path} ${message}`, {
    issues: [{ path: [path], code: 'custom', message }],
  });
}
