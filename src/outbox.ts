/**
 * The outbox: a reader of the four event tables — `swl_loan_event`, `swl_instance_event`,
 * `swl_reservation_event` and `swl_hold_event` — that hands a host every committed event exactly
 * once, in the shape the {@link SwlEventBus} publishes, from a cursor the host saves. Source:
 * issue 10, defect 3 ("the documented outbox loses events"); issue 16 (reservations and holds).
 *
 * Why not "poll by increasing id": ids are taken when a row is inserted, but rows become visible
 * when their transaction commits, and on PostgreSQL transactions commit in any order. A host
 * transaction that inserted event 2 and is still open while event 3 commits makes an
 * `id > lastSeen` poller see 3, move its cursor past 2, and never see 2 (measured: 134 of 2,490
 * events missed with 8 concurrent command streams).
 *
 * What the reader uses instead, on PostgreSQL: every event row carries the id of the transaction
 * that wrote it (`tx_id`, `pg_current_xact_id()`), and the reader delivers an event only when
 * `tx_id` is below the `xmin` of a current snapshot (`pg_snapshot_xmin(pg_current_snapshot())`),
 * the lowest transaction id still in progress: every transaction with a lower id has ended
 * (committed or rolled back), and a transaction that gets an id later gets a larger one, so no
 * event below `xmin` can appear afterwards. See the PostgreSQL documentation, "Functions and
 * Operators › System Information Functions › Transaction ID and Snapshot Information Functions"
 * (`pg_current_xact_id`, `pg_current_snapshot`, `pg_snapshot_xmin`).
 * On SQLite writers are serialized by the database's single write lock, so the id order is the
 * commit order and the reader simply continues after the last id of each table.
 *
 * The cursor is `v2.<low>.<high>.<loanId>.<copyId>.<reservationId>.<holdId>`: the
 * {@link SwlOutboxPosition}, each number in lowercase base 36 without leading zeros
 * (`n.toString(36)`). Base 36 keeps the promise of at most 64 characters made when the cursor
 * covered two tables: in decimal, two 64-bit transaction ids and four ids up to 2³¹ − 1 take up to
 * 80 characters; in base 36 at most 54 (11 + 11 + 4 × 6 and the separators), so a host column
 * sized for a `v1` cursor holds a `v2` one.
 *
 * Cursors saved before reservation and hold events were read, `v1.<low>.<high>.<loanId>.<copyId>`
 * (decimal), are still accepted, read as reservation and hold ids 0 in the same window; every
 * read returns a `v2` cursor. Why that is exact for a `v1` cursor saved while the two tables were
 * absent or empty: on SQLite there are no windows, and id 0 delivers every row of the two tables.
 * On PostgreSQL, a reservation or hold event of a transaction that had already ended when the
 * cursor's window was opened would have been visible when the cursor was made — but the tables
 * were empty; so every such event comes from a transaction still running then (its id ≥ that
 * snapshot's xmin, the window's `high`) or begun later (a larger id still). It lies in a later
 * window, never below `low` (the part a cursor marks as delivered), and "none of this window's
 * reservation or hold events delivered" is true. The one case this does not cover: a reader of
 * an earlier version left running beside writers of this one during a rolling upgrade, so that a
 * `v1` cursor was saved after reservation or hold events had committed; on PostgreSQL that cursor
 * skips those with `tx_id < low`. Upgrade the readers first (or together with the writers), or
 * restart such a reader without a cursor and skip the events already handled by (`kind`, `id`).
 *
 * @module
 */
import type { EntityManager } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/sql';
import { z } from 'zod';
import { toCopyChangeEvent } from './catalog/views.ts';
import { isPostgres } from './db/dialect.ts';
import { CopyEvent } from './entities/copy-event.entity.ts';
import { HoldEvent } from './entities/hold-event.entity.ts';
import { LoanEvent } from './entities/loan-event.entity.ts';
import { ReservationEvent } from './entities/reservation-event.entity.ts';
import { SwlError } from './errors.ts';
import type { SwlDomainEvent, SwlEventBus } from './events.ts';
import { toHoldTransitionEvent } from './holds/views.ts';
import { parseInput } from './internal/service-base.ts';
import { toSwlError } from './internal/translate-error.ts';
import { toLoanTransitionEvent } from './loans/views.ts';
import { toReservationTransitionEvent } from './reservations/views.ts';
import { MAX_ID } from './validation.ts';

/**
 * Where a reader stands (the decoded cursor). Transaction ids are PostgreSQL `xid8` values
 * (64-bit, epoch-extended); `low`/`high` are 0 on SQLite.
 *
 * - every event with `tx_id < low` has been delivered;
 * - of the events with `low ≤ tx_id < high` (the current "window", all of whose transactions had
 *   ended when it was opened), those with `id ≤ loanId` (`swl_loan_event`), `id ≤ copyId`
 *   (`swl_instance_event`, the copy events), `id ≤ reservationId` (`swl_reservation_event`) and
 *   `id ≤ holdId` (`swl_hold_event`) have been delivered.
 *
 * A `v1` cursor (from before reservation and hold events were read) decodes with
 * `reservationId` and `holdId` 0 in its window: see the module comment of src/outbox.ts for why.
 */
export interface SwlOutboxPosition {
  low: number;
  high: number;
  loanId: number;
  copyId: number;
  reservationId: number;
  holdId: number;
}

/** The fields of a {@link SwlOutboxPosition} that hold one table's last delivered id. */
type IdKey = 'loanId' | 'copyId' | 'reservationId' | 'holdId';

const START: SwlOutboxPosition = { low: 0, high: 0, loanId: 0, copyId: 0, reservationId: 0, holdId: 0 };

/** A decimal integer without leading zeros, of at most `digits` digits (a `v1` field). */
const dec = (digits: number) => `(0|[1-9]\\d{0,${digits - 1}})`;
/** A lowercase base-36 integer without leading zeros, of at most 11 digits (a `v2` field). */
const B36 = '(0|[1-9a-z][0-9a-z]{0,10})';
/** `v1.<low>.<high>.<loanId>.<copyId>`, decimal: accepted, no longer issued. */
const V1_PATTERN = new RegExp(`^v1\\.${dec(16)}\\.${dec(16)}\\.${dec(10)}\\.${dec(10)}$`);
/** `v2.<low>.<high>.<loanId>.<copyId>.<reservationId>.<holdId>`, base 36: what `read` returns. */
const V2_PATTERN = new RegExp(`^v2${`\\.${B36}`.repeat(6)}$`);
/** Either version. */
const CURSOR_PATTERN = new RegExp(`${V1_PATTERN.source}|${V2_PATTERN.source}`);

/** The `v2` cursor of a position. */
function encodeCursor(p: SwlOutboxPosition): string {
  const fields = [p.low, p.high, p.loanId, p.copyId, p.reservationId, p.holdId];
  return `v2.${fields.map((n) => n.toString(36)).join('.')}`;
}

/**
 * The position of a string that matched {@link CURSOR_PATTERN} (the schema checks the ranges
 * after). A `v1` cursor gets `reservationId` and `holdId` 0.
 */
function decodeCursor(s: string): SwlOutboxPosition {
  const v1 = V1_PATTERN.exec(s);
  const [low = 0, high = 0, loanId = 0, copyId = 0, reservationId = 0, holdId = 0] = v1
    ? v1.slice(1).map(Number)
    : (V2_PATTERN.exec(s) ?? []).slice(1).map((n) => Number.parseInt(n, 36));
  return { low, high, loanId, copyId, reservationId, holdId };
}

const CursorSchema = z
  .string()
  .max(64)
  .regex(CURSOR_PATTERN, { message: 'not a cursor returned by SwlOutbox.read' })
  .transform(decodeCursor)
  .refine(
    (p) =>
      Number.isSafeInteger(p.low) &&
      Number.isSafeInteger(p.high) &&
      p.low <= p.high &&
      [p.loanId, p.copyId, p.reservationId, p.holdId].every((id) => id <= MAX_ID),
    { message: 'not a cursor returned by SwlOutbox.read' },
  );

/**
 * Input of {@link SwlOutbox.read}:
 * - `after`: the `cursor` of the previous page, as returned (an opaque string of at most 64
 *   characters: `v2.…`, or a `v1.…` cursor saved by an earlier version, still accepted); omitted,
 *   `undefined` or `null` = from the first event ever written;
 * - `limit`: the most events to return, 1..1000 (default 100).
 *
 * Strict: unknown keys are refused. A malformed cursor or limit is `VALIDATION_FAILED`.
 */
export const SwlOutboxReadInput = z.strictObject({
  after: CursorSchema.nullish(),
  limit: z.number().int().min(1).max(1000).default(100),
});
/** Input of {@link SwlOutbox.read} (before parsing). */
export type SwlOutboxReadInput = z.input<typeof SwlOutboxReadInput>;

/** One page of the outbox: what {@link SwlOutbox.read} returns. */
export interface SwlOutboxPage {
  /**
   * The next committed events after the cursor (at most `limit`), exactly as the
   * {@link SwlEventBus} publishes them (`kind: 'loan'` from `swl_loan_event`, `kind: 'copy'`
   * from `swl_instance_event`, `kind: 'reservation'` from `swl_reservation_event`, `kind: 'hold'`
   * from `swl_hold_event`; `at` a `Date`, `data` an object). May be empty.
   */
  events: SwlDomainEvent[];
  /**
   * Opaque position after these events (`v2.…`, at most 64 characters). Save it with (or after)
   * handling `events` and pass it as `after` next time. It can advance even when `events` is
   * empty (a window of transactions without events was passed): save it anyway.
   */
  cursor: string;
}

/** Transaction id as a JS number: PostgreSQL returns `bigint` as a string. */
function toXid(value: unknown): number {
  const n = typeof value === 'number' ? value : Number(String(value));
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new SwlError('INTERNAL', 'transaction id out of range', { value: String(value) });
  }
  return n;
}

/**
 * Events of the window `[low, high)` on `tx_id` after `afterId`; rows with a NULL `tx_id` count as
 * 0, so they fall in the first window.
 */
function inWindow(p: SwlOutboxPosition, afterId: number) {
  const txId = { $gte: p.low, $lt: p.high };
  return p.low === 0
    ? { $or: [{ txId }, { txId: null }], id: { $gt: afterId } }
    : { txId, id: { $gt: afterId } };
}

/** `pg_snapshot_xmin(pg_current_snapshot())`: the lowest transaction id still in progress. */
async function snapshotXmin(em: EntityManager): Promise<number> {
  const [row] = await (em as unknown as SqlEntityManager).execute<{ xmin: string }[]>(
    'select pg_snapshot_xmin(pg_current_snapshot())::text as xmin',
  );
  return toXid(row?.xmin);
}

/** The where-clause of one table's next events (the same for every event entity). */
type EventWhere = ReturnType<typeof inWindow> | { id: { $gt: number } };

/**
 * One event table: the position field of its last delivered id, and how to read the rows after it
 * as bus events.
 */
interface Source {
  key: IdKey;
  read(em: EntityManager, where: EventWhere, limit: number): Promise<SwlDomainEvent[]>;
}

const BY_ID = { orderBy: { id: 'asc' as const } };

/** The four event tables, in the order their events of one instant are delivered (see {@link take}). */
const SOURCES: readonly Source[] = [
  {
    key: 'copyId',
    read: async (em, where, limit) =>
      (await em.find(CopyEvent, where, { ...BY_ID, limit })).map(toCopyChangeEvent),
  },
  {
    key: 'loanId',
    read: async (em, where, limit) =>
      (await em.find(LoanEvent, where, { ...BY_ID, limit })).map(toLoanTransitionEvent),
  },
  {
    key: 'holdId',
    read: async (em, where, limit) =>
      (await em.find(HoldEvent, where, { ...BY_ID, limit })).map(toHoldTransitionEvent),
  },
  {
    key: 'reservationId',
    read: async (em, where, limit) =>
      (await em.find(ReservationEvent, where, { ...BY_ID, limit })).map(toReservationTransitionEvent),
  },
];

/**
 * Up to `limit` events of each table after the position's ids, each table in id order: one list
 * per {@link SOURCES} entry.
 */
async function fetchWindow(
  em: EntityManager,
  p: SwlOutboxPosition,
  limit: number,
  postgres: boolean,
): Promise<SwlDomainEvent[][]> {
  if (postgres && p.high <= p.low) return SOURCES.map(() => []);
  const lists: SwlDomainEvent[][] = [];
  for (const { key, read } of SOURCES) {
    lists.push(await read(em, postgres ? inWindow(p, p[key]) : { id: { $gt: p[key] } }, limit));
  }
  return lists;
}

/**
 * Merges the id-ordered lists by (`at`, kind, id) — at one instant `copy`, `loan`, `hold`, then
 * `reservation` (the {@link SOURCES} order) — and takes the first `limit`. Each table's taken
 * events are a prefix of its list, so the position moves to the last one taken from each.
 */
function take(
  lists: SwlDomainEvent[][],
  p: SwlOutboxPosition,
  limit: number,
): { events: SwlDomainEvent[]; next: SwlOutboxPosition } {
  const heads = lists.map(() => 0);
  const events: SwlDomainEvent[] = [];
  const next = { ...p };
  while (events.length < limit) {
    // The earliest head; on a tie the earlier source (strict `<`).
    let best: { k: number; event: SwlDomainEvent } | undefined;
    for (const [k, list] of lists.entries()) {
      const event = list[heads[k] ?? 0];
      if (event && (!best || event.at.getTime() < best.event.at.getTime())) best = { k, event };
    }
    const source = best && SOURCES[best.k];
    if (!best || !source) break;
    events.push(best.event);
    next[source.key] = best.event.id;
    heads[best.k] = (heads[best.k] ?? 0) + 1;
  }
  return { events, next };
}

/**
 * Reads the outbox: every committed loan transition, copy status change, reservation transition
 * and hold transition, exactly once, in a commit-order-safe order, from a cursor the host keeps.
 * The durable counterpart of {@link SwlEventBus} (which forgets events a crashed host had not
 * handled yet).
 *
 * Construct it with an EntityManager (`new SwlOutbox(orm.em.fork())`); each `read` works on a
 * fresh fork of it and needs no transaction. Given the EntityManager of an open host transaction,
 * it reads inside that transaction: on PostgreSQL that transaction's own events wait for its
 * commit like any other's; on SQLite (one connection, one writer) it also sees the events that
 * transaction has written but not committed, so save the cursor in that same transaction (a
 * rollback then undoes both) or read after it ends.
 *
 * The host loop:
 * ```ts
 * const outbox = new SwlOutbox(orm.em.fork());
 * let cursor = await loadSavedCursor();            // undefined the first time
 * for (;;) {
 *   const { events, cursor: next } = await outbox.read({ after: cursor, limit: 100 });
 *   await handle(events);                           // idempotently: a crash before save repeats them
 *   await saveCursor(next);                         // may change even when `events` is empty
 *   cursor = next;
 *   if (events.length === 0) await sleep(1000);
 * }
 * ```
 *
 * **Guarantees.** No committed event is ever skipped and none is returned twice along one chain
 * of cursors, whatever order transactions commit in; events of rolled-back commands never appear.
 * Order: window by window; within a window each table in id order, the four merged by `at`, then
 * kind — `copy`, `loan`, `hold`, `reservation` — then id. Within one instant (one command) that
 * is not always the order the bus published them in, which follows the command's writes (a hold
 * pickup publishes the hold's `fulfilled` before the loan it makes; a booking pickup publishes each
 * loan's `requested` before its copy's change): no column records the order of rows across tables.
 * The transitions of one loan come in the order they committed when each command runs in its own
 * transaction: commands on one loan are serialized by its row lock, and a command's transaction
 * id is assigned when it takes that lock, so the later one has the larger id and is never in an
 * earlier window. The same holds for a booking or a hold moved by its own command (each locks
 * the booking's or hold's row first). Inside a host transaction that wrote something before
 * calling the command — and for a hold set aside or released inside another command (a return,
 * a repair, an expiry sweep), whose transaction id was taken by an earlier lock — the transaction
 * id is older than the lock, and a later transition of the same record can come in an earlier
 * window: order such events by their `from`/`to` states (or `at`) where it matters.
 *
 * **Latency (PostgreSQL).** An event is delivered once every transaction that started writing
 * before its own has ended — committed or rolled back. One long-open transaction anywhere on the
 * server (any database, any application, an idle-in-transaction session) therefore delays
 * delivery of newer events until it ends; it never loses them. Keep host transactions short, and
 * consider `idle_in_transaction_session_timeout`.
 *
 * **How (PostgreSQL).** Events are delivered in windows of transaction ids `[low, high)`: a window
 * is opened with `high` = `pg_snapshot_xmin(pg_current_snapshot())`, the oldest transaction id
 * still running, so all transactions of the window have ended and its set of events is final; it
 * is read page by page in id order (each table on its own), then the next window is opened.
 * Events written before the outbox migration have `tx_id` 0; a NULL `tx_id` (a row inserted
 * outside the ORM) is treated as 0 and is delivered only if it is there when the first window is
 * read — insert events through the ORM. A read whose snapshot is older than the cursor's window
 * (a REPEATABLE READ transaction begun before the cursor was made, a lagging replica) returns no
 * events and the same cursor until it catches up. SQLite has one window and ignores `tx_id`.
 *
 * **Cursors.** `v2.…`, six base-36 numbers. A `v1.…` cursor saved by an earlier version (which
 * read loan and copy events only) is still accepted and continues with every reservation and
 * hold event — exact when the readers were upgraded before those tables had rows; see the module
 * comment of src/outbox.ts for a rolling upgrade.
 *
 * A cursor belongs to its database: after restoring a dump into another PostgreSQL cluster
 * (transaction ids start over there) or moving between databases, start again without a cursor
 * and skip the events already handled by their (`kind`, `id`).
 * Source: PostgreSQL docs, "Transaction ID and Snapshot Information Functions"; issue 10, defect 3.
 */
export class SwlOutbox {
  readonly #em: EntityManager;

  /** @param em - the EntityManager to read with (forked for every read). */
  constructor(em: EntityManager) {
    this.#em = em;
  }

  /**
   * The next page of events after `after`.
   *
   * When the current window still has events after the cursor, returns up to `limit` of them;
   * when it is exhausted, opens the next window (the transactions that have ended since) and
   * reads from it in the same call. `events` is empty when nothing new has committed — or when
   * an older transaction is still open (PostgreSQL); the returned `cursor` may still advance.
   *
   * @param input - {@link SwlOutboxReadInput}: `after` (a previous page's cursor), `limit` (1..1000, default 100).
   * @returns {@link SwlOutboxPage}: `events` and the `cursor` to continue from.
   * @throws SwlError `VALIDATION_FAILED` (malformed input or cursor), `UNAVAILABLE` (connection
   *   lost or statement cancelled; retryable, repeat with the same cursor), `INTERNAL`.
   */
  async read(input: SwlOutboxReadInput = {}): Promise<SwlOutboxPage> {
    const parsed = parseInput(SwlOutboxReadInput, input);
    const { limit } = parsed;
    const after = parsed.after ?? START;
    try {
      const em = this.#em.fork({ clear: true, keepTransactionContext: true });
      const postgres = isPostgres(em);
      if (!postgres) {
        const { events, next } = take(await fetchWindow(em, after, limit, false), after, limit);
        return { events, cursor: encodeCursor(next) };
      }
      // The oldest transaction still running, read before the rows: every transaction below it
      // had ended when it was read, so the row queries that follow see all their events (in a
      // REPEATABLE READ host transaction all statements share this one snapshot).
      const xmin = await snapshotXmin(em);
      if (xmin < after.high) {
        // This snapshot is older than the one that opened the cursor's window (a REPEATABLE READ
        // transaction begun earlier, or a lagging replica): it may miss events of the window.
        return { events: [], cursor: encodeCursor(after) };
      }
      let position = after;
      let fetched = await fetchWindow(em, position, limit, true);
      if (fetched.every((list) => list.length === 0) && xmin > position.high) {
        // The window is exhausted: open the next one, up to the oldest transaction still running.
        position = { ...START, low: position.high, high: xmin };
        fetched = await fetchWindow(em, position, limit, true);
      }
      const { events, next } = take(fetched, position, limit);
      return { events, cursor: encodeCursor(next) };
    } catch (error) {
      throw toSwlError(error);
    }
  }
}
