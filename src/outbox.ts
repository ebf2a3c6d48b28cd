/**
 * The outbox: a reader of `swl_loan_event` and `swl_instance_event` that hands a host every
 * committed event exactly once, in the shape the {@link SwlEventBus} publishes, from a cursor the
 * host saves. Source: issue 10, defect 3 ("the documented outbox loses events").
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
 * @module
 */
import type { EntityManager } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/sql';
import { z } from 'zod';
import { toCopyChangeEvent } from './catalog/views.ts';
import { isPostgres } from './db/dialect.ts';
import { CopyEvent } from './entities/copy-event.entity.ts';
import { LoanEvent } from './entities/loan-event.entity.ts';
import { SwlError } from './errors.ts';
import type { SwlDomainEvent, SwlEventBus } from './events.ts';
import { parseInput } from './internal/service-base.ts';
import { toSwlError } from './internal/translate-error.ts';
import { toLoanTransitionEvent } from './loans/views.ts';
import { MAX_ID } from './validation.ts';

/**
 * Where a reader stands (the decoded cursor). Transaction ids are PostgreSQL `xid8` values
 * (64-bit, epoch-extended); `low`/`high` are 0 on SQLite.
 *
 * - every event with `tx_id < low` has been delivered;
 * - of the events with `low ≤ tx_id < high` (the current "window", all of whose transactions had
 *   ended when it was opened), those with `id ≤ loanId` (`swl_loan_event`) and `id ≤ copyId`
 *   (`swl_instance_event`, the copy events) have been delivered.
 */
export interface SwlOutboxPosition {
  low: number;
  high: number;
  loanId: number;
  copyId: number;
}

const START: SwlOutboxPosition = { low: 0, high: 0, loanId: 0, copyId: 0 };

/** `v1.<low>.<high>.<loanId>.<copyId>`, decimal integers without leading zeros. */
const CURSOR_PATTERN = /^v1\.(0|[1-9]\d{0,15})\.(0|[1-9]\d{0,15})\.(0|[1-9]\d{0,9})\.(0|[1-9]\d{0,9})$/;

function encodeCursor(p: SwlOutboxPosition): string {
  return `v1.${p.low}.${p.high}.${p.loanId}.${p.copyId}`;
}

const CursorSchema = z
  .string()
  .max(64)
  .regex(CURSOR_PATTERN, { message: 'not a cursor returned by SwlOutbox.read' })
  .transform((s): SwlOutboxPosition => {
    const [, low, high, loanId, copyId] = (CURSOR_PATTERN.exec(s) ?? []).map(Number);
    return { low: low ?? 0, high: high ?? 0, loanId: loanId ?? 0, copyId: copyId ?? 0 };
  })
  .refine(
    (p) =>
      Number.isSafeInteger(p.low) &&
      Number.isSafeInteger(p.high) &&
      p.low <= p.high &&
      p.loanId <= MAX_ID &&
      p.copyId <= MAX_ID,
    { message: 'not a cursor returned by SwlOutbox.read' },
  );

/**
 * Input of {@link SwlOutbox.read}:
 * - `after`: the `cursor` of the previous page, as returned (an opaque string of at most 64
 *   characters); omitted, `undefined` or `null` = from the first event ever written;
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
   * from `swl_instance_event`; `at` a `Date`, `data` an object). May be empty.
   */
  events: SwlDomainEvent[];
  /**
   * Opaque position after these events (`v1.…`, at most 64 characters). Save it with (or after)
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

type Fetched = { loans: LoanEvent[]; copies: CopyEvent[] };

/** Up to `limit` events of each table after the position's ids, each table in id order. */
async function fetchWindow(
  em: EntityManager,
  p: SwlOutboxPosition,
  limit: number,
  postgres: boolean,
): Promise<Fetched> {
  if (postgres && p.high <= p.low) return { loans: [], copies: [] };
  const options = { orderBy: { id: 'asc' as const }, limit };
  const loans = await em.find(
    LoanEvent,
    postgres ? inWindow(p, p.loanId) : { id: { $gt: p.loanId } },
    options,
  );
  const copies = await em.find(
    CopyEvent,
    postgres ? inWindow(p, p.copyId) : { id: { $gt: p.copyId } },
    options,
  );
  return { loans, copies };
}

/**
 * Merges the two id-ordered lists by (`at`, kind, id) — `copy` before `loan` at the same
 * instant, the order in which a command emits them — and takes the first `limit`. Each table's
 * taken events are a prefix of its list, so the position moves to the last one taken from each.
 */
function take(
  fetched: Fetched,
  p: SwlOutboxPosition,
  limit: number,
): { events: SwlDomainEvent[]; next: SwlOutboxPosition } {
  const loans = fetched.loans.map(toLoanTransitionEvent);
  const copies = fetched.copies.map(toCopyChangeEvent);
  const events: SwlDomainEvent[] = [];
  const next = { ...p };
  let l = 0;
  let i = 0;
  while (events.length < limit && (l < loans.length || i < copies.length)) {
    const loan = loans[l];
    const copy = copies[i];
    const copyFirst = copy !== undefined && (loan === undefined || copy.at.getTime() <= loan.at.getTime());
    if (copyFirst) {
      events.push(copy);
      next.copyId = copy.id;
      i += 1;
    } else if (loan !== undefined) {
      events.push(loan);
      next.loanId = loan.id;
      l += 1;
    }
  }
  return { events, next };
}

/**
 * Reads the outbox: every committed loan transition and copy status change, exactly once, in a
 * commit-order-safe order, from a cursor the host keeps. The durable counterpart of
 * {@link SwlEventBus} (which forgets events a crashed host had not handled yet).
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
 * Order: window by window; within a window each table in id order, the two merged by `at`, then
 * kind (`copy` before `loan`, as a command emits them), then id. The transitions of one loan
 * come in the order they committed when each command runs in its own transaction: commands on one
 * loan are serialized by its row lock, and a command's transaction id is assigned when it takes
 * that lock, so the later one has the larger id and is never in an earlier window. Inside a host
 * transaction that wrote something before calling the command, the transaction id is older than
 * the lock, and a later transition of the same loan can come in an earlier window: order such
 * events by their `from`/`to` states (or `at`) where it matters.
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
      if (fetched.loans.length === 0 && fetched.copies.length === 0 && xmin > position.high) {
        // The window is exhausted: open the next one, up to the oldest transaction still running.
        position = { low: position.high, high: xmin, loanId: 0, copyId: 0 };
        fetched = await fetchWindow(em, position, limit, true);
      }
      const { events, next } = take(fetched, position, limit);
      return { events, cursor: encodeCursor(next) };
    } catch (error) {
      throw toSwlError(error);
    }
  }
}
