/**
 * A plain connection to a SQLite file with the library the desk uses (`node:sqlite` or
 * `better-sqlite3` through `@mikro-orm/sqlite`; two SQLite libraries in one process do not see
 * each other's POSIX locks, sqlite.org/howtocorrupt.html §2.2), for what the ORM's connection
 * cannot do: a deferred read transaction that does not hold the write lock (`swl export`), and
 * SQLite's online backup API (`swl backup`, `swl restore`).
 *
 * Source: issue 14; Node `sqlite.backup()` (node:sqlite, Node ≥ 23.8/22.16); better-sqlite3
 * `Database#backup()`; sqlite.org/backup.html.
 *
 * @module
 * @internal
 */
import { loadBetterSqlite3, type SwlSqliteDriverName } from '../../sqlite.ts';

/** The statement members both libraries have. */
export interface NativeStatement {
  all(...params: unknown[]): unknown[];
  get(...params: unknown[]): unknown;
  run(...params: unknown[]): unknown;
}

/** An open SQLite file. */
export interface NativeSqlite {
  readonly driver: SwlSqliteDriverName;
  exec(sql: string): void;
  prepare(sql: string): NativeStatement;
  close(): void;
  /**
   * Copies this database to `file` with SQLite's online backup API, all pages in one step, so the
   * copy is one consistent moment even while other connections write (a copy in several steps
   * starts again whenever another connection writes). `progress` gets (done, total) pages.
   */
  backupTo(file: string, progress?: (done: number, total: number) => void): Promise<void>;
}

interface RawDb {
  exec(sql: string): unknown;
  prepare(sql: string): NativeStatement;
  close(): unknown;
  backup?(
    file: string,
    options: { progress?: (info: { totalPages: number; remainingPages: number }) => number | undefined },
  ): Promise<unknown>;
}

/** Pages per backup step: all of them (SQLite's limit is a 32-bit count). */
const ALL_PAGES = 0x7fffffff;

/** Opens `file` with `driver`; `busyTimeoutMs` as the desk's (default 5000). */
export function openNativeSqlite(
  file: string,
  driver: SwlSqliteDriverName,
  options: { readOnly?: boolean; busyTimeoutMs?: number } = {},
): NativeSqlite {
  const timeout = options.busyTimeoutMs ?? 5000;
  let db: RawDb;
  let backupTo: NativeSqlite['backupTo'];
  if (driver === '@mikro-orm/sqlite') {
    const Database =
      loadBetterSqlite3<
        new (
          file: string,
          options: { timeout: number; readonly?: boolean; fileMustExist?: boolean },
        ) => RawDb
      >();
    db = new Database(file, {
      timeout,
      readonly: options.readOnly ?? false,
      fileMustExist: options.readOnly ?? false,
    });
    backupTo = async (target, progress) => {
      await db.backup?.(target, {
        progress: ({ totalPages, remainingPages }) => {
          progress?.(totalPages - remainingPages, totalPages);
          return ALL_PAGES;
        },
      });
    };
  } else {
    const sqlite = process.getBuiltinModule('node:sqlite') as typeof import('node:sqlite');
    const nodeDb = new sqlite.DatabaseSync(file, { timeout, readOnly: options.readOnly ?? false });
    db = nodeDb as unknown as RawDb;
    backupTo = async (target, progress) => {
      await sqlite.backup(nodeDb, target, {
        rate: ALL_PAGES,
        progress: ({ totalPages, remainingPages }) => progress?.(totalPages - remainingPages, totalPages),
      });
    };
  }
  db.exec(`pragma busy_timeout = ${Math.trunc(timeout)}`);
  return {
    driver,
    exec: (sql) => {
      db.exec(sql);
    },
    prepare: (sql) => db.prepare(sql),
    close: () => {
      db.close();
    },
    backupTo,
  };
}

/** `"name"` quoted as an SQL identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The tables of a SQLite file (not SQLite's own). */
export function sqliteTables(db: NativeSqlite): string[] {
  return (
    db
      .prepare(
        "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name",
      )
      .all() as {
      name: string;
    }[]
  ).map((r) => r.name);
}

/** `pragma integrity_check`: the problems found (empty when the file is sound). */
export function integrityProblems(db: NativeSqlite): string[] {
  const rows = db.prepare('pragma integrity_check').all() as Record<string, unknown>[];
  const lines = rows.map((r) => String(Object.values(r)[0]));
  return lines.length === 1 && lines[0] === 'ok' ? [] : lines;
}
