/**
 * `swl backup` / `swl restore` of a SQLite desk: SQLite's online backup API, whole file, while
 * the desk keeps running; the copy checked (`pragma integrity_check`, migration level, row counts)
 * before it takes the backup's name, and a restore checked the same way against the backup.
 * Source: issue 14; docs/legacy/000_266b31aaf8610e4d.txt "Backup and Restore" (`sqlite3 … .backup`).
 *
 * @module
 * @internal
 */
import { closeSync, existsSync, mkdirSync, openSync, readSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { swlMigrations } from '../../../migrations/index.ts';
import { SwlError } from '../../errors.ts';
import type { SwlSqliteDriverName } from '../../sqlite.ts';
import type { CliContext } from '../context.ts';
import { MIGRATIONS_TABLE, packageMigrations } from './format.ts';
import {
  integrityProblems,
  type NativeSqlite,
  openNativeSqlite,
  quoteIdent,
  sqliteTables,
} from './sqlite-native.ts';

/** The first 16 bytes of every SQLite database file. */
const SQLITE_HEADER = 'SQLite format 3\u0000';

/** Whether `file` starts like a SQLite database. */
export function isSqliteFile(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(16);
    const n = readSync(fd, buffer, 0, 16, 0);
    return n === 16 && buffer.toString('latin1') === SQLITE_HEADER;
  } finally {
    closeSync(fd);
  }
}

/** What a SQLite file holds, as far as backup and restore check it. */
export interface SqliteContents {
  /** The package's migrations applied (the migration level). */
  migrations: string[];
  /** Rows per table (every table but SQLite's own and the migrations table). */
  tables: Record<string, number>;
  totalRows: number;
}

/** Reads the migration level and row counts of an open SQLite file (one read transaction). */
export function sqliteContents(db: NativeSqlite): SqliteContents {
  db.exec('begin');
  try {
    const names = sqliteTables(db);
    const migrations = names.includes(MIGRATIONS_TABLE)
      ? packageMigrations(
          (db.prepare(`select name from ${MIGRATIONS_TABLE} order by id`).all() as { name: string }[]).map(
            (r) => r.name,
          ),
        )
      : [];
    const tables: Record<string, number> = {};
    let totalRows = 0;
    for (const name of names) {
      if (name === MIGRATIONS_TABLE) continue;
      const n = Number(
        (db.prepare(`select count(*) as n from ${quoteIdent(name)}`).get() as { n: number }).n,
      );
      tables[name] = n;
      totalRows += n;
    }
    return { migrations, tables, totalRows };
  } finally {
    db.exec('commit');
  }
}

/** What `swl backup` of a SQLite desk wrote. */
export interface SqliteBackupReport {
  file: string;
  dialect: 'sqlite';
  method: 'sqlite online backup';
  integrity: 'ok';
  migrations: string[];
  tables: Record<string, number>;
  totalRows: number;
}

/**
 * Copies the SQLite `database` to `file` with the online backup API (one step: one consistent
 * moment while other connections write), makes the copy a single self-contained file
 * (`journal_mode = delete`), checks it, and only then gives it the name `file`.
 */
export async function backupSqlite(
  ctx: CliContext,
  database: { file: string; driver: SwlSqliteDriverName },
  file: string,
): Promise<SqliteBackupReport> {
  if (!existsSync(database.file)) {
    throw new SwlError('NOT_FOUND', `there is no SQLite database at ${database.file}`, {
      file: database.file,
    });
  }
  const partial = `${file}.${process.pid}.tmp`;
  rmSync(partial, { force: true });
  const source = openNativeSqlite(database.file, database.driver);
  let bar: { tick(n?: number): void; stop(): void } | undefined;
  let done = 0;
  try {
    await source.backupTo(partial, (pages, total) => {
      bar ??= ctx.progress(total, 'backup');
      bar.tick(pages - done);
      done = pages;
    });
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  } finally {
    bar?.stop();
    source.close();
  }
  try {
    const copy = openNativeSqlite(partial, database.driver);
    let contents: SqliteContents;
    try {
      copy.exec('pragma journal_mode = delete');
      const problems = integrityProblems(copy);
      if (problems.length > 0) {
        throw new SwlError('INTERNAL', 'the backup copy failed pragma integrity_check', {
          problems: problems.slice(0, 10),
        });
      }
      contents = sqliteContents(copy);
    } finally {
      copy.close();
    }
    for (const suffix of ['-wal', '-shm', '-journal']) rmSync(`${partial}${suffix}`, { force: true });
    renameSync(partial, file);
    return { file, dialect: 'sqlite', method: 'sqlite online backup', integrity: 'ok', ...contents };
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  }
}

/** What `swl restore` of a SQLite backup did. */
export interface SqliteRestoreReport {
  file: string;
  into: 'sqlite';
  method: 'sqlite online backup';
  replacedRows: number;
  integrity: 'ok';
  migrations: string[];
  tables: Record<string, number>;
  totalRows: number;
  verified: true;
}

/**
 * Restores the SQLite backup `file` into the SQLite `database` with the online backup API (which
 * writes the target under SQLite's own locks, WAL included — never a file copy over a live
 * database): the backup is checked first (integrity, a migration level this swl knows), a target
 * with rows is replaced only after `confirm`, and the result is checked against the backup.
 * @returns undefined when the user answered no.
 */
export async function restoreSqlite(
  ctx: CliContext,
  database: { file: string; driver: SwlSqliteDriverName },
  file: string,
): Promise<SqliteRestoreReport | undefined> {
  const backup = openNativeSqlite(file, database.driver, { readOnly: true });
  try {
    const problems = integrityProblems(backup);
    if (problems.length > 0) {
      throw new SwlError('VALIDATION_FAILED', 'the backup file is corrupt (pragma integrity_check failed)', {
        file,
        problems: problems.slice(0, 10),
      });
    }
    const expected = sqliteContents(backup);
    const known = swlMigrations('sqlite').map((m) => m.name);
    if (expected.migrations.length === 0 || expected.migrations.some((n, k) => known[k] !== n)) {
      throw new SwlError(
        'VALIDATION_FAILED',
        'the backup is not of an swl database this swl knows (migration level)',
        {
          file,
          migrations: expected.migrations,
          known,
        },
      );
    }
    let replacedRows = 0;
    if (existsSync(database.file)) {
      const target = openNativeSqlite(database.file, database.driver);
      try {
        replacedRows = sqliteContents(target).totalRows;
      } finally {
        target.close();
      }
    }
    if (
      replacedRows > 0 &&
      !(await ctx.confirm(`replace the ${replacedRows} rows of ${database.file} with the backup ${file}?`))
    ) {
      return undefined;
    }
    ctx.throwIfInterrupted();
    mkdirSync(dirname(database.file), { recursive: true });
    let bar: { tick(n?: number): void; stop(): void } | undefined;
    let done = 0;
    try {
      await backup.backupTo(database.file, (pages, total) => {
        bar ??= ctx.progress(total, 'restore');
        bar.tick(pages - done);
        done = pages;
      });
    } finally {
      bar?.stop();
    }
    const restored = openNativeSqlite(database.file, database.driver);
    try {
      const after = integrityProblems(restored);
      if (after.length > 0) {
        throw new SwlError('INTERNAL', 'the restored database failed pragma integrity_check', {
          problems: after.slice(0, 10),
        });
      }
      const got = sqliteContents(restored);
      const same =
        JSON.stringify(got.migrations) === JSON.stringify(expected.migrations) &&
        JSON.stringify(got.tables) === JSON.stringify(expected.tables);
      if (!same) {
        throw new SwlError('INTERNAL', 'the restored database does not hold what the backup holds', {
          expected: expected.tables,
          got: got.tables,
        });
      }
      return {
        file,
        into: 'sqlite',
        method: 'sqlite online backup',
        replacedRows,
        integrity: 'ok',
        ...got,
        verified: true,
      };
    } finally {
      restored.close();
    }
  } finally {
    backup.close();
  }
}
