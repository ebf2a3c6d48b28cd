/**
 * Serving the holds queue: when a copy becomes available (checked in `ok`, repaired, found), or a
 * copy set aside is released (its hold cancelled or expired), it is set aside for the first waiting
 * hold of its entry — first come, first served by `placedAt`, then id — with a pickup deadline
 * after the pickup window. Source: issue 16.
 *
 * @module
 * @internal
 */
import { type RawBuilder, sql } from 'kysely';
import { CopyStatus, HoldStatus, type Role } from '../domain/vocabulary.ts';
import { toInt } from '../kernel/db.ts';
import type { TransitionScope } from '../kernel/writes.ts';
import {
  firstInstantOver,
  lockEntry,
  readCopyCommitments,
  readStockTimeline,
} from '../reservations/availability.ts';
import { applyHoldTransition } from './transitions.ts';

/**
 * Pickup window of a hold whose category × role has no booking policy: 48 hours, in minutes.
 * (With a booking policy, its `pickupWindowMinutes` applies.)
 */
export const DEFAULT_HOLD_PICKUP_MINUTES = 48 * 60;

const MINUTE_MS = 60_000;

/**
 * SQL condition: the copy whose id is in column `copyId` (e.g. `i.id`) is not set aside for a hold
 * awaiting pickup — the one spelling of "this copy is the queue's" for every query that picks a
 * copy to lend or to set aside. @internal
 */
export function notSetAside(copyId: string): RawBuilder<boolean> {
  return sql<boolean>`not exists (select 1 from swl_hold sah where sah.instance_id = ${sql.ref(copyId)} and sah.status = ${sql.lit(HoldStatus.AwaitingPickup)})`;
}

/**
 * Sets copy `copy` aside for the first waiting hold of entry `catalogEntryId`, unless no hold
 * waits or the copy is booked (a reservation or another hold needs it before the pickup deadline).
 * Locks the entry's row on PostgreSQL (holds are placed under the same lock) and the hold's.
 * @returns the hold set aside, or null.
 * @internal
 */
export async function serveHolds(
  s: TransitionScope,
  q: { catalogEntryId: number; copyId: number; actorId: number | null; now: Date },
): Promise<{ holdId: number; expiresAt: Date } | null> {
  const { db, postgres } = s;
  await lockEntry(db, postgres, q.catalogEntryId);
  let next = db
    .selectFrom('swl_hold as h')
    .innerJoin('swl_user as u', 'u.id', 'h.borrower_id')
    .innerJoin('swl_catalog as e', 'e.id', 'h.catalog_entry_id')
    .leftJoin('swl_reservation_policy as p', (j) =>
      j.onRef('p.category', '=', 'e.category').onRef('p.role', '=', 'u.role'),
    )
    .select(['h.id', 'h.status', 'h.version', 'h.placed_at', 'u.role', 'p.pickup_window_minutes'])
    .where('h.catalog_entry_id', '=', q.catalogEntryId)
    .where('h.status', '=', HoldStatus.Waiting)
    .orderBy('h.placed_at', 'asc')
    .orderBy('h.id', 'asc')
    .limit(1);
  if (postgres) next = next.forUpdate('h');
  const hold = await next.executeTakeFirst();
  if (!hold) return null;
  // Only a copy on the shelf that no other hold has: anything else is not the queue's to take.
  const copy = await db
    .selectFrom('swl_item_instance as i')
    .select('i.id')
    .where('i.id', '=', q.copyId)
    .where('i.status', '=', CopyStatus.Available)
    .where(notSetAside('i.id'))
    .executeTakeFirst();
  if (!copy) return null;
  const window =
    hold.pickup_window_minutes === null ? DEFAULT_HOLD_PICKUP_MINUTES : toInt(hold.pickup_window_minutes);
  const expiresAt = new Date(q.now.getTime() + window * MINUTE_MS);
  // The copy must be free for the borrower until the deadline: not needed by a booking before it.
  const held = await readCopyCommitments(db, postgres, {
    copyId: q.copyId,
    from: q.now,
    to: expiresAt,
    now: q.now,
  });
  if (held.length > 0) return null;
  const timeline = await readStockTimeline(db, postgres, {
    catalogEntryId: q.catalogEntryId,
    from: q.now,
    to: expiresAt,
    now: q.now,
  });
  if (firstInstantOver(timeline, 1)) return null;
  const id = toInt(hold.id);
  applyHoldTransition(s, {
    hold: { id, status: hold.status, version: toInt(hold.version) },
    command: 'setAside',
    changes: { instance_id: q.copyId, ready_at: q.now, expires_at: expiresAt },
    actorId: q.actorId,
    at: q.now,
    data: { copyId: q.copyId, expiresAt: expiresAt.toISOString(), role: hold.role as Role },
  });
  return { holdId: id, expiresAt };
}

/**
 * A copy set aside for a hold has left the shelf (sent to maintenance, marked lost, withdrawn):
 * the hold goes back to `en_espera` with its place (`placedAt`) unchanged (event `released`), and
 * the first free copy of the entry, if any, is set aside for the queue. Call it after the copy's
 * own move is written. Locks the entry's row on PostgreSQL (the caller already holds it).
 * @returns the hold released, or null when the copy was set aside for none.
 * @internal
 */
export async function releaseSetAside(
  s: TransitionScope,
  q: { catalogEntryId: number; copyId: number; actorId: number | null; now: Date },
): Promise<number | null> {
  const { db, postgres } = s;
  let read = db
    .selectFrom('swl_hold')
    .select(['id', 'status', 'version'])
    .where('instance_id', '=', q.copyId)
    .where('status', '=', HoldStatus.AwaitingPickup);
  if (postgres) read = read.forUpdate();
  const hold = await read.executeTakeFirst();
  if (!hold) return null;
  const id = toInt(hold.id);
  applyHoldTransition(s, {
    hold: { id, status: hold.status, version: toInt(hold.version) },
    command: 'release',
    changes: { instance_id: null, ready_at: null, expires_at: null },
    actorId: q.actorId,
    at: q.now,
    data: { copyId: q.copyId },
  });
  await s.writes.run();
  const free = await db
    .selectFrom('swl_item_instance as i')
    .select('i.id')
    .where('i.catalog_entry_id', '=', q.catalogEntryId)
    .where('i.status', '=', CopyStatus.Available)
    .where(notSetAside('i.id'))
    .orderBy('i.sequence', 'asc')
    .executeTakeFirst();
  if (free) {
    await serveHolds(s, {
      catalogEntryId: q.catalogEntryId,
      copyId: toInt(free.id),
      actorId: q.actorId,
      now: q.now,
    });
    await s.writes.run();
  }
  return id;
}

/** The `lista` hold a copy is set aside for (whatever its deadline: until swept it is the hold's), or null. @internal */
export async function holdSetAsideOn(s: Pick<TransitionScope, 'db'>, copyId: number): Promise<number | null> {
  const row = await s.db
    .selectFrom('swl_hold')
    .select('id')
    .where('instance_id', '=', copyId)
    .where('status', '=', HoldStatus.AwaitingPickup)
    .executeTakeFirst();
  return row ? toInt(row.id) : null;
}
