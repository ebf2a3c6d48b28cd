/**
 * Scratch databases, for the tests and for the benchmarks: an empty SQLite file (through the
 * package's `SwlSqliteDialect`) or a new database on a PostgreSQL server, the MikroORM options for
 * it built the way a host builds them (`swlOrmConfig` with the database's location as
 * `DATABASE_URL`), and how to get rid of it.
 *
 * No vitest in here: `bench/lib/db.ts` uses it outside the test runner, so the PostgreSQL server
 * is a parameter. The tests get theirs (the global setup's server) through `fixtures.ts`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Options } from '@mikro-orm/core';
import pg from 'pg';
import { SWL_DIALECTS, type SwlDialect } from '../../migrations/index.ts';
import { type SwlOrmConfigOptions, swlOrmConfig } from '../../src/config.ts';
import type { SwlSqliteDriverName } from '../../src/sqlite.ts';

export { SWL_DIALECTS, type SwlDialect };

/** What {@link ScratchDatabase.options} passes on to `swlOrmConfig` besides the database. */
export type ScratchOrmConfig = Pick<SwlOrmConfigOptions, 'overrides' | 'sqlite'>;

/** The DATABASE_URL scheme that names each SQLite library (see `resolveDatabase`). */
const SQLITE_URL_SCHEME: Record<SwlSqliteDriverName, string> = {
  'node:sqlite': 'sqlite+node-sqlite',
  '@mikro-orm/sqlite': 'sqlite+better-sqlite3',
};

/** A database made for one suite or one benchmark, and how to get rid of it. */
export interface ScratchDatabase {
  dialect: SwlDialect;
  /** The database's name (PostgreSQL), or the file's name without `.db` (SQLite). */
  name: string;
  /**
   * What `DATABASE_URL` holds for it: `sqlite+<library>:///<file>` (naming the SQLite library of
   * {@link ScratchDatabaseOptions.sqliteDriver}), or the PostgreSQL connection URL. A process
   * given it as `DATABASE_URL` opens the same database with the same library.
   */
  location: string;
  /** SQLite: the database file's path. PostgreSQL: the connection URL (as `location`). */
  file: string;
  /**
   * SQLite: the library that opens the file. A raw connection a test opens beside the ORM must use
   * the same one ({@link openRawSqlite}): two SQLite libraries in one process do not see each
   * other's POSIX locks (sqlite.org/howtocorrupt.html §2.2).
   */
  sqliteDriver: SwlSqliteDriverName;
  /**
   * `swlOrmConfig({ databaseUrl: location, … })`: the package's entities, migrations and seeders
   * for this database. `overrides` are merged over the database's own (see
   * {@link ScratchDatabaseOptions.overrides}); on PostgreSQL a `driverOptions` override replaces
   * `swlOrmConfig`'s, so pass `onPoolCreated: preparePostgresStatements` (or call it from your
   * own `onPoolCreated`) unless you want the plain pool.
   */
  options(config?: ScratchOrmConfig): Promise<Options>;
  /** Removes the file (its folder, when it was made for it) or drops the database. */
  drop(): Promise<void>;
}

export interface ScratchDatabaseOptions {
  /** PostgreSQL: a URL of the server with the right to create databases. Required there. */
  postgresUrl?: string;
  /** Start of the name; a random suffix follows. Default `swl_scratch`. */
  prefix?: string;
  /** SQLite: the folder for the file. Default: a new folder under the system temp directory. */
  dir?: string;
  /** MikroORM options every {@link ScratchDatabase.options} call starts from (e.g. pool, debug). */
  overrides?: Partial<Options>;
  /** SQLite: the library that opens the file. Default `'node:sqlite'`. */
  sqliteDriver?: SwlSqliteDriverName;
}

/** The path of the `better-sqlite3` that `@mikro-orm/sqlite` (and so the package) loads. */
export function betterSqlite3Path(): string {
  const require = createRequire(import.meta.url);
  return createRequire(require.resolve('@mikro-orm/sqlite/package.json')).resolve('better-sqlite3');
}

/** A raw SQLite connection, as far as the tests use one (both libraries have these members). */
export interface RawSqlite {
  exec(sql: string): unknown;
  prepare(sql: string): { run(...params: unknown[]): unknown; all(...params: unknown[]): unknown[] };
  close(): unknown;
}

/**
 * Opens `file` with the SQLite library `driver` names, the one the ORM beside it uses. `timeoutMs`
 * is its busy timeout (default 0: a locked file fails at once).
 */
export function openRawSqlite(file: string, driver: SwlSqliteDriverName, timeoutMs = 0): RawSqlite {
  if (driver === '@mikro-orm/sqlite') {
    const Database = createRequire(import.meta.url)(betterSqlite3Path()) as new (
      file: string,
      options: { timeout: number },
    ) => RawSqlite;
    return new Database(file, { timeout: timeoutMs });
  }
  const { DatabaseSync } = process.getBuiltinModule('node:sqlite') as typeof import('node:sqlite');
  return new DatabaseSync(file, { timeout: timeoutMs }) as unknown as RawSqlite;
}

async function adminQuery(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Creates an empty database of `dialect` (a new SQLite file, or `create database` on the server). */
export async function createScratchDatabase(
  dialect: SwlDialect,
  {
    postgresUrl,
    prefix = 'swl_scratch',
    dir,
    overrides: base = {},
    sqliteDriver = 'node:sqlite',
  }: ScratchDatabaseOptions = {},
): Promise<ScratchDatabase> {
  const name = `${prefix}_${randomBytes(4).toString('hex')}`;
  const options =
    (location: string) =>
    (config: ScratchOrmConfig = {}) =>
      swlOrmConfig({
        databaseUrl: location,
        sqlite: config.sqlite,
        overrides: { ...base, ...config.overrides },
      });
  if (dialect === 'sqlite') {
    const folder = dir ?? mkdtempSync(join(tmpdir(), `${prefix}-`));
    const file = join(folder, `${name}.db`);
    const location = `${SQLITE_URL_SCHEME[sqliteDriver]}://${file}`;
    return {
      dialect,
      name,
      location,
      file,
      sqliteDriver,
      options: options(location),
      drop: async () => {
        if (dir === undefined) rmSync(folder, { recursive: true, force: true });
        else for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
      },
    };
  }
  if (!postgresUrl) throw new Error('a PostgreSQL scratch database needs the server URL (postgresUrl)');
  await adminQuery(postgresUrl, `create database "${name}"`);
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  return {
    dialect,
    name,
    location: url.toString(),
    file: url.toString(),
    sqliteDriver,
    options: options(url.toString()),
    drop: () => adminQuery(postgresUrl, `drop database if exists "${name}" with (force)`),
  };
}
