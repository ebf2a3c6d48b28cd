/**
 * Plain objects the {@link ReportService} returns (never entities). Instants are UTC `Date`s;
 * money is in integer minor units (COP centavos by default), 0 ..= `MAX_MONEY`. Source: issue 17.
 *
 * @module
 */
import type { Category, CopyEventType, Role } from '../domain/vocabulary.ts';
import type { FineCap } from '../loans/fines.ts';
import type { Availability } from '../reservations/views.ts';
import type { Page } from '../validation.ts';
import type { OutOfServiceStatus } from './schemas.ts';

/** One overdue loan of an {@link OverdueBorrower}. */
export interface OverdueLoanLine {
  loanId: number;
  catalogEntryId: number;
  titleOrName: string;
  category: Category;
  /** The lent copy, or null for a loan without one (legacy rows). */
  copyId: number | null;
  /** The lent copy's code (`XXX-{catalogId}-{n}`), or null. */
  copyCode: string | null;
  /** When the loan was approved (lent), UTC. */
  approvalDate: Date;
  /** When it was due, UTC (before `asOf`). */
  dueDate: Date;
  /** Whole minutes overdue at `asOf` (both instants truncated to the minute). */
  overdueMinutes: number;
  /**
   * The fine accrued so far (as if returned at `asOf`), minor units — the rule of
   * `LoanService.overdueLoans`: the terms fixed at approval, the current policy for a legacy loan
   * without terms, 0 when there is neither.
   */
  accruedFine: number;
  /** Which cap lowered {@link OverdueLoanLine.accruedFine}, if any. */
  fineCappedBy: FineCap | null;
}

/** A borrower with overdue loans: who, the loans, and what they owe. */
export interface OverdueBorrower {
  borrowerId: number;
  documentId: string;
  fullName: string;
  email: string | null;
  role: Role;
  /** Whether the account is active. */
  active: boolean;
  /** The overdue loans, most overdue first (due date ascending, then loan id). */
  loans: OverdueLoanLine[];
  /** `loans.length`. */
  overdueLoans: number;
  /** Sum of the loans' `accruedFine`, minor units, held at `MAX_MONEY`. */
  accruedFines: number;
  /** Returned loans of the borrower with a penalty (`finalPenalty > 0`) not yet settled. */
  unsettledPenalties: number;
  /** Sum of those penalties, minor units, held at `MAX_MONEY`. */
  unsettledAmount: number;
  /** `accruedFines + unsettledAmount`, minor units, held at `MAX_MONEY`. */
  totalOwed: number;
}

/** The overdue report: a page of borrowers (`total` counts borrowers) at one instant. */
export interface OverdueReport extends Page<OverdueBorrower> {
  /** The instant the report was computed for, UTC. */
  asOf: Date;
}

/** The availability of one entry over the report's range (`ReservationService.availability`'s figures). */
export interface EntryAvailability extends Availability {
  titleOrName: string;
  category: Category;
}

/** The availability report: a page of entries (`total` counts entries). */
export interface AvailabilityReport extends Page<EntryAvailability> {
  /** Start of the range (inclusive), UTC. */
  from: Date;
  /** End of the range (exclusive), UTC. */
  to: Date;
}

/** One group of {@link LoansPerMonthReport}. */
export interface MonthlyLoanCount {
  /** The UTC calendar month of the approval, `YYYY-MM`. */
  month: string;
  /** The lent entry's category. */
  category: Category;
  /** The borrower's role (as it is now: a loan does not record the role it was lent under). */
  role: Role;
  /** Loans approved in the month. */
  loans: number;
  /** Of those, returned after their due date. */
  returnedLate: number;
}

/** Loans lent in a period, by month, category and role, computed by the database (`GROUP BY`). */
export interface LoansPerMonthReport {
  /** Start of the period (inclusive), UTC. */
  from: Date;
  /** End of the period (exclusive), UTC. */
  to: Date;
  /** One row per group with loans, ordered by month, category, role; groups without loans are absent. */
  rows: MonthlyLoanCount[];
  /** All loans lent in the period (the sum of `rows[].loans`). */
  total: number;
}

/** One entry of {@link TopBorrowedReport}. */
export interface BorrowedEntry {
  catalogEntryId: number;
  titleOrName: string;
  category: Category;
  /** Loans of the entry approved in the period. */
  loans: number;
}

/** The most borrowed entries of a period. */
export interface TopBorrowedReport {
  /** Start of the period (inclusive), UTC. */
  from: Date;
  /** End of the period (exclusive), UTC. */
  to: Date;
  /** At most `limit` entries, most loans first, then by entry id. */
  rows: BorrowedEntry[];
}

/** A copy in maintenance or lost, and since when. */
export interface OutOfServiceCopy {
  copyId: number;
  code: string;
  status: OutOfServiceStatus;
  catalogEntryId: number;
  titleOrName: string;
  category: Category;
  /**
   * The instant of the copy's latest event that put it in its current status (`swl_instance_event`:
   * `sent_to_maintenance`, `marked_lost`, or a `returned` check-in as damaged or lost), UTC; null
   * when no such event is recorded (e.g. rows imported without history).
   */
  since: Date | null;
  /** The type of that event, or null. */
  sinceEvent: CopyEventType | null;
  /** The loan whose check-in put it there, or null. */
  loanId: number | null;
}
