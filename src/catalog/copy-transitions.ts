/**
 * The copy state machine as data. Source: docs/DESIGN.md §4.
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
import { type CopyEventType, CopyStatus } from '../domain/vocabulary.ts';
import { SwlError } from '../errors.ts';

/** One allowed change of a copy's status. */
export interface CopyTransition {
  from: CopyStatus;
  to: CopyStatus;
  /** The `swl_instance_event.type` written for it. */
  event: CopyEventType;
  /** `loan`: only the loan commands make it; `direct`: a staff operation of `CatalogService`. */
  via: 'loan' | 'direct';
}

/**
 * Every allowed copy status change (docs/DESIGN.md §4). Anything not listed — including a status to
 * itself (`disponible → disponible`) and any direct change of a `prestado` copy — is refused
 * with `INVALID_TRANSITION`.
 */
export const COPY_TRANSITIONS: readonly CopyTransition[] = [
  { from: CopyStatus.Available, to: CopyStatus.OnLoan, event: 'loaned', via: 'loan' },
  { from: CopyStatus.OnLoan, to: CopyStatus.Available, event: 'returned', via: 'loan' },
  { from: CopyStatus.OnLoan, to: CopyStatus.Maintenance, event: 'returned', via: 'loan' },
  { from: CopyStatus.OnLoan, to: CopyStatus.Lost, event: 'returned', via: 'loan' },
  { from: CopyStatus.Available, to: CopyStatus.Maintenance, event: 'sent_to_maintenance', via: 'direct' },
  { from: CopyStatus.Lost, to: CopyStatus.Maintenance, event: 'sent_to_maintenance', via: 'direct' },
  { from: CopyStatus.Maintenance, to: CopyStatus.Available, event: 'repaired', via: 'direct' },
  { from: CopyStatus.Available, to: CopyStatus.Lost, event: 'marked_lost', via: 'direct' },
  { from: CopyStatus.Lost, to: CopyStatus.Available, event: 'found', via: 'direct' },
  { from: CopyStatus.Available, to: CopyStatus.Withdrawn, event: 'withdrawn', via: 'direct' },
  { from: CopyStatus.Maintenance, to: CopyStatus.Withdrawn, event: 'withdrawn', via: 'direct' },
  { from: CopyStatus.Lost, to: CopyStatus.Withdrawn, event: 'withdrawn', via: 'direct' },
];

/**
 * The direct staff operations on a copy and the status each leads to. Which statuses each may
 * start from is read from {@link COPY_TRANSITIONS}.
 */
export const COPY_OPERATIONS = {
  /** `disponible`/`perdido` → `mantenimiento`. */
  sendToMaintenance: CopyStatus.Maintenance,
  /** `mantenimiento` → `disponible`. */
  repair: CopyStatus.Available,
  /** `disponible` → `perdido` (not found in an inventory check). */
  markLost: CopyStatus.Lost,
  /** `perdido` → `disponible`. */
  markFound: CopyStatus.Available,
  /** `disponible`/`mantenimiento`/`perdido` → `retirado` (withdrawn; terminal). */
  withdraw: CopyStatus.Withdrawn,
} as const satisfies Record<string, CopyStatus>;

/** One of the keys of {@link COPY_OPERATIONS}. */
export type CopyOperation = keyof typeof COPY_OPERATIONS;

/**
 * The event each direct operation records. An operation applies only to the transitions of its
 * own event type, so `markFound` does not take a copy out of maintenance (that is `repair`) and
 * `repair` does not bring back a lost copy (that is `markFound`).
 */
const OPERATION_EVENTS: Readonly<Record<CopyOperation, CopyEventType>> = {
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
export function findCopyTransition(
  from: CopyStatus,
  to: CopyStatus,
  via?: CopyTransition['via'],
): CopyTransition | undefined {
  return COPY_TRANSITIONS.find((t) => t.from === from && t.to === to && (via === undefined || t.via === via));
}

/** True when a copy may go from `from` to `to` (by any means, or only `via` loans / direct operations). */
export function canTransitionCopy(from: CopyStatus, to: CopyStatus, via?: CopyTransition['via']): boolean {
  return findCopyTransition(from, to, via) !== undefined;
}

/** The statuses a copy in status `from` can go to, e.g. `copyNextStates('perdido', 'direct')` → `['mantenimiento', 'disponible']`. */
export function copyNextStates(from: CopyStatus, via?: CopyTransition['via']): CopyStatus[] {
  return COPY_TRANSITIONS.filter((t) => t.from === from && (via === undefined || t.via === via)).map(
    (t) => t.to,
  );
}

/**
 * The direct transition `operation` makes from `status`.
 * @throws SwlError `INVALID_TRANSITION` with `details: { entity: 'copy', from, to, operation, copyId }`
 *   when the operation does not apply (e.g. a `prestado` copy, `repair` of a `disponible` one, or
 *   `markFound` of a copy in `mantenimiento`).
 */
export function assertCopyOperation(
  operation: CopyOperation,
  status: CopyStatus,
  copyId?: number,
): CopyTransition {
  const to = COPY_OPERATIONS[operation];
  const transition = COPY_TRANSITIONS.find(
    (t) => t.via === 'direct' && t.from === status && t.to === to && t.event === OPERATION_EVENTS[operation],
  );
  if (!transition) {
    throw SwlError.invalidTransition('copy', status, to, { operation, copyId });
  }
  return transition;
}
