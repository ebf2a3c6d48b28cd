/**
 * What the {@link NoticeService} returns: rules, notices, and the digests a worker sends — one per
 * borrower, everything the host needs to render a message (`renderDigestText` is an example).
 * Money in integer minor units; instants UTC `Date`s. Source: issue 17.
 *
 * @module
 */
import type { Category, NoticeStatus, NoticeSubject, NoticeTrigger, Role } from '../domain/vocabulary.ts';
import type { FineBreakdown } from '../loans/fines.ts';
import type { BlockReason } from '../loans/views.ts';

/** One moment of the notice schedule (`swl_notice_rule`). */
export interface NoticeRuleView {
  id: number;
  category: Category;
  role: Role;
  trigger: NoticeTrigger;
  /** Minutes from the trigger's anchor (negative: before it). */
  offsetMinutes: number;
  templateKey: string;
}

/** One notice (`swl_notice`). */
export interface NoticeView {
  id: number;
  borrowerId: number;
  subjectType: NoticeSubject;
  /** Id in `swl_loan`, `swl_reservation` or `swl_hold`, by `subjectType`. */
  subjectId: number;
  trigger: NoticeTrigger;
  offsetMinutes: number;
  /** The instant the offset counts from (due date, return date, booking start, set-aside, pickup deadline). */
  anchorAt: Date;
  /** `anchorAt + offsetMinutes`: when it became due. */
  fireAt: Date;
  templateKey: string;
  status: NoticeStatus;
  /** Claims so far. */
  attempts: number;
  /** When a pending notice may be claimed (again). */
  nextAttemptAt: Date;
  /** The digest of its last claim, or null. */
  digestId: string | null;
  leaseUntil: Date | null;
  lastError: string | null;
  sentAt: Date | null;
  /** When it was given up (`fallido`) or dropped (`descartado`). */
  closedAt: Date | null;
  /** `not_relevant` (the loan was returned, the booking cancelled, the rule removed…) or `superseded` (a later notice of the same subject). */
  dropReason: 'not_relevant' | 'superseded' | null;
  createdAt: Date;
}

/** A loan in a digest: each of the borrower's loans out, with what it has cost so far. */
export interface DigestLoan {
  loanId: number;
  catalogEntryId: number;
  title: string;
  copyCode: string | null;
  dueDate: Date;
  /** Whole minutes past due at the digest's instant (0 when not overdue). */
  overdueMinutes: number;
  /** The fine accrued so far, as if returned at the digest's instant, under the loan's terms. */
  accruedFine: FineBreakdown;
  /** Template keys of this digest's notices about this loan (empty: listed for completeness). */
  templateKeys: string[];
}

/** A returned loan whose penalty is neither paid nor waived (it blocks the borrower). */
export interface DigestPenalty {
  loanId: number;
  title: string;
  returnDate: Date;
  /** `finalPenalty`, minor units. */
  amount: number;
  templateKeys: string[];
}

/** A booking a notice of the digest is about. */
export interface DigestReservation {
  reservationId: number;
  catalogEntryId: number;
  title: string;
  quantity: number;
  startsAt: Date;
  endsAt: Date;
  /** Pickup is possible until then. */
  pickupDeadline: Date;
  templateKeys: string[];
}

/** A hold a notice of the digest is about: a copy set aside for the borrower. */
export interface DigestHold {
  holdId: number;
  catalogEntryId: number;
  title: string;
  copyCode: string | null;
  readyAt: Date | null;
  /** Pickup deadline. */
  expiresAt: Date | null;
  templateKeys: string[];
}

/**
 * Everything one borrower is told in one message: the notices due now (all of the borrower's
 * loans, bookings and holds they are about) plus the borrower's whole standing — every loan out with
 * its due date and accrued fine, unsettled penalties, and what is blocked.
 */
export interface NoticeDigest {
  /** Pass it to `markSent` / `markFailed`. */
  digestId: string;
  /** The instant the digest was computed at (UTC). */
  asOf: Date;
  borrower: { id: number; documentId: string; fullName: string; email: string | null; role: Role };
  /** The notices this digest delivers, by moment. */
  notices: NoticeView[];
  /** Every loan the borrower has out (approved), earliest due first. */
  loans: DigestLoan[];
  /** Returned loans with an unsettled penalty. */
  penalties: DigestPenalty[];
  reservations: DigestReservation[];
  holds: DigestHold[];
  /** Money, minor units: fines accrued on the loans out, unsettled penalties, and their sum. */
  fines: { accrued: number; unsettled: number; total: number };
  /** True when `blocks` is not empty: the borrower may not borrow (docs/DESIGN.md §5). */
  blocked: boolean;
  blocks: BlockReason[];
}

/** What `markSent` did. */
export interface MarkSentResult {
  digestId: string;
  /** Notices marked `enviado` (0: the digest's lease ran out and it was claimed again, or it was already reported). */
  sent: number;
}

/** What `markFailed` did. */
export interface MarkFailedResult {
  digestId: string;
  /** Notices back to `pendiente`, to be claimed again from `nextAttemptAt`. */
  retrying: number;
  /** When they may be claimed again, or null when none is retrying. */
  nextAttemptAt: Date | null;
  /** Notices given up after their last attempt (`fallido`). */
  failed: number;
}
