/**
 * The item-instance (copy) state machine as data. Source: DESIGN §4.
 *
 * ```
 * loans only:   disponible ──approve──▶ prestado ──return ok──────▶ disponible
 *                                                 ├─return damaged──▶ mantenimiento
 *                                                 └─return lost─────▶ perdido
 * direct (staff): disponible ──sendToMaintenance──▶ mantenimiento ──repair──▶ disponible
 *                 disponible ──markLost──▶ perdido ──markFound──▶ disponible
 *                 perdido ──sendToMaintenance──▶ mantenimiento
 *                 disponible | mantenimiento | perdido ──withdraw──▶ retirado (terminal)
 * ```
 *
 * `disponible ⇄ prestado` happens only through loans (approve / return). The direct staff
 * operations are `sendToMaintenance`, `repair`, `markLost`, `markFound` and `withdraw`. A copy
 * that is `prestado` cannot be changed directly. `retirado` (withdrawn from circulation, FOLIO's
 * *Withdrawn*, Koha's `withdrawn`) is terminal: the copy stays in the record with its history and
 * is never lent or changed again.
 *
 * @module
 */
import type { InstanceEventType, InstanceStatus } from '../domain/vocabulary.ts';
import { SwlError } from '../errors.ts';

/** One allowed change of a copy's status. */
export interface InstanceTransition {
  from: InstanceStatus;
  to: InstanceStatus;
  /** The `swl_instance_event.type` written for it. */
  event: InstanceEventType;
  /** `loan`: only the loan commands make it; `direct`: a staff operation of `CatalogService`. */
  via: 'loan' | 'direct';
}

/**
 * Every allowed copy status change (DESIGN §4). Anything not listed — including a status to
 * itself (`disponible → disponible`) and any direct change of a `prestado` copy — is refused
 * with `INVALID_TRANSITION`.
 */
export const INSTANCE_TRANSITIONS: readonly InstanceTransition[] = [
  { from: 'disponible', to: 'prestado', event: 'loaned', via: 'loan' },
  { from: 'prestado', to: 'disponible', event: 'returned', via: 'loan' },
  { from: 'prestado', to: 'mantenimiento', event: 'returned', via: 'loan' },
  { from: 'prestado', to: 'perdido', event: 'returned', via: 'loan' },
  { from: 'disponible', to: 'mantenimiento', event: 'sent_to_maintenance', via: 'direct' },
  { from: 'perdido', to: 'mantenimiento', event: 'sent_to_maintenance', via: 'direct' },
  { from: 'mantenimiento', to: 'disponible', event: 'repaired', via: 'direct' },
  { from: 'disponible', to: 'perdido', event: 'marked_lost', via: 'direct' },
  { from: 'perdido', to: 'disponible', event: 'found', via: 'direct' },
  { from: 'disponible', to: 'retirado', event: 'withdrawn', via: 'direct' },
  { from: 'mantenimiento', to: 'retirado', event: 'withdrawn', via: 'direct' },
  { from: 'perdido', to: 'retirado', event: 'withdrawn', via: 'direct' },
];

/**
 * The direct staff operations on a copy and the status each leads to. Which statuses each may
 * start from is read from {@link INSTANCE_TRANSITIONS}.
 */
export const INSTANCE_OPERATIONS = {
  /** `disponible`/`perdido` → `mantenimiento`. */
  sendToMaintenance: 'mantenimiento',
  /** `mantenimiento` → `disponible`. */
  repair: 'disponible',
  /** `disponible` → `perdido` (not found in an inventory check). */
  markLost: 'perdido',
  /** `perdido` → `disponible`. */
  markFound: 'disponible',
  /** `disponible`/`mantenimiento`/`perdido` → `retirado` (withdrawn; terminal). */
  withdraw: 'retirado',
} as const satisfies Record<string, InstanceStatus>;

/** One of the keys of {@link INSTANCE_OPERATIONS}. */
export type InstanceOperation = keyof typeof INSTANCE_OPERATIONS;

/**
 * The event each direct operation records. An operation applies only to the transitions of its
 * own event type, so `markFound` does not take a copy out of maintenance (that is `repair`) and
 * `repair` does not bring back a lost copy (that is `markFound`).
 */
const OPERATION_EVENTS: Readonly<Record<InstanceOperation, InstanceEventType>> = {
  sendToMaintenance: 'sent_to_maintenance',
  repair: 'repaired',
  markLost: 'marked_lost',
  markFound: 'found',
  withdraw: 'withdrawn',
};

/**
 * The transition from `from` to `to`, or `undefined` when none is allowed. With `via`, only
 * transitions of that kind are considered. Pure.
 */
export function findInstanceTransition(
  from: InstanceStatus,
  to: InstanceStatus,
  via?: InstanceTransition['via'],
): InstanceTransition | undefined {
  return INSTANCE_TRANSITIONS.find(
    (t) => t.from === from && t.to === to && (via === undefined || t.via === via),
  );
}

/** True when a copy may go from `from` to `to` (by any means, or only `via` loans / direct operations). */
export function canTransitionInstance(
  from: InstanceStatus,
  to: InstanceStatus,
  via?: InstanceTransition['via'],
): boolean {
  return findInstanceTransition(from, to, via) !== undefined;
}

/** The statuses a copy in status `from` can go to, e.g. `instanceNextStates('perdido', 'direct')` → `['mantenimiento', 'disponible']`. */
export function instanceNextStates(from: InstanceStatus, via?: InstanceTransition['via']): InstanceStatus[] {
  return INSTANCE_TRANSITIONS.filter((t) => t.from === from && (via === undefined || t.via === via)).map(
    (t) => t.to,
  );
}

/**
 * The direct transition `operation` makes from `status`.
 * @throws SwlError `INVALID_TRANSITION` with `details: { entity: 'instance', from, to, operation, instanceId }`
 *   when the operation does not apply (e.g. a `prestado` copy, `repair` of a `disponible` one, or
 *   `markFound` of a copy in `mantenimiento`).
 */
export function assertInstanceOperation(
  operation: InstanceOperation,
  status: InstanceStatus,
  instanceId?: number,
): InstanceTransition {
  const to = INSTANCE_OPERATIONS[operation];
  const transition = INSTANCE_TRANSITIONS.find(
    (t) => t.via === 'direct' && t.from === status && t.to === to && t.event === OPERATION_EVENTS[operation],
  );
  if (!transition) {
    throw SwlError.invalidTransition('instance', status, to, { operation, instanceId });
  }
  return transition;
}
