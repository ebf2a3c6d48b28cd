/**
 * The hold state machine as data, and the one function through which a hold's status changes.
 * Source: issue 16 (holds queue); the shape of `src/loans/transitions.ts`.
 *
 * ```
 *           place            setAside ▶              fulfill
 *  (none) ─────────▶ en_espera ◀──────────▶ lista ──────────────▶ cumplida
 *                        │      ◀ release     │  │
 *                 cancel │             cancel │  └── expire ──▶ vencida
 *                        ▼                    ▼
 *                    cancelada            cancelada
 * ```
 *
 * @module
 */
import { HOLD_STATUSES, type HoldEventType, HoldStatus } from '../domain/vocabulary.ts';
import { SwlError } from '../errors.ts';
import { applyRecordTransition, type RecordKind, recordTransitionEvent } from '../kernel/records.ts';
import { StateMachine, type TransitionRow } from '../kernel/state-machine.ts';
import type { TransitionScope } from '../kernel/writes.ts';

const { Waiting, AwaitingPickup, Fulfilled, Cancelled, Expired } = HoldStatus;

/** The commands that move a hold. */
export type HoldCommand = 'place' | 'setAside' | 'release' | 'fulfill' | 'cancel' | 'expire';

/** One row of {@link HOLD_TRANSITIONS}. */
export type HoldTransition = TransitionRow<HoldStatus, HoldCommand, HoldEventType>;

/** Every hold transition (anything not listed is refused with `INVALID_TRANSITION`). */
export const HOLD_TRANSITIONS: readonly HoldTransition[] = [
  { command: 'place', from: null, to: Waiting, event: 'placed' },
  { command: 'setAside', from: Waiting, to: AwaitingPickup, event: 'ready' },
  { command: 'release', from: AwaitingPickup, to: Waiting, event: 'released' },
  { command: 'fulfill', from: AwaitingPickup, to: Fulfilled, event: 'fulfilled' },
  { command: 'cancel', from: Waiting, to: Cancelled, event: 'cancelled' },
  { command: 'cancel', from: AwaitingPickup, to: Cancelled, event: 'cancelled' },
  { command: 'expire', from: AwaitingPickup, to: Expired, event: 'expired' },
];

/** States no command leaves (`cumplida`, `cancelada`, `vencida`). */
export const TERMINAL_HOLD_STATUSES: readonly HoldStatus[] = [Fulfilled, Cancelled, Expired];

/** The hold machine over {@link HOLD_TRANSITIONS}, checked when the module loads. */
export const HOLD_MACHINE = new StateMachine<HoldStatus, HoldTransition>({
  name: 'hold',
  states: HOLD_STATUSES,
  terminal: TERMINAL_HOLD_STATUSES,
  transitions: HOLD_TRANSITIONS,
});

/**
 * The transition `command` makes from `status`.
 * @throws SwlError `INVALID_TRANSITION` with `details: { entity: 'hold', from, to, command, holdId }`.
 */
export function assertHoldCommand(command: HoldCommand, status: HoldStatus, holdId?: number): HoldTransition {
  const row = HOLD_MACHINE.find(command, status);
  if (row) return row;
  const to = (HOLD_TRANSITIONS.find((t) => t.command === command) as HoldTransition).to;
  throw SwlError.invalidTransition('hold', status, to, { command, holdId });
}

/** Where holds and their events live; their bus event (`kind: 'hold'`). */
const HOLDS: RecordKind = {
  table: 'swl_hold',
  events: 'swl_hold_event',
  owner: 'hold_id',
  publish: ({ id, recordId, transition: t, actorId, at, data }) => ({
    kind: 'hold',
    id,
    holdId: recordId,
    type: t.event as HoldEventType,
    from: t.from as HoldStatus | null,
    to: t.to as HoldStatus,
    actorId,
    at,
    data,
  }),
};

/**
 * The one way a hold's status changes: the version-checked update (`CONFLICT` when another command
 * changed it) and its `swl_hold_event` row on the command's write batch, its publication queued
 * (`src/kernel/records.ts`).
 * @returns the new version. @throws SwlError `INVALID_TRANSITION`. @internal
 */
export function applyHoldTransition(
  scope: TransitionScope,
  move: {
    hold: { id: number; status: HoldStatus; version: number };
    command: Exclude<HoldCommand, 'place'>;
    /** Columns to set (instants as `Date`). */
    changes: Record<string, unknown>;
    actorId: number | null;
    at: Date;
    data: Record<string, unknown>;
  },
): number {
  const transition = assertHoldCommand(move.command, move.hold.status, move.hold.id);
  return applyRecordTransition(scope, HOLDS, { ...move, record: move.hold, transition });
}

/** Plans the `swl_hold_event` row of a transition and queues its publication. @internal */
export function recordHoldEvent(
  scope: TransitionScope,
  event: {
    holdId: number;
    transition: HoldTransition;
    actorId: number | null;
    at: Date;
    data: Record<string, unknown>;
  },
): void {
  const { holdId, ...rest } = event;
  recordTransitionEvent(scope, HOLDS, { ...rest, recordId: holdId });
}
