/**
 * The stored vocabulary of the package: every enumerated column's values, as one tuple each.
 *
 * Each tuple feeds three things at once: the database column (a `CHECK` constraint on both
 * dialects), the zod schemas of the commands, and the state-machine tables. Stored values that come
 * from the original SWL system stay in Spanish (`docs/legacy/000_266b31aaf8610e4d.txt` "Status
 * Values"); the TypeScript names are English.
 *
 * @module
 */

/**
 * Loan status values as stored in `swl_loan.status`.
 *
 * Source: `docs/legacy/000_266b31aaf8610e4d.txt` Loan Table, "Status Values: pendiente, aprobado,
 * devuelto, rechazado"; docs/DESIGN.md §3.
 */
export const LOAN_STATUSES = ['pendiente', 'aprobado', 'devuelto', 'rechazado'] as const;
/** One of {@link LOAN_STATUSES}. */
export type LoanStatus = (typeof LOAN_STATUSES)[number];
/**
 * English names for the stored loan statuses: `LoanStatus.Pending === 'pendiente'`.
 *
 * - `Pending` (`pendiente`): requested, waiting for staff.
 * - `Approved` (`aprobado`): checked out; the copy is on loan until it is returned.
 * - `Returned` (`devuelto`): checked in. Terminal.
 * - `Rejected` (`rechazado`): rejected by staff or cancelled by the requester. Terminal.
 */
export const LoanStatus = {
  Pending: 'pendiente',
  Approved: 'aprobado',
  Returned: 'devuelto',
  Rejected: 'rechazado',
} as const satisfies Record<string, LoanStatus>;

/**
 * Status values of a physical copy (`swl_item_instance.status`).
 *
 * Source: `docs/legacy/000_266b31aaf8610e4d.txt` ItemInstance Table, "Status Values: disponible,
 * prestado, mantenimiento, perdido"; docs/DESIGN.md §4. `retirado` (withdrawn from circulation:
 * kept in the record with its history, never lendable again) is FOLIO's item status *Withdrawn* and
 * Koha's `withdrawn` (issue 11).
 */
export const COPY_STATUSES = ['disponible', 'prestado', 'mantenimiento', 'perdido', 'retirado'] as const;
/** One of {@link COPY_STATUSES}. */
export type CopyStatus = (typeof COPY_STATUSES)[number];
/**
 * English names for the stored copy statuses: `CopyStatus.Available === 'disponible'`.
 */
export const CopyStatus = {
  Available: 'disponible',
  OnLoan: 'prestado',
  Maintenance: 'mantenimiento',
  Lost: 'perdido',
  Withdrawn: 'retirado',
} as const satisfies Record<string, CopyStatus>;

/**
 * User roles (`swl_user.role`). Source: docs/DESIGN.md §2 (the seed stores a free `role` string; the
 * package fixes the four roles the desk uses).
 */
export const ROLES = ['admin', 'staff', 'teacher', 'student'] as const;
/** One of {@link ROLES}. */
export type Role = (typeof ROLES)[number];
/** English names for the roles (they are stored as written). */
export const Role = {
  Admin: 'admin',
  Staff: 'staff',
  Teacher: 'teacher',
  Student: 'student',
} as const satisfies Record<string, Role>;

/**
 * Roles a visitor-log entry may carry (`swl_library_log.role`): the user roles plus `visitor` for
 * people from outside the institution. Source: `docs/legacy/000_266b31aaf8610e4d.txt` LibraryLog
 * Table; docs/DESIGN.md §2.
 */
export const VISITOR_ROLES = [...ROLES, 'visitor'] as const;
/** One of {@link VISITOR_ROLES}. */
export type VisitorRole = (typeof VISITOR_ROLES)[number];

/**
 * Catalog categories (`swl_catalog.category`). `premium` is the equipment that needs an environment
 * (classroom) and short loans. Source: `docs/legacy/000_266b31aaf8610e4d.txt` "Initial Inventory
 * Data".
 */
export const CATEGORIES = ['general', 'premium'] as const;
/** One of {@link CATEGORIES}. */
export type Category = (typeof CATEGORIES)[number];
/** English names for the categories (they are stored as written). */
export const Category = { General: 'general', Premium: 'premium' } as const satisfies Record<
  string,
  Category
>;

/**
 * How a copy came back at check-in (`swl_loan.return_outcome`). Source: docs/DESIGN.md §3 "return".
 * - `ok`: copy → `disponible`.
 * - `damaged`: copy → `mantenimiento`.
 * - `lost`: copy → `perdido`, replacement cost charged.
 */
export const RETURN_OUTCOMES = ['ok', 'damaged', 'lost'] as const;
/** One of {@link RETURN_OUTCOMES}. */
export type ReturnOutcome = (typeof RETURN_OUTCOMES)[number];

/**
 * How a loan's penalty was settled (`swl_loan.penalty_settlement`). Source: docs/DESIGN.md §3
 * "settle penalty".
 */
export const PENALTY_SETTLEMENTS = ['paid', 'waived'] as const;
/** One of {@link PENALTY_SETTLEMENTS}. */
export type PenaltySettlement = (typeof PENALTY_SETTLEMENTS)[number];

/**
 * Kinds of loan audit events (`swl_loan_event.type`), one per command of docs/DESIGN.md §3.
 */
export const LOAN_EVENT_TYPES = [
  'requested',
  'approved',
  'rejected',
  'cancelled',
  'renewed',
  'returned',
  'penalty_settled',
] as const;
/** One of {@link LOAN_EVENT_TYPES}. */
export type LoanEventType = (typeof LOAN_EVENT_TYPES)[number];

/**
 * Kinds of copy audit events (`swl_instance_event.type`). Source: docs/DESIGN.md §4.
 * `created` is written when a copy is added; `loaned`/`returned` mirror loan transitions;
 * the rest are the direct operations of docs/DESIGN.md §4.
 */
export const COPY_EVENT_TYPES = [
  'created',
  'loaned',
  'returned',
  'sent_to_maintenance',
  'repaired',
  'marked_lost',
  'found',
  'withdrawn',
] as const;
/** One of {@link COPY_EVENT_TYPES}. */
export type CopyEventType = (typeof COPY_EVENT_TYPES)[number];

/** Units of a loan period (`swl_loan_policy.loan_period_unit`). Source: docs/DESIGN.md §5. */
export const PERIOD_UNITS = ['minutes', 'hours', 'days'] as const;
/** One of {@link PERIOD_UNITS}. */
export type PeriodUnit = (typeof PERIOD_UNITS)[number];

/**
 * Fine intervals (`swl_loan_policy.fine_interval`). Lengths in minutes as in FOLIO
 * `OverdueFineService` (minute 1, hour 60, day 1440, week 10080). Source: docs/DESIGN.md §5,
 * FOLIO mod-circulation `OverdueFineServiceTest`.
 */
export const FINE_INTERVALS = ['minute', 'hour', 'day', 'week'] as const;
/** One of {@link FINE_INTERVALS}. */
export type FineInterval = (typeof FINE_INTERVALS)[number];

/**
 * Grace modes (`swl_loan_policy.grace_mode`). `threshold`: past the grace period all overdue
 * minutes count (FOLIO; Koha `FinesIncludeGracePeriod` = Include). `deduct`: only the minutes
 * after the grace period count. Source: docs/DESIGN.md §5.
 */
export const GRACE_MODES = ['threshold', 'deduct'] as const;
/** One of {@link GRACE_MODES}. */
export type GraceMode = (typeof GRACE_MODES)[number];

/**
 * Interval rounding (`swl_loan_policy.interval_rounding`). `up`: a started interval is charged
 * (FOLIO; Koha `chargeperiod_charge_at` = 1); `down`: only whole intervals (Koha "charge at end").
 * Source: docs/DESIGN.md §5.
 */
export const INTERVAL_ROUNDINGS = ['up', 'down'] as const;
/** One of {@link INTERVAL_ROUNDINGS}. */
export type IntervalRounding = (typeof INTERVAL_ROUNDINGS)[number];

/**
 * Reservation status values (`swl_reservation.status`), Spanish like the loan statuses. Source:
 * issue 16; the request/confirm flow mirrors the loan's (docs/DESIGN.md §3).
 */
export const RESERVATION_STATUSES = [
  'solicitada',
  'confirmada',
  'recogida',
  'cancelada',
  'no_recogida',
] as const;
/** One of {@link RESERVATION_STATUSES}. */
export type ReservationStatus = (typeof RESERVATION_STATUSES)[number];
/**
 * English names for the stored reservation statuses: `ReservationStatus.Requested === 'solicitada'`.
 *
 * - `Requested` (`solicitada`): booked, waiting for staff confirmation (policies that require it).
 *   It already holds its stock: nobody else can book what it booked.
 * - `Confirmed` (`confirmada`): confirmed; waits for pickup.
 * - `PickedUp` (`recogida`): picked up; its loans carry it on. Terminal.
 * - `Cancelled` (`cancelada`): cancelled by the borrower or staff. Terminal.
 * - `NoShow` (`no_recogida`): not picked up within the pickup window; the stock was released. Terminal.
 */
export const ReservationStatus = {
  Requested: 'solicitada',
  Confirmed: 'confirmada',
  PickedUp: 'recogida',
  Cancelled: 'cancelada',
  NoShow: 'no_recogida',
} as const satisfies Record<string, ReservationStatus>;

/** Reservation statuses that hold stock (a booking the desk must honour). */
export const HOLDING_RESERVATION_STATUSES: readonly ReservationStatus[] = ['solicitada', 'confirmada'];

/** Kinds of reservation audit events (`swl_reservation_event.type`). Source: issue 16. */
export const RESERVATION_EVENT_TYPES = [
  'requested',
  'confirmed',
  'picked_up',
  'cancelled',
  'no_show',
] as const;
/** One of {@link RESERVATION_EVENT_TYPES}. */
export type ReservationEventType = (typeof RESERVATION_EVENT_TYPES)[number];

/**
 * Hold status values (`swl_hold.status`): a borrower's place in the queue for a title when no copy
 * is available. Source: issue 16 (holds queue); Koha's reserves (waiting → found `W` → filled /
 * cancelled / expired) and FOLIO's request statuses (Open – Not yet filled / Open – Awaiting pickup
 * / Closed – Filled / Cancelled / Pickup expired).
 */
export const HOLD_STATUSES = ['en_espera', 'lista', 'cumplida', 'cancelada', 'vencida'] as const;
/** One of {@link HOLD_STATUSES}. */
export type HoldStatus = (typeof HOLD_STATUSES)[number];
/**
 * English names for the stored hold statuses: `HoldStatus.Waiting === 'en_espera'`.
 *
 * - `Waiting` (`en_espera`): in the queue for the title.
 * - `AwaitingPickup` (`lista`): a returned copy is set aside for it until `expiresAt`. If that copy
 *   leaves the shelf (maintenance, lost, withdrawn) the hold goes back to `en_espera`, keeping its
 *   place (event `released`), and another free copy is set aside for the queue when there is one.
 * - `Fulfilled` (`cumplida`): checked out to the borrower (a loan). Terminal.
 * - `Cancelled` (`cancelada`): cancelled by the borrower or staff. Terminal.
 * - `Expired` (`vencida`): not picked up in time; the copy went to the next hold. Terminal.
 */
export const HoldStatus = {
  Waiting: 'en_espera',
  AwaitingPickup: 'lista',
  Fulfilled: 'cumplida',
  Cancelled: 'cancelada',
  Expired: 'vencida',
} as const satisfies Record<string, HoldStatus>;

/** Kinds of hold audit events (`swl_hold_event.type`). Source: issue 16. */
export const HOLD_EVENT_TYPES = ['placed', 'ready', 'released', 'fulfilled', 'cancelled', 'expired'] as const;
/** One of {@link HOLD_EVENT_TYPES}. */
export type HoldEventType = (typeof HOLD_EVENT_TYPES)[number];

/**
 * Notice triggers (`swl_notice_rule.trigger`, `swl_notice.trigger`): what a notice is about, each
 * with the instant its offset counts from (the **anchor**). Source: issue 17; Koha's overdue
 * notice triggers (`overduerules`: delay in days after the due date) and its advance notices
 * (`DUE` / `PREDUE`), leihs's reminders before and after the due date.
 *
 * - `loan_due`: an approved loan, anchored at its due date (negative offset: before it — a "due
 *   soon" reminder; 0: at it; positive: overdue by that much).
 * - `penalty_unsettled`: a returned loan whose penalty is neither paid nor waived (it blocks the
 *   borrower, docs/DESIGN.md §5), anchored at its return date.
 * - `reservation_start`: a confirmed booking, anchored at its start (pickup opens then).
 * - `hold_ready`: a hold whose copy was set aside (`lista`), anchored at that instant.
 * - `hold_expiring`: the same hold, anchored at its pickup deadline (negative offset: before it).
 */
export const NOTICE_TRIGGERS = [
  'loan_due',
  'penalty_unsettled',
  'reservation_start',
  'hold_ready',
  'hold_expiring',
] as const;
/** One of {@link NOTICE_TRIGGERS}. */
export type NoticeTrigger = (typeof NOTICE_TRIGGERS)[number];

/** What a notice is about (`swl_notice.subject_type`): the table its `subject_id` points into. */
export const NOTICE_SUBJECTS = ['loan', 'reservation', 'hold'] as const;
/** One of {@link NOTICE_SUBJECTS}. */
export type NoticeSubject = (typeof NOTICE_SUBJECTS)[number];

/** The subject each trigger is about. */
export const NOTICE_TRIGGER_SUBJECT: Readonly<Record<NoticeTrigger, NoticeSubject>> = {
  loan_due: 'loan',
  penalty_unsettled: 'loan',
  reservation_start: 'reservation',
  hold_ready: 'hold',
  hold_expiring: 'hold',
};

/**
 * Notice status values (`swl_notice.status`), Spanish like the other statuses. Source: issue 17.
 */
export const NOTICE_STATUSES = ['pendiente', 'enviando', 'enviado', 'fallido', 'descartado'] as const;
/** One of {@link NOTICE_STATUSES}. */
export type NoticeStatus = (typeof NOTICE_STATUSES)[number];
/**
 * English names for the stored notice statuses: `NoticeStatus.Pending === 'pendiente'`.
 *
 * - `Pending` (`pendiente`): its moment has come; waits to be claimed (again, after a failed
 *   attempt, from `nextAttemptAt`).
 * - `Sending` (`enviando`): claimed by a worker until `leaseUntil`; then `markSent`/`markFailed`.
 *   A lease that runs out without either counts as a failed attempt.
 * - `Sent` (`enviado`): the host reported it sent. Terminal.
 * - `Failed` (`fallido`): every attempt failed; reported, never retried. Terminal.
 * - `Dropped` (`descartado`): no longer relevant when it was to be claimed (the loan was returned,
 *   the booking cancelled, a later notice of the same subject superseded it). Terminal.
 */
export const NoticeStatus = {
  Pending: 'pendiente',
  Sending: 'enviando',
  Sent: 'enviado',
  Failed: 'fallido',
  Dropped: 'descartado',
} as const satisfies Record<string, NoticeStatus>;
