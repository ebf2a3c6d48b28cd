/**
 * Domain events delivered to host subscribers after commit. Source: docs/DESIGN.md §3 ("Every transition:
 * one transaction, one LoanEvent, then (after commit) an event to subscribers").
 *
 * @module
 */
import type {
  CopyEventType,
  CopyStatus,
  HoldEventType,
  HoldStatus,
  LoanEventType,
  LoanStatus,
  ReservationEventType,
  ReservationStatus,
} from './domain/vocabulary.ts';

/** A loan transition, as recorded in `swl_loan_event`. */
export interface LoanTransitionEvent {
  kind: 'loan';
  /** `LoanEvent.id`. Ids are taken at insert, not at commit: read the outbox with `SwlOutbox`, never by `id > last`. */
  id: number;
  loanId: number;
  type: LoanEventType;
  from: LoanStatus | null;
  to: LoanStatus;
  /** Acting user's id, or null for system actions. */
  actorId: number | null;
  /** When it happened (UTC, from the service clock). */
  at: Date;
  /** Command particulars (due dates, fine breakdown in minor units, reason…). */
  data: Record<string, unknown> | null;
}

/** A copy status change, as recorded in `swl_instance_event`. */
export interface CopyChangeEvent {
  kind: 'copy';
  /** `CopyEvent.id`. */
  id: number;
  copyId: number;
  type: CopyEventType;
  from: CopyStatus | null;
  to: CopyStatus;
  loanId: number | null;
  actorId: number | null;
  at: Date;
  note: string | null;
}

/**
 * A reservation transition, as recorded in `swl_reservation_event` (issue 16). Published to the
 * bus after commit; `SwlOutbox` delivers the same shape from the table.
 */
export interface ReservationTransitionEvent {
  kind: 'reservation';
  /** `ReservationEvent.id`. */
  id: number;
  reservationId: number;
  type: ReservationEventType;
  from: ReservationStatus | null;
  to: ReservationStatus;
  /** Acting user's id (for a no-show, who ran the sweep). */
  actorId: number | null;
  /** When it happened (UTC, from the service clock). */
  at: Date;
  /** Command particulars (range, quantity, loans made at pickup…). */
  data: Record<string, unknown> | null;
}

/**
 * A hold transition, as recorded in `swl_hold_event` (issue 16). Published to the bus after
 * commit; `SwlOutbox` delivers the same shape from the table.
 */
export interface HoldTransitionEvent {
  kind: 'hold';
  /** `HoldEvent.id`. */
  id: number;
  holdId: number;
  type: HoldEventType;
  from: HoldStatus | null;
  to: HoldStatus;
  /** Acting user's id (for a copy set aside at a return, who checked it in). */
  actorId: number | null;
  /** When it happened (UTC, from the service clock). */
  at: Date;
  /** Command particulars (the copy set aside, the pickup deadline, the loan…). */
  data: Record<string, unknown> | null;
}

/** Every event a subscriber may receive. */
export type SwlDomainEvent =
  | LoanTransitionEvent
  | CopyChangeEvent
  | ReservationTransitionEvent
  | HoldTransitionEvent;

/** A subscriber. It may be async; its result is not awaited by the command. */
export type SwlEventListener = (event: SwlDomainEvent) => void | Promise<void>;

/**
 * In-process publish/subscribe for {@link SwlDomainEvent}s. Create one per application and pass it
 * to every service; events reach listeners only after the command's transaction (or the host's
 * enclosing transaction) has committed, in commit order, never for a rolled-back change. A
 * listener that throws (or rejects) does not affect the command or other listeners; the error goes
 * to `onListenerError`. Delivery is in-process and best effort (a crash between commit and publish
 * loses it); for delivery that survives a crash read the outbox with `SwlOutbox` (src/outbox.ts),
 * which returns the same event shapes from a cursor and never skips a committed event.
 *
 * @example
 * ```ts
 * const events = new SwlEventBus();
 * events.subscribe((e) => { if (e.kind === 'loan' && e.type === 'approved') notify(e.loanId); });
 * const loans = new LoanService(em, { events });
 * ```
 */
export class SwlEventBus {
  readonly #listeners = new Set<SwlEventListener>();
  readonly #onListenerError: (error: unknown, event: SwlDomainEvent) => void;

  /** @param options - `onListenerError`: called with a listener's error (default: ignored). */
  constructor(options: { onListenerError?: (error: unknown, event: SwlDomainEvent) => void } = {}) {
    this.#onListenerError = options.onListenerError ?? (() => {});
  }

  /** Adds a listener; returns a function that removes it. */
  subscribe(listener: SwlEventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Delivers events to every listener. Called by the services after commit. */
  publish(events: readonly SwlDomainEvent[]): void {
    for (const event of events) {
      for (const listener of this.#listeners) {
        try {
          const result = listener(event);
          if (result && typeof (result as Promise<void>).catch === 'function') {
            (result as Promise<void>).catch((error) => this.#onListenerError(error, event));
          }
        } catch (error) {
          this.#onListenerError(error, event);
        }
      }
    }
  }
}
