/**
 * The copy state machine as data, and the one function through which a copy's status changes.
 * The catalog module owns it: the loan commands lend and check in copies through
 * {@link applyCopyTransition} too, and it checks their moves against the same table.
 * Source: `docs/DESIGN.md` §4.
 *
 * ```
 * loans only:   disponible ──lend──▶ prestado ──checkIn ok──────▶ disponible
 *                                              ├─checkIn damaged──▶ mantenimiento
 *                                              └─checkIn lost─────▶ perdido
 * direct (staff): disponible ──sendToMaintenance──▶ mantenimiento ──repair──▶ disponible
 *                 disponible ──markLost──▶ perdido ──markFound──▶ disponible
 *                 perdido ──sendToMaintenance──▶ mantenimiento
 *                 disponible | mantenimiento | perdido ──withdraw──▶ retirado (terminal)
 * ```
 *
 * `disponible ⇄ prestado` happens only through loans (approve / return). A copy that is
 * `prestado` cannot be changed directly. `retirado` (withdrawn from circulation, FOLIO's
 * *Withdrawn*, Koha's `withdrawn`) is terminal: the copy stays in the record with its history and
 * is never lent or changed again.
 *
 * @module
 */
import { COPY_STATUSES, type CopyEventType, CopyStatus } from '../domain/vocabulary.ts';
import { SwlError } from '../errors.ts';
import { compiled } from '../kernel/compiled.ts';
import { instantParam, txIdParam } from '../kernel/db.ts';
import { StateMachine, type TransitionRow } from '../kernel/state-machine.ts';
import type { TransitionScope } from '../kernel/writes.ts';

const { Available, OnLoan, Maintenance, Lost, Withdrawn } = CopyStatus;

/** The direct staff operations on a copy (`CatalogService`). */
export type CopyOperation = 'sendToMaintenance' | 'repair' | 'markLost' | 'markFound' | 'withdraw';

/** Every command that creates or moves a copy: `create`, the loan-driven `lend`/`checkIn`, and the {@link CopyOperation}s. */
export type CopyCommand = 'create' | 'lend' | 'checkIn' | CopyOperation;

/** One allowed change of a copy's status. */
export interface CopyTransition extends TransitionRow<CopyStatus, CopyCommand, CopyEventType> {
  /** `loan`: only the loan commands make it; `direct`: a staff operation of `CatalogService` (or the copy's creation). */
  readonly via: 'loan' | 'direct';
}

/**
 * Every allowed copy status change (`docs/DESIGN.md` §4). Anything not listed — including a
 * status to itself (`disponible → disponible`) and any direct change of a `prestado` copy — is
 * refused with `INVALID_TRANSITION`. An operation applies only to its own rows, so `markFound`
 * does not take a copy out of maintenance (that is `repair`) and `repair` does not bring back a
 * lost copy (that is `markFound`).
 */
export const COPY_TRANSITIONS: readonly CopyTransition[] = [
  { command: 'create', from: null, to: Available, event: 'created', via: 'direct' },
  { command: 'lend', from: Available, to: OnLoan, event: 'loaned', via: 'loan' },
  { command: 'checkIn', from: OnLoan, to: Available, event: 'returned', via: 'loan' },
  { command: 'checkIn', from: OnLoan, to: Maintenance, event: 'returned', via: 'loan' },
  { command: 'checkIn', from: OnLoan, to: Lost, event: 'returned', via: 'loan' },
  {
    command: 'sendToMaintenance',
    from: Available,
    to: Maintenance,
    event: 'sent_to_maintenance',
    via: 'direct',
  },
  { command: 'sendToMaintenance', from: Lost, to: Maintenance, event: 'sent_to_maintenance', via: 'direct' },
  { command: 'repair', from: Maintenance, to: Available, event: 'repaired', via: 'direct' },
  { command: 'markLost', from: Available, to: Lost, event: 'marked_lost', via: 'direct' },
  { command: 'markFound', from: Lost, to: Available, event: 'found', via: 'direct' },
  { command: 'withdraw', from: Available, to: Withdrawn, event: 'withdrawn', via: 'direct' },
  { command: 'withdraw', from: Maintenance, to: Withdrawn, event: 'withdrawn', via: 'direct' },
  { command: 'withdraw', from: Lost, to: Withdrawn, event: 'withdrawn', via: 'direct' },
];

/** States no command leaves (`retirado`). */
export const TERMINAL_COPY_STATUSES: readonly CopyStatus[] = [Withdrawn];

/**
 * The copy machine over {@link COPY_TRANSITIONS}; checked when the module loads (one creation
 * row, every status reachable from `disponible`, no way out of `retirado`).
 */
export const COPY_MACHINE = new StateMachine<CopyStatus, CopyTransition>({
  name: 'copy',
  states: COPY_STATUSES,
  terminal: TERMINAL_COPY_STATUSES,
  transitions: COPY_TRANSITIONS,
});

/** The direct operations and the status each leads to (read from {@link COPY_TRANSITIONS}). */
export const COPY_OPERATIONS: Readonly<Record<CopyOperation, CopyStatus>> = {
  sendToMaintenance: Maintenance,
  repair: Available,
  markLost: Lost,
  markFound: Available,
  withdraw: Withdrawn,
};

/** The transition from `from` to `to`, or `undefined`; with `via`, only transitions of that kind. */
export function findCopyTransition(
  from: CopyStatus,
  to: CopyStatus,
  via?: CopyTransition['via'],
): CopyTransition | undefined {
  return COPY_TRANSITIONS.find((t) => t.from === from && t.to === to && (via === undefined || t.via === via));
}

/** True when a copy may go from `from` to `to` (by any means, or only `via` loans / direct operations). */
export function canTransitionCopy(from: CopyStatus, to: CopyStatus, via?: CopyTransition['via']): boolean {
  return COPY_MACHINE.canTransition(from, to, via && ((t) => t.via === via));
}

/** The statuses a copy in `from` can go to, e.g. `copyNextStates('perdido', 'direct')` → `['mantenimiento', 'disponible', 'retirado']`. */
export function copyNextStates(from: CopyStatus, via?: CopyTransition['via']): CopyStatus[] {
  return COPY_MACHINE.nextStates(from, via && ((t) => t.via === via));
}

/**
 * The transition `command` makes from `status` (to `to` when the command has several targets).
 * @throws SwlError `INVALID_TRANSITION` with `details: { entity: 'copy', from, to, operation, copyId }`
 *   when it does not apply (e.g. a `prestado` copy, `repair` of a `disponible` one, or
 *   `markFound` of a copy in `mantenimiento`).
 */
export function assertCopyOperation(
  command: Exclude<CopyCommand, 'create'>,
  status: CopyStatus,
  copyId?: number,
  to?: CopyStatus,
): CopyTransition {
  const row = COPY_MACHINE.find(command, status, to);
  if (row) return row;
  const target = to ?? (COPY_TRANSITIONS.find((t) => t.command === command) as CopyTransition).to;
  throw SwlError.invalidTransition('copy', status, target, { operation: command, copyId });
}

/** One move of a copy through {@link applyCopyTransition}. @internal */
export interface CopyMove {
  /** The copy as the command read it (and, on PostgreSQL, locked). */
  copy: { id: number; status: CopyStatus; version: number };
  command: Exclude<CopyCommand, 'create'>;
  /** The target, for a command with several (`checkIn`). */
  to?: CopyStatus;
  /** The copy's new `condition`, when the move records one. */
  condition?: string | null;
  /** The loan that moves it (`lend`, `checkIn`), else null. */
  loanId: number | null;
  actorId: number;
  /** The command's instant (UTC); also the row's new `updated_at`. */
  at: Date;
  /** The event's note. */
  note: string | null;
}

/**
 * The one way a copy's status changes: asserts the move against {@link COPY_TRANSITIONS}, plans
 * the version-checked update and the `swl_instance_event` row of the table's event type on the
 * command's write batch, and queues the event for publication after the outermost commit.
 * @returns the transition made.
 * @throws SwlError `INVALID_TRANSITION` when the command does not apply to the copy's status.
 * @internal
 */
export function applyCopyTransition(scope: TransitionScope, move: CopyMove): CopyTransition {
  const { copy, at, loanId, actorId, note } = move;
  const t = assertCopyOperation(move.command, copy.status, copy.id, move.to);
  const { db, postgres } = scope;
  const stamp = instantParam(postgres, at);
  const withCondition = move.condition !== undefined;
  scope.writes.add({
    table: 'swl_item_instance',
    kind: 'update',
    query: compiled(
      db,
      postgres,
      withCondition ? 'copy.update condition' : 'copy.update',
      [t.to, move.condition ?? null, stamp, copy.id, copy.version],
      (db, status, condition, updated_at, id, version) =>
        db
          .updateTable('swl_item_instance')
          .set({
            status,
            ...(withCondition ? { condition } : {}),
            updated_at,
            version: (eb) => eb('version', '+', 1),
          })
          .where('id', '=', id)
          .where('version', '=', version)
          .returning('id'),
    ),
  });
  scope.writes.add({
    table: 'swl_instance_event',
    kind: 'insert',
    query: compiled(
      db,
      postgres,
      'copy_event.insert',
      [copy.id, t.event, t.from, t.to, loanId, actorId, stamp, note],
      (db, instance_id, type, from_status, to_status, loan_id, actor_id, at, note) =>
        db
          .insertInto('swl_instance_event')
          .values({
            instance_id,
            type,
            from_status,
            to_status,
            loan_id,
            actor_id,
            at,
            note,
            tx_id: txIdParam(postgres),
          })
          .returning('id'),
    ),
    onId: (id) =>
      scope.emit(() => ({
        kind: 'copy',
        id,
        copyId: copy.id,
        type: t.event,
        from: t.from,
        to: t.to,
        loanId,
        actorId,
        at,
        note,
      })),
  });
  return t;
}
