/**
 * The transition step shared by the records that are only a status machine with an event trail —
 * reservations and holds (issue 16): a version-checked update of the record and one event row per
 * transition on the command's write batch, the bus event queued for after the commit. (Loans and
 * copies have their own, with compiled query shapes: `src/loans/transitions.ts`,
 * `src/catalog/copy-transitions.ts`.)
 *
 * @module
 * @internal
 */
import type { SwlDomainEvent } from '../events.ts';
import { instantParam, txIdParam } from './db.ts';
import type { TransitionRow } from './state-machine.ts';
import type { TransitionScope } from './writes.ts';

/** Where a kind of record and its events live, and how an event is published. @internal */
export interface RecordKind {
  /** The records' table (`swl_reservation`). */
  table: 'swl_reservation' | 'swl_hold';
  /** The events' table (`swl_reservation_event`). */
  events: 'swl_reservation_event' | 'swl_hold_event';
  /** The events' column naming the record (`reservation_id`). */
  owner: 'reservation_id' | 'hold_id';
  /** The bus event of one event row. */
  publish(event: {
    id: number;
    recordId: number;
    transition: TransitionRow<string, string, string>;
    actorId: number | null;
    at: Date;
    data: Record<string, unknown>;
  }): SwlDomainEvent;
}

/**
 * Plans the update of record `record` to `transition.to` with `changes` (instants as `Date`; the
 * update carries `where version = ?`: `CONFLICT` when another command changed it) and its event.
 * @returns the record's new version. @internal
 */
export function applyRecordTransition(
  scope: TransitionScope,
  kind: RecordKind,
  move: {
    record: { id: number; version: number };
    transition: TransitionRow<string, string, string>;
    changes: object;
    actorId: number | null;
    at: Date;
    data: Record<string, unknown>;
  },
): number {
  const { record, transition: t, at } = move;
  const set: Record<string, unknown> = { status: t.to, updated_at: instantParam(scope.postgres, at) };
  for (const [column, value] of Object.entries(move.changes)) {
    set[column] = value instanceof Date ? instantParam(scope.postgres, value) : value;
  }
  scope.writes.add({
    table: kind.table,
    kind: 'update',
    // `swl_reservation` stands for either table: both have `id`, `status`, `version`, `updated_at`.
    query: scope.db
      .updateTable(kind.table as 'swl_reservation')
      .set({ ...set, version: (eb) => eb('version', '+', 1) })
      .where('id', '=', record.id)
      .where('version', '=', record.version)
      .returning('id')
      .compile(),
  });
  recordTransitionEvent(scope, kind, {
    recordId: record.id,
    transition: t,
    actorId: move.actorId,
    at,
    data: move.data,
  });
  return record.version + 1;
}

/** Plans the event row of a transition of record `recordId` and queues its publication. @internal */
export function recordTransitionEvent(
  scope: TransitionScope,
  kind: RecordKind,
  event: {
    recordId: number;
    transition: TransitionRow<string, string, string>;
    actorId: number | null;
    at: Date;
    data: Record<string, unknown>;
  },
): void {
  const { transition: t, at } = event;
  scope.writes.add({
    table: kind.events,
    kind: 'insert',
    query: scope.db
      .insertInto(kind.events as 'swl_reservation_event')
      .values({
        [kind.owner]: event.recordId,
        type: t.event,
        from_status: t.from,
        to_status: t.to,
        actor_id: event.actorId,
        at: instantParam(scope.postgres, at),
        data: JSON.stringify(event.data),
        tx_id: txIdParam(scope.postgres),
      } as never)
      .returning('id')
      .compile(),
    onId: (id) => scope.emit(() => kind.publish({ ...event, id })),
  });
}

/** An event row of a loan, booking or hold — its columns as the entities load them. @internal */
export interface TransitionEventRow<Type extends string, Status extends string> {
  id: number;
  type: Type;
  fromStatus?: Status | null;
  toStatus: Status;
  actor?: { id: number } | null;
  at: Date;
  data?: Record<string, unknown> | null;
}

/**
 * The public view of an event row (`LoanEventView`, `ReservationEventView`, `HoldEventView`):
 * `from` and `actorId` null for the first event, `data` null when absent. @internal
 */
export function transitionEventView<Type extends string, Status extends string>(
  event: TransitionEventRow<Type, Status>,
): {
  id: number;
  type: Type;
  from: Status | null;
  to: Status;
  actorId: number | null;
  at: Date;
  data: Record<string, unknown> | null;
} {
  return {
    id: event.id,
    type: event.type,
    from: event.fromStatus ?? null,
    to: event.toStatus,
    actorId: event.actor?.id ?? null,
    at: event.at,
    data: event.data ?? null,
  };
}
