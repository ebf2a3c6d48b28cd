/**
 * Plain objects the {@link LoanService} returns (never entities): safe to serialize as they are.
 * Money in integer minor units; instants as UTC `Date`s.
 *
 * @module
 */

import type {
  FineInterval,
  GraceMode,
  IntervalRounding,
  LoanStatus,
  PenaltySettlement,
  PeriodUnit,
  ReturnOutcome,
} from '../domain/vocabulary.ts';
import type { Loan } from '../entities/loan.entity.ts';
import type { LoanEvent } from '../entities/loan-event.entity.ts';
import type { LoanTransitionEvent } from '../events.ts';
import { transitionEventView } from '../kernel/records.ts';
import type { FineBreakdown } from './fines.ts';
import { loanTerms } from './terms.ts';

/**
 * The terms a loan was approved under (docs/DESIGN.md §11): copied from the lending policy at approval and
 * used for the loan's renewals and its fine at return, so later policy edits — or deleting the
 * policy — never change a loan already out. Money in integer minor units.
 */
export interface LoanTerms {
  /** Loan period (and renewal extension) length, in `loanPeriodUnit`. */
  loanPeriod: number;
  loanPeriodUnit: PeriodUnit;
  /** Renewals allowed. */
  maxRenewals: number;
  /** Fine per interval, minor units. */
  fineAmount: number;
  fineInterval: FineInterval;
  /** Minutes. */
  gracePeriodMinutes: number;
  graceMode: GraceMode;
  intervalRounding: IntervalRounding;
  /** Fine cap, minor units; 0 = no cap. */
  maxFine: number;
  /** Also cap the fine at the entry's known replacement cost. */
  capAtReplacementCost: boolean;
}

/** A loan as the desk sees it. */
export interface LoanView {
  id: number;
  status: LoanStatus;
  borrowerId: number;
  catalogEntryId: number;
  /** The copy: set at request (a named copy) or at approval. */
  copyId: number | null;
  /** The copy's code (`XXX-{catalogId}-{n}`) when the copy is known. */
  copyCode: string | null;
  environment: string | null;
  requestDate: Date;
  requestedDueDate: Date | null;
  approvalDate: Date | null;
  dueDate: Date | null;
  returnDate: Date | null;
  /** When it was rejected or cancelled. */
  rejectionDate: Date | null;
  observation: string | null;
  requestedById: number | null;
  approvedById: number | null;
  rejectedById: number | null;
  rejectionReason: string | null;
  receivedById: number | null;
  returnOutcome: ReturnOutcome | null;
  renewalCount: number;
  /** Overdue fine charged at return under the loan's terms, minor units (0 ..= `MAX_MONEY`). */
  overdueFine: number;
  /**
   * Replacement cost charged for a lost copy, minor units (0 ..= `MAX_MONEY`); 0 when the entry's
   * cost is unknown (see {@link ReturnedLoanView.replacementCostUnknown}).
   */
  replacementCharge: number;
  /** `overdueFine + replacementCharge`, minor units, held at `MAX_MONEY`. */
  finalPenalty: number;
  /**
   * The terms fixed at approval ({@link LoanTerms}); null before approval, on a rejected request,
   * and on a legacy loan approved before terms were stored (its renewals and fine then follow the
   * current policy).
   */
  terms: LoanTerms | null;
  penaltySettlement: PenaltySettlement | null;
  penaltySettledAt: Date | null;
  penaltySettledById: number | null;
  /** Optimistic-lock version. */
  version: number;
}

/**
 * What `LoanService.approve` returns: the loan, and whether its due date was brought forward to
 * end before a reservation needs the stock (issue 16; also in the `approved` event's data).
 */
export interface ApprovedLoanView extends LoanView {
  /** Null when the due date is the policy's (or the one asked for); else the booking it ends before. */
  dueDateCappedBy: {
    /** The first instant the stock is booked (ISO 8601, UTC). */
    reservedFrom: string;
    /** The booking of this very copy that needs it, or null when it is the entry's count. */
    reservationId: number | null;
  } | null;
}

/**
 * What `LoanService.return` answers: the returned loan, plus what the desk must know about this
 * check-in that the loan row does not keep.
 */
export interface ReturnedLoanView extends LoanView {
  /**
   * True when the copy was returned `lost` and its entry's replacement cost is unknown (`null`):
   * nothing was charged for the copy (`replacementCharge` 0) because its price is not known — set
   * the cost in the catalog and charge it by other means, or waive it. Also recorded in the
   * `returned` event's data (`replacementCostUnknown`). False otherwise.
   */
  replacementCostUnknown: boolean;
  /**
   * The hold the returned copy was set aside for (the first waiting hold of the title, issue 16),
   * with its pickup deadline; null when none waits (or the outcome left the copy unavailable).
   */
  setAsideForHold: { holdId: number; expiresAt: Date } | null;
}

/** One entry of a loan's audit trail. */
export type LoanEventView = Omit<LoanTransitionEvent, 'kind' | 'loanId'>;

/** A loan with its audit trail, oldest event first. */
export interface LoanDetails extends LoanView {
  events: LoanEventView[];
}

/** An overdue loan with the fine accrued so far (as if returned at `asOf`). */
export interface OverdueLoanView extends LoanView {
  /** Whole minutes overdue at `asOf`. */
  overdueMinutes: number;
  /**
   * Fine accrued at `asOf` under the loan's terms (the current policy for a legacy loan without
   * terms; no fine when there is neither), minor units, with its breakdown.
   */
  accruedFine: FineBreakdown;
}

/** Why a borrower may not borrow or renew now. */
export type BlockReason = 'overdue_loan' | 'unsettled_penalty';

/** Whether a borrower may borrow now. */
export interface BorrowerStanding {
  borrowerId: number;
  active: boolean;
  /** True when `reasons` is not empty. */
  blocked: boolean;
  reasons: BlockReason[];
  /** Approved loans past their due date. */
  overdueLoans: number;
  /** Returned loans whose penalty is neither paid nor waived. */
  unsettledPenalties: number;
  /** Sum of those penalties, minor units. */
  unsettledAmount: number;
  /** Pending + approved loans. */
  activeLoans: number;
}

/** @internal */
export function toLoanView(loan: Loan): LoanView {
  const copy = loan.copy;
  return {
    id: loan.id,
    status: loan.status,
    borrowerId: loan.borrower.id,
    catalogEntryId: loan.catalogEntry.id,
    copyId: copy?.id ?? null,
    copyCode: copy?.isInitialized() ? copy.unwrap().code : null,
    environment: loan.environment ?? null,
    requestDate: loan.requestDate,
    requestedDueDate: loan.requestedDueDate ?? null,
    approvalDate: loan.approvalDate ?? null,
    dueDate: loan.dueDate ?? null,
    returnDate: loan.returnDate ?? null,
    rejectionDate: loan.rejectionDate ?? null,
    observation: loan.observation ?? null,
    requestedById: loan.requestedBy?.id ?? null,
    approvedById: loan.approvedBy?.id ?? null,
    rejectedById: loan.rejectedBy?.id ?? null,
    rejectionReason: loan.rejectionReason ?? null,
    receivedById: loan.receivedBy?.id ?? null,
    returnOutcome: loan.returnOutcome ?? null,
    renewalCount: loan.renewalCount,
    overdueFine: loan.overdueFine,
    replacementCharge: loan.replacementCharge,
    finalPenalty: loan.finalPenalty,
    terms: loanTerms(loan),
    penaltySettlement: loan.penaltySettlement ?? null,
    penaltySettledAt: loan.penaltySettledAt ?? null,
    penaltySettledById: loan.penaltySettledBy?.id ?? null,
    version: loan.version,
  };
}

/** @internal */
export function toLoanEventView(event: LoanEvent): LoanEventView {
  return transitionEventView(event);
}

/** @internal */
export function toLoanTransitionEvent(event: LoanEvent): LoanTransitionEvent {
  return { kind: 'loan', loanId: event.loan.id, ...toLoanEventView(event) };
}
