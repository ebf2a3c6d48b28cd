/**
 * A second, raw connection that holds a lock the way another process or a host transaction would:
 * on PostgreSQL a transaction that has run `statements` (e.g. `select … for update`), on SQLite a
 * `BEGIN IMMEDIATE` transaction (the file's write lock), plus `statements`. `waitUntilBlocked`
 * resolves once another session waits on it (PostgreSQL: a backend waiting on a lock; SQLite: a
 * short fixed delay, as SQLite has no view of waiters). The SQLite holder runs in a worker thread:
 * `node:sqlite` waits for a busy lock synchronously, which would otherwise stop this thread too.
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { betterSqlite3Path, type ScratchDatabase } from './db.ts';

export interface HeldLock {
  /**
   * Once another session waits for this one and `ms` more have passed (PostgreSQL; default 0), or
   * after `ms` (SQLite, default 300, counted in the holder's own thread, since the waiting
   * `node:sqlite` call blocks this one), runs `steps` and then ends the transaction with `how`.
   * Start it before the command that will wait.
   */
  finishWhenBlocked(
    steps: Array<[string, unknown[]?]>,
    how: 'commit' | 'rollback',
    ms?: number,
  ): Promise<void>;
  /** Ends the holding transaction: `commit` or `rollback`. */
  release(how: 'commit' | 'rollback'): Promise<void>;
  /** Resolves when another session waits for this one (PostgreSQL), or after `ms` (SQLite). */
  waitUntilBlocked(ms?: number): Promise<void>;
  /** Runs a statement on the holding connection (`?` placeholders become `$n` on PostgreSQL). */
  run(sql: string, params?: unknown[]): Promise<void>;
}

export async function holdLock(
  db: ScratchDatabase,
  statements: Array<[string, unknown[]?]> = [],
): Promise<HeldLock> {
  if (db.dialect === 'sqlite') return holdSqliteLock(db, statements);
  const client = new pg.Client({ connectionString: db.location });
  client.on('error', () => {});
  await client.connect();
  const pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid;
  await client.query('begin');
  const run = async (sql: string, params: unknown[] = []) => {
    let n = 0;
    await client.query(
      sql.replace(/\?/g, () => `$${++n}`),
      params,
    );
  };
  for (const [sql, params] of statements) await run(sql, params);
  const waitUntilBlocked = async () => {
    // pg_stat_activity is a snapshot per transaction: ask from a connection of its own.
    const watcher = new pg.Client({ connectionString: db.location });
    await watcher.connect();
    try {
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        const r = await watcher.query(
          `select 1 from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock' and pid <> $1`,
          [pid],
        );
        if (r.rowCount) return;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error('nobody waited for the held lock');
    } finally {
      await watcher.end();
    }
  };
  const release = async (how: 'commit' | 'rollback') => {
    await client.query(how);
    await client.end();
  };
  return {
    finishWhenBlocked: async (steps, how, ms = 0) => {
      await waitUntilBlocked();
      await new Promise((resolve) => setTimeout(resolve, ms));
      for (const [sql, params] of steps) await run(sql, params);
      await release(how);
    },
    run,
    release,
    waitUntilBlocked,
  };
}

/** The worker that holds SQLite's write lock: runs what it is sent, answers `ok` or the error. */
const SQLITE_HOLDER = `
const { parentPort, workerData } = require('node:worker_threads');
// The ORM's own SQLite library: another library in this process would not see its locks.
const db = workerData.betterSqlite3
  ? new (require(workerData.betterSqlite3))(workerData.file)
  : new (require('node:sqlite').DatabaseSync)(workerData.file);
const run = (sql, params) => { if (params) db.prepare(sql).run(...params); else db.exec(sql); };
parentPort.on('message', ({ sql, params, later }) => {
  if (later) {
    setTimeout(() => {
      try {
        for (const [s, p] of later.steps) run(s, p);
        run(later.how);
        parentPort.postMessage({ ok: true });
      } catch (error) {
        parentPort.postMessage({ ok: false, message: String(error && error.message) });
      }
      db.close(); parentPort.close();
    }, later.ms);
    return;
  }
  try {
    run(sql, params);
    parentPort.postMessage({ ok: true });
  } catch (error) {
    parentPort.postMessage({ ok: false, message: String(error && error.message) });
  }
  if (sql === 'commit' || sql === 'rollback') { db.close(); parentPort.close(); }
});
`;

async function holdSqliteLock(
  database: ScratchDatabase,
  statements: Array<[string, unknown[]?]>,
): Promise<HeldLock> {
  const betterSqlite3 = database.sqliteDriver === '@mikro-orm/sqlite' ? betterSqlite3Path() : undefined;
  const worker = new Worker(SQLITE_HOLDER, {
    eval: true,
    workerData: { file: database.file, betterSqlite3 },
  });
  const send = async (sql: string, params?: unknown[]) => {
    const answer = once(worker, 'message');
    worker.postMessage({ sql, params });
    const [reply] = (await answer) as [{ ok: boolean; message?: string }];
    if (!reply.ok) throw new Error(`SQLite holder: ${reply.message}`);
  };
  await send('begin immediate');
  for (const [sql, params] of statements) await send(sql, params ?? []);
  return {
    finishWhenBlocked: async (steps, how, ms = 300) => {
      const answer = once(worker, 'message');
      worker.postMessage({ later: { steps: steps.map(([sql, p]) => [sql, p ?? []]), how, ms } });
      const [reply] = (await answer) as [{ ok: boolean; message?: string }];
      await worker.terminate();
      if (!reply.ok) throw new Error(`SQLite holder: ${reply.message}`);
    },
    run: (sql, params = []) => send(sql, params),
    release: async (how) => {
      await send(how);
      await worker.terminate();
    },
    waitUntilBlocked: (ms = 300) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}
