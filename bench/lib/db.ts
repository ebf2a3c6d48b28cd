/**
 * Scratch databases for the benchmarks (the test harness's, `test/support/db.ts`), ORMs opened the
 * way a host opens them (`openSwlOrm`), and raw connections for the hand-written baselines:
 * node:sqlite through the package's own `SwlSqliteDialect` (same pragmas, `BEGIN IMMEDIATE`) via
 * Kysely, and `pg` on PostgreSQL. Everything created here is registered for clean-up.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MikroORM, Options } from '@mikro-orm/core';
import { CompiledQuery, Kysely } from 'kysely';
import pg from 'pg';
import type { SwlDialect } from '../../migrations/index.ts';
import { openSwlOrm } from '../../src/config.ts';
import { SwlSqliteDialect } from '../../src/sqlite.ts';
import { createScratchDatabase, type ScratchDatabase } from '../../test/support/db.ts';

type Cleanup = () => Promise<void> | void;
const cleanups: Cleanup[] = [];

/** Registers a clean-up step; they run in reverse order in {@link cleanUp}. */
export function onCleanUp(step: Cleanup): void {
  cleanups.push(step);
}

/** Runs every registered clean-up step (last registered first), logging failures. */
export async function cleanUp(): Promise<void> {
  while (cleanups.length > 0) {
    const step = cleanups.pop() as Cleanup;
    try {
      await step();
    } catch (error) {
      console.error('clean-up step failed:', error);
    }
  }
}

let sqliteDir: string | undefined;
function benchDir(): string {
  if (!sqliteDir) {
    const dir = mkdtempSync(join(tmpdir(), 'swl-bench-'));
    sqliteDir = dir;
    const remove = () => rmSync(dir, { recursive: true, force: true });
    onCleanUp(remove);
    // safety net: the files go even if the process exits without running the clean-up
    process.once('exit', remove);
  }
  return sqliteDir;
}

/** Where a scratch database lives: `location` is a SQLite file path or a PostgreSQL URL. */
export type ScratchDb = ScratchDatabase;

/**
 * Creates an empty database (a new SQLite file in the run's folder, or `create database` on the
 * PostgreSQL server) and registers dropping it.
 */
export async function createScratchDb(
  dialect: SwlDialect,
  label: string,
  postgresAdminUrl: string | undefined,
): Promise<ScratchDb> {
  if (dialect === 'postgresql' && !postgresAdminUrl) throw new Error('no PostgreSQL server');
  const db = await createScratchDatabase(dialect, {
    postgresUrl: postgresAdminUrl,
    prefix: `swl_bench_${label}`,
    ...(dialect === 'sqlite' ? { dir: benchDir() } : {}),
  });
  onCleanUp(db.drop);
  return db;
}

/**
 * Opens the package's ORM on a scratch database with `openSwlOrm` (what hosts get), runs the
 * package's migrations, and registers `orm.close()`.
 */
export async function openBenchOrm(db: ScratchDb, overrides: Partial<Options> = {}): Promise<MikroORM> {
  const orm = await openSwlOrm({
    databaseUrl: db.location,
    overrides: {
      ...(db.dialect === 'postgresql' ? { pool: { min: 1, max: 16 } } : {}),
      ...overrides,
    },
  });
  onCleanUp(() => closeOrm(orm));
  await orm.migrator.up();
  return orm;
}

const closedOrms = new WeakSet<MikroORM>();
/** Closes an ORM once (a second call, e.g. from the clean-up, does nothing). */
export async function closeOrm(orm: MikroORM): Promise<void> {
  if (closedOrms.has(orm)) return;
  closedOrms.add(orm);
  await orm.close(true);
}

/** Result of a raw statement. */
export interface RawResult<T> {
  rows: T[];
  /** Rows changed by an insert/update/delete. */
  changes: number;
}

/** A raw connection (or transaction) for hand-written SQL. Placeholders are `?` on both dialects. */
export interface RawSql {
  readonly dialect: SwlDialect;
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<RawResult<T>>;
}

/** A raw database handle: statements, and transactions as the services open them. */
export interface RawDb extends RawSql {
  /** Runs `body` in one transaction (`BEGIN IMMEDIATE` on SQLite, `BEGIN` on PostgreSQL). */
  transaction<T>(body: (tx: RawSql) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const pgPlaceholders = new Map<string, string>();
/** `?` → `$1, $2, …` (cached; the benchmark's SQL has no `?` inside literals). */
function toPg(sql: string): string {
  let out = pgPlaceholders.get(sql);
  if (out === undefined) {
    let n = 0;
    out = sql.replace(/\?/g, () => `$${++n}`);
    pgPlaceholders.set(sql, out);
  }
  return out;
}

/** SQLite values: dates as epoch milliseconds (as MikroORM 7 stores them), booleans as 0/1. */
function sqliteValue(value: unknown): unknown {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value;
}

/** Opens a raw handle on a scratch database; `poolSize` only matters on PostgreSQL. */
export function openRaw(db: ScratchDb, poolSize = 2): RawDb {
  if (db.dialect === 'sqlite') {
    const kysely = new Kysely<unknown>({ dialect: new SwlSqliteDialect(db.file) });
    const on = (executor: Pick<Kysely<unknown>, 'executeQuery'>): RawSql => ({
      dialect: 'sqlite',
      async query<T>(sql: string, params: readonly unknown[] = []) {
        const result = await executor.executeQuery<T>(CompiledQuery.raw(sql, params.map(sqliteValue)));
        return { rows: result.rows as T[], changes: Number(result.numAffectedRows ?? 0n) };
      },
    });
    const base = on(kysely);
    let closed = false;
    const handle: RawDb = {
      ...base,
      transaction: (body) => kysely.transaction().execute((trx) => body(on(trx))),
      close: async () => {
        if (closed) return;
        closed = true;
        await kysely.destroy();
      },
    };
    onCleanUp(handle.close);
    return handle;
  }
  const pool = new pg.Pool({ connectionString: db.location, max: poolSize });
  // an idle client cut off by `drop database … with (force)` must not crash the run
  pool.on('error', () => {});
  const on = (client: pg.Pool | pg.PoolClient): RawSql => ({
    dialect: 'postgresql',
    async query<T>(sql: string, params: readonly unknown[] = []) {
      const result = await client.query(toPg(sql), params as unknown[]);
      return { rows: result.rows as T[], changes: result.rowCount ?? 0 };
    },
  });
  let closed = false;
  const handle: RawDb = {
    ...on(pool),
    async transaction(body) {
      const client = await pool.connect();
      try {
        await client.query('begin');
        const result = await body(on(client));
        await client.query('commit');
        return result;
      } catch (error) {
        await client.query('rollback').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
  onCleanUp(handle.close);
  return handle;
}
