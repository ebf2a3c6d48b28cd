/**
 * The reservation state machine as data, and the one function through which a reservation's status
 * changes. Source: issue 16; the shape of `src/loans/transitions.ts`.
 *
 * ```
 *            reserve              confirm               pickUp
 *  (none) ───────────▶ solicitada ─────────▶ confirmada ─────────▶ recogida
 *                          │  │                 │  │
 *                   cancel │  └── noShow ──┐    │  └── noShow ──▶ no_recogida
 *                          ▼               ▼    ▼ cancel
 *                      cancelada       no_recogida / cancelada
 * ```
 *
 * A policy without staff approval confirms the booking in the command that makes it (two events,
 * `requested` then `confirmed`).
 *
 * @module
 */
import { RESERVATION_STATUSES, type ReservationEventType, ReservationStatus } from '../domain/vocabulary.ts';
import { SwlError } from '../errors.ts';
import { applyRecordTransition, type RecordKind, recordTransitionEvent } from '../kernel/records.ts';
import { StateMachine, type TransitionRow } from '../kernel/state-machine.ts';
import type { TransitionScope } from '../kernel/writes.ts';

const { Requested, Confirmed, PickedUp, Cancelled, NoShow } = ReservationStatus;

/** The commands that move a reservation. */
export type ReservationCommand = 'reserve' | 'confirm' | 'cancel' | 'pickUp' | 'noShow';

/** One row of {@link RESERVATION_TRANSITIONS}. */
export type ReservationTransition = TransitionRow<
  ReservationStatus,
  ReservationCommand,
  ReservationEventType
>;

/**
 * Every reservation transition: command, status left (`null`: `reserve` creates it), status
 * entered and the `swl_reservation_event.type` recorded. Anything not listed is refused with
 * `INVALID_TRANSITION`.
 */
export const RESERVATION_TRANSITIONS: readonly ReservationTransition[] = [
  { command: 'reserve', from: null, to: Requested, event: 'requested' },
  { command: 'confirm', from: Requested, to: Confirmed, event: 'confirmed' },
  { command: 'cancel', from: Requested, to: Cancelled, event: 'cancelled' },
  { command: 'cancel', from: Confirmed, to: Cancelled, event: 'cancelled' },
  { command: 'pickUp', from: Confirmed, to: PickedUp, event: 'picked_up' },
  { command: 'noShow', from: Requested, to: NoShow, event: 'no_show' },
  { command: 'noShow', from: Confirmed, to: NoShow, event: 'no_show' },
];

/** States no command leaves (`recogida`, `cancelada`, `no_recogida`). */
export const TERMINAL_RESERVATION_STATUSES: readonly ReservationStatus[] = [PickedUp, Cancelled, NoShow];

/**
 * The reservation machine over {@link RESERVATION_TRANSITIONS}, checked when the module loads (one
 * creation row, every status reachable from `solicitada`, no way out of a terminal status).
 */
export const RESERVATION_MACHINE = new StateMachine<ReservationStatus, ReservationTransition>({
  name: 'reservation',
  states: RESERVATION_STATUSES,
  terminal: TERMINAL_RESERVATION_STATUSES,
  transitions: RESERVATION_TRANSITIONS,
});

/**
 * The transition `command` makes from `status`.
 * @throws SwlError `INVALID_TRANSITION` with `details: { entity: 'reservation', from, to, command, reservationId }`.
 */
export function assertReservationCommand(
  command: ReservationCommand,
  status: ReservationStatus,
  reservationId?: number,
): ReservationTransition {
  const row = RESERVATION_MACHINE.find(command, status);
  if (row) return row;
  const to = (RESERVATION_TRANSITIONS.find((t) => t.command === command) as ReservationTransition).to;
  throw SwlError.invalidTransition('reservation', status, to, { command, reservationId });
}

/** The columns a reservation transition may set. */
export interface ReservationChanges {
  confirmed_at?: Date;
  confirmed_by_id?: number;
  cancelled_at?: Date;
  cancelled_by_id?: number;
  cancel_reason?: string | null;
  picked_up_at?: Date;
  picked_up_by_id?: number;
  loan_ids?: string;
  no_show_at?: Date;
}

/** Where reservations and their events live; their bus event (`kind: 'reservation'`). */
const RESERVATIONS: RecordKind = {
  table: 'swl_reservation',
  events: 'swl_reservation_event',
  owner: 'reservation_id',
  publish: ({ id, recordId, transition: t, actorId, at, data }) => ({
    kind: 'reservation',
    id,
    reservationId: recordId,
    type: t.event as ReservationEventType,
    from: t.from as ReservationStatus | null,
    to: t.to as ReservationStatus,
    actorId,
    at,
    data,
  }),
};

/**
 * The one way a reservation's status changes: asserts the move, plans the version-checked update
 * (`CONFLICT` when another command changed the row) and the `swl_reservation_event` row on the
 * command's write batch, and queues the event for after the commit (`src/kernel/records.ts`).
 * @returns the new version.
 * @throws SwlError `INVALID_TRANSITION`.
 * @internal
 */
export function applyReservationTransition(
  scope: TransitionScope,
  move: {
    reservation: { id: number; status: ReservationStatus; version: number };
    command: Exclude<ReservationCommand, 'reserve'>;
    changes: ReservationChanges;
    actorId: number | null;
    at: Date;
    data: Record<string, unknown>;
  },
): number {
  const { reservation: r } = move;
  const transition = assertReservationCommand(move.command, r.status, r.id);
  return applyRecordTransition(scope, RESERVATIONS, { ...move, record: r, transition });
}

/**
 * Plans the `swl_reservation_event` row of a transition and queues its publication.
 * @internal
 */
export function recordReservationEvent(
  scope: TransitionScope,
  event: {
    reservationId: number;
    transition: ReservationTransition;
    actorId: number | null;
    at: Date;
    data: Record<string, unknown>;
  },
): void {
  const { reservationId, ...rest } = event;
  recordTransitionEvent(scope, RESERVATIONS, { ...rest, recordId: reservationId });
}
