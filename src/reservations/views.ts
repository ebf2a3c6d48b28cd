/**
 * What the {@link ReservationService} returns. Instants are UTC `Date`s. Source: issue 16.
 *
 * @module
 */
import type { Category, ReservationEventType, ReservationStatus, Role } from '../domain/vocabulary.ts';
import type { ReservationEvent } from '../entities/reservation-event.entity.ts';
import type { ReservationTransitionEvent } from '../events.ts';
import { transitionEventView } from '../kernel/records.ts';
import type { LoanView } from '../loans/views.ts';

/** A reservation as the service returns it. */
export interface ReservationView {
  id: number;
  borrowerId: number;
  catalogEntryId: number;
  /** The named copy, or null for a booking of any copies of the entry. */
  copyId: number | null;
  quantity: number;
  /** Start (inclusive), UTC. */
  startsAt: Date;
  /** End (exclusive), UTC: the due date of the loans made at pickup. */
  endsAt: Date;
  /** `endsAt` + `bufferMinutes`: the stock is held until then. */
  blocksUntil: Date;
  /** Buffer after the booking, minutes (fixed at booking from the policy). */
  bufferMinutes: number;
  /** Pickup is possible until then; after it the booking is a no-show. */
  pickupDeadline: Date;
  status: ReservationStatus;
  environment: string | null;
  note: string | null;
  confirmedAt: Date | null;
  cancelledAt: Date | null;
  cancelReason: string | null;
  pickedUpAt: Date | null;
  /** Loans made at pickup. */
  loanIds: number[];
  noShowAt: Date | null;
  version: number;
}

/** One event of a reservation's history. */
export interface ReservationEventView {
  id: number;
  type: ReservationEventType;
  from: ReservationStatus | null;
  to: ReservationStatus;
  actorId: number | null;
  at: Date;
  data: Record<string, unknown> | null;
}

/** A reservation with its history (oldest event first). */
export interface ReservationDetails extends ReservationView {
  events: ReservationEventView[];
}

/** What a pickup made: the reservation (`recogida`) and its loans (`aprobado`, due at `endsAt`). */
export interface PickUpResult {
  reservation: ReservationView;
  loans: LoanView[];
}

/** One interval of an availability read: `free` copies over `[from, to)`. */
export interface AvailabilityInterval {
  from: Date;
  to: Date;
  /** Units committed (bookings and loans). */
  booked: number;
  /** `capacity − booked`, never below 0. */
  free: number;
}

/** The free quantity of an entry over a range: what a booking calendar draws. */
export interface Availability {
  catalogEntryId: number;
  /** Copies that can be lent (`disponible` or `prestado`). */
  capacity: number;
  from: Date;
  to: Date;
  /** Consecutive intervals covering `[from, to)`, one per change of the free quantity. */
  intervals: AvailabilityInterval[];
  /** The least free quantity over the range (what one more booking of the whole range can take). */
  minFree: number;
}

/** A reservation policy as the service returns it. */
export interface ReservationPolicyView {
  id: number;
  category: Category;
  role: Role;
  maxAdvanceDays: number;
  maxDurationMinutes: number;
  bufferMinutes: number;
  pickupWindowMinutes: number;
  approvalRequired: boolean;
  version: number;
}

/** What `recordNoShows` did. */
export interface NoShowSweep {
  /** The bookings marked `no_recogida`, by id. */
  reservationIds: number[];
  /** The instant used (the service clock). */
  asOf: Date;
}

/** A `swl_reservation_event` row as a {@link ReservationEventView} (`data` null when absent). @internal */
export function toReservationEventView(event: ReservationEvent): ReservationEventView {
  return transitionEventView(event);
}

/**
 * The after-commit bus event of a `swl_reservation_event` row: the shape `recordReservationEvent`
 * publishes, as the outbox (`SwlOutbox`) delivers it. @internal
 */
export function toReservationTransitionEvent(event: ReservationEvent): ReservationTransitionEvent {
  return { kind: 'reservation', reservationId: event.reservation.id, ...toReservationEventView(event) };
}
