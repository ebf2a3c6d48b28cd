/**
 * Stock over time: how many copies of a catalog entry are committed at each instant of a range,
 * computed by the database in one statement, and the pure rules read off it. Source: issue 16.
 *
 * A **commitment** holds one or more units of an entry over a half-open range `[s, e)`:
 * - a holding reservation (`solicitada`/`confirmada`): `quantity` units over
 *   `[startsAt, blocksUntil)` (`blocksUntil = endsAt + buffer`);
 * - an approved loan: one unit from its approval until its due date plus the buffer of the
 *   reservation policy of its borrower's role and the entry's category (0 without one) — and, once
 *   overdue, for ever (a copy out overdue is not counted as available);
 * - a hold whose copy is set aside for its borrower (`lista`): one unit until its pickup deadline.
 *
 * **Capacity** is the number of the entry's copies that can be lent: `disponible` or `prestado`
 * (a copy in maintenance, lost or withdrawn is not counted). A range can take `n` more units when
 * at every instant of it the committed units plus `n` stay within capacity.
 *
 * @module
 */
import { sql } from 'kysely';
import { instantParam, type StoredInstant, type SwlKysely, toInstant, toInt } from '../kernel/db.ts';

/** Far future for an overdue loan's end: the largest JavaScript date (SQLite stores milliseconds). */
const FOREVER_MS = 8_640_000_000_000_000;

/** One step of the committed stock: from `at` until the next step's `at` (or the range's end). */
export interface StockStep {
  /** Start of the step (UTC). */
  at: Date;
  /** Units committed during the step. */
  booked: number;
}

/** The committed stock of an entry over a range. */
export interface StockTimeline {
  /** Copies that can be lent (`disponible` or `prestado`). */
  capacity: number;
  /** The steps, first at the range's start, each where the committed units change. */
  steps: StockStep[];
}

/** What {@link readStockTimeline} reads. */
export interface TimelineQuery {
  catalogEntryId: number;
  /** Range start (inclusive), UTC. */
  from: Date;
  /** Range end (exclusive), UTC. */
  to: Date;
  /** The command's instant: a loan due before it is overdue (committed for ever). */
  now: Date;
  /** A reservation not to count (the one being re-checked), or 0. */
  excludeReservationId?: number;
  /** A loan not to count (the one being renewed), or 0. */
  excludeLoanId?: number;
}

/**
 * The committed units of an entry at every change within `[from, to)`, and its capacity — one
 * statement on the command's transaction.
 */
export async function readStockTimeline(
  db: SwlKysely,
  postgres: boolean,
  q: TimelineQuery,
): Promise<StockTimeline> {
  const from = instantParam(postgres, q.from);
  const to = instantParam(postgres, q.to);
  const now = instantParam(postgres, q.now);
  const exR = q.excludeReservationId ?? 0;
  const exL = q.excludeLoanId ?? 0;
  const E = q.catalogEntryId;
  const loanEnd = postgres
    ? sql`case when l.due_date < ${now} then 'infinity'::timestamptz else l.due_date + make_interval(mins => coalesce(p.buffer_minutes, 0)) end`
    : sql`case when l.due_date < ${now} then ${FOREVER_MS} else l.due_date + coalesce(p.buffer_minutes, 0) * 60000 end`;
  const start = postgres ? sql`${from}::timestamptz` : sql`${from}`;
  const result = await sql<{ at: StoredInstant; booked: number | string; capacity: number | string }>`
    with w as (
      select r.starts_at as s, r.blocks_until as e, r.quantity as n
        from swl_reservation r
       where r.catalog_entry_id = ${E} and r.status in ('solicitada', 'confirmada') and r.id <> ${exR}
         and r.starts_at < ${to} and r.blocks_until > ${from}
      union all
      select l.approval_date as s, ${loanEnd} as e, 1 as n
        from swl_loan l
        join swl_user u on u.id = l.borrower_id
        join swl_catalog c on c.id = l.catalog_entry_id
        left join swl_reservation_policy p on p.category = c.category and p.role = u.role
       where l.catalog_entry_id = ${E} and l.status = 'aprobado' and l.id <> ${exL}
      union all
      select h.ready_at as s, h.expires_at as e, 1 as n
        from swl_hold h
       where h.catalog_entry_id = ${E} and h.status = 'lista'
    ),
    v as (select s, e, n from w where e > ${from} and s < ${to}),
    t as (
      select ${start} as at
      union select s from v where s > ${from}
      union select e from v where e < ${to}
    )
    select t.at,
           (select coalesce(sum(v.n), 0) from v where v.s <= t.at and v.e > t.at) as booked,
           (select count(*) from swl_item_instance i
             where i.catalog_entry_id = ${E} and i.status in ('disponible', 'prestado')) as capacity
      from t
     order by t.at`.execute(db);
  const rows = result.rows;
  const capacity = rows.length > 0 ? toInt(rows[0]?.capacity ?? 0) : 0;
  return { capacity, steps: rows.map((r) => ({ at: toInstant(r.at), booked: toInt(r.booked) })) };
}

/** The most units committed at any instant of the timeline. */
export function peakBooked(timeline: StockTimeline): number {
  return timeline.steps.reduce((max, s) => Math.max(max, s.booked), 0);
}

/**
 * The first instant at which `extra` more units would exceed capacity, or null when they fit over
 * the whole timeline.
 */
export function firstInstantOver(timeline: StockTimeline, extra: number): Date | null {
  const step = timeline.steps.find((s) => s.booked + extra > timeline.capacity);
  return step ? step.at : null;
}

/** A commitment of one named copy that overlaps a range. */
export interface CopyCommitment {
  kind: 'reservation' | 'loan' | 'hold';
  id: number;
  from: Date;
  until: Date;
}

/**
 * The holding reservations, the approved loan and the `lista` hold of copy `copyId` whose commitment overlaps
 * `[from, to)` (a loan's as in {@link readStockTimeline}), earliest first — one statement.
 */
export async function readCopyCommitments(
  db: SwlKysely,
  postgres: boolean,
  q: {
    copyId: number;
    from: Date;
    to: Date;
    now: Date;
    excludeReservationId?: number;
    excludeLoanId?: number;
  },
): Promise<CopyCommitment[]> {
  const from = instantParam(postgres, q.from);
  const to = instantParam(postgres, q.to);
  const now = instantParam(postgres, q.now);
  const loanEnd = postgres
    ? sql`case when l.due_date < ${now} then 'infinity'::timestamptz else l.due_date + make_interval(mins => coalesce(p.buffer_minutes, 0)) end`
    : sql`case when l.due_date < ${now} then ${FOREVER_MS} else l.due_date + coalesce(p.buffer_minutes, 0) * 60000 end`;
  const result = await sql<{
    kind: CopyCommitment['kind'];
    id: number | string;
    s: StoredInstant;
    e: StoredInstant;
  }>`
    select * from (
      select 'reservation' as kind, r.id, r.starts_at as s, r.blocks_until as e
        from swl_reservation r
       where r.instance_id = ${q.copyId} and r.status in ('solicitada', 'confirmada')
         and r.id <> ${q.excludeReservationId ?? 0}
      union all
      select 'loan' as kind, l.id, l.approval_date as s, ${loanEnd} as e
        from swl_loan l
        join swl_user u on u.id = l.borrower_id
        join swl_catalog c on c.id = l.catalog_entry_id
        left join swl_reservation_policy p on p.category = c.category and p.role = u.role
       where l.instance_id = ${q.copyId} and l.status = 'aprobado' and l.id <> ${q.excludeLoanId ?? 0}
      union all
      select 'hold' as kind, h.id, h.ready_at as s, h.expires_at as e
        from swl_hold h
       where h.instance_id = ${q.copyId} and h.status = 'lista'
    ) x
    where x.s < ${to} and x.e > ${from}
    order by x.s`.execute(db);
  return result.rows.map((r) => ({
    kind: r.kind,
    id: toInt(r.id),
    from: toInstant(r.s),
    until: r.e === 'infinity' ? new Date(FOREVER_MS) : toInstant(r.e),
  }));
}

/** Locks the entry's row on PostgreSQL (`FOR UPDATE`); false when it does not exist. @internal */
export async function lockEntry(db: SwlKysely, postgres: boolean, catalogEntryId: number): Promise<boolean> {
  let q = db.selectFrom('swl_catalog').select('id').where('id', '=', catalogEntryId);
  if (postgres) q = q.forUpdate();
  return (await q.executeTakeFirst()) !== undefined;
}
