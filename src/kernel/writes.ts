/**
 * The writes of one command, run together: on SQLite one statement after another (the command
 * already holds the write lock from `BEGIN IMMEDIATE`), on PostgreSQL as one statement of
 * data-modifying common table expressions (one round trip for every row a transition touches).
 *
 * Every write returns the `id` of its row. An update must change exactly one row — it carries its
 * version check (`where id = ? and version = ?`) — or the command fails with `CONFLICT`; an
 * insert's new id must fit the id ceiling (`CAPACITY_EXCEEDED`, `src/internal/id-ceiling.ts`).
 * Either error is thrown before the command commits, so it rolls back every write of the batch.
 *
 * Source: PostgreSQL manual, "Data-Modifying Statements in WITH" (§7.8.4): each runs exactly once
 * and to completion whether or not the main query reads its output.
 *
 * @module
 */
import { CompiledQuery } from 'kysely';
import { SwlError } from '../errors.ts';
import type { SwlDomainEvent } from '../events.ts';
import { assertRowIds } from '../internal/id-ceiling.ts';
import type { SwlKysely } from './db.ts';

/** A compiled insert or update that returns the `id` of its row (see `compiled()`, `src/kernel/compiled.ts`). */
export type IdReturningWrite = CompiledQuery<{ id: number | string }>;

/** One planned write. */
export interface PlannedWrite {
  /** The table written, for error details. */
  table: string;
  /** `update`: must change exactly one row (its version check held); `insert`: one new row. */
  kind: 'insert' | 'update';
  /** The statement, with `returning id`. */
  query: IdReturningWrite;
  /** Called with the row's id once the batch has run (e.g. to publish an event row). */
  onId?: (id: number) => void;
}

/** The writes of one command; {@link WriteBatch.run} sends them. */
export class WriteBatch {
  readonly #db: SwlKysely;
  readonly #postgres: boolean;
  #writes: PlannedWrite[] = [];

  constructor(db: SwlKysely, postgres: boolean) {
    this.#db = db;
    this.#postgres = postgres;
  }

  /** Plans a write; nothing is sent before {@link run}. */
  add(write: PlannedWrite): void {
    this.#writes.push(write);
  }

  /**
   * Sends the planned writes (in order on SQLite; one statement on PostgreSQL) and empties the batch.
   * @throws SwlError `CONFLICT` (an update's version check failed), `CAPACITY_EXCEEDED`; driver errors
   *   as the driver raised them (the command pipeline translates them).
   */
  async run(): Promise<void> {
    const writes = this.#writes;
    this.#writes = [];
    if (writes.length === 0) return;
    let ids: Array<number | null>;
    if (this.#postgres && writes.length > 1) {
      // One statement: `with w0 as (…), w1 as (…) select (select id from w0) as w0, …`, each
      // write's placeholders renumbered after the ones before it.
      const parameters: unknown[] = [];
      const parts = writes.map((w, i) => {
        const offset = parameters.length;
        parameters.push(...w.query.parameters);
        return `w${i} as (${w.query.sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`)})`;
      });
      const selects = writes.map((_, i) => `(select id from w${i}) as w${i}`);
      const text = `with ${parts.join(', ')} select ${selects.join(', ')}`;
      const result = await this.#db.executeQuery<Record<string, number | string | null>>(
        CompiledQuery.raw(text, parameters),
      );
      const row = result.rows[0] ?? {};
      ids = writes.map((_, i) => toId(row[`w${i}`]));
    } else {
      ids = [];
      for (const w of writes) ids.push(toId((await this.#db.executeQuery(w.query)).rows[0]?.id));
    }
    for (const [i, w] of writes.entries()) {
      const id = ids[i];
      if (id === null || id === undefined) {
        throw new SwlError('CONFLICT', 'the record was changed by a concurrent command; try again', {
          table: w.table,
        });
      }
      if (w.kind === 'insert') assertRowIds(w.table, [id]);
    }
    for (const [i, w] of writes.entries()) w.onId?.(ids[i] as number);
  }
}

/** What a transition function needs of its command: the transaction, the dialect, the batch and the event queue. */
export interface TransitionScope {
  /** Kysely on the command's transaction. */
  db: SwlKysely;
  /** True on PostgreSQL. */
  postgres: boolean;
  /** The command's writes, sent by `writes.run()`. */
  writes: WriteBatch;
  /** Queues a domain event for publication after the outermost commit. */
  emit(event: () => SwlDomainEvent): void;
}

function toId(value: number | string | null | undefined): number | null {
  return value === null || value === undefined ? null : Number(value);
}
