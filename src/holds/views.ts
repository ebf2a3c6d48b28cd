/**
 * What the {@link HoldService} returns. Instants are UTC `Date`s. Source: issue 16.
 *
 * @module
 */
import type { HoldEventType, HoldStatus } from '../domain/vocabulary.ts';
import type { HoldEvent } from '../entities/hold-event.entity.ts';
import type { HoldTransitionEvent } from '../events.ts';
import { transitionEventView } from '../kernel/records.ts';
import type { LoanView } from '../loans/views.ts';

/** A hold as the service returns it. */
export interface HoldView {
  id: number;
  borrowerId: number;
  catalogEntryId: number;
  status: HoldStatus;
  /** Its place: when it joined the queue. */
  placedAt: Date;
  /** 1-based place among the entry's waiting holds (first come, first served); null unless `en_espera`. */
  position: number | null;
  /** The copy set aside for it (`lista`), or kept from then. */
  copyId: number | null;
  readyAt: Date | null;
  /** Pickup deadline of a `lista` hold. */
  expiresAt: Date | null;
  fulfilledAt: Date | null;
  loanId: number | null;
  cancelledAt: Date | null;
  cancelReason: string | null;
  expiredAt: Date | null;
  version: number;
}

/** One event of a hold's history. */
export interface HoldEventView {
  id: number;
  type: HoldEventType;
  from: HoldStatus | null;
  to: HoldStatus;
  actorId: number | null;
  at: Date;
  data: Record<string, unknown> | null;
}

/** A hold with its history (oldest event first). */
export interface HoldDetails extends HoldView {
  events: HoldEventView[];
}

/** An entry's queue. */
export interface HoldQueue {
  catalogEntryId: number;
  /** Waiting holds, position 1 first. */
  waiting: HoldView[];
  /** Holds whose copy is set aside, earliest deadline first. */
  awaitingPickup: HoldView[];
}

/** What `fulfillHold` made: the hold (`cumplida`) and its loan. */
export interface FulfilledHold {
  hold: HoldView;
  loan: LoanView;
}

/** What `expireHolds` did. */
export interface HoldExpirySweep {
  /** The holds that expired. */
  expired: number[];
  /** The holds their copies were set aside for next. */
  setAside: number[];
  /** The instant used (the service clock). */
  asOf: Date;
}

/** A `swl_hold_event` row as a {@link HoldEventView} (`data` null when absent). @internal */
export function toHoldEventView(event: HoldEvent): HoldEventView {
  return transitionEventView(event);
}

/**
 * The after-commit bus event of a `swl_hold_event` row: the shape `recordHoldEvent` publishes, as
 * the outbox (`SwlOutbox`) delivers it. @internal
 */
export function toHoldTransitionEvent(event: HoldEvent): HoldTransitionEvent {
  return { kind: 'hold', holdId: event.hold.id, ...toHoldEventView(event) };
}
