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
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Options } from '@mikro-orm/core';
import pg from 'pg';
import { SWL_DIALECTS, type SwlDialect } from '../../migrations/index.ts';
import { type SwlOrmConfigOptions, swlOrmConfig } from '../../src/config.ts';

export { SWL_DIALECTS, type SwlDialect };

/** What {@link ScratchDatabase.options} passes on to `swlOrmConfig` besides the database. */
export type ScratchOrmConfig = Pick<SwlOrmConfigOptions, 'overrides' | 'sqlite'>;

/** A database made for one suite or one benchmark, and how to get rid of it. */
export interface ScratchDatabase {
  dialect: SwlDialect;
  /** The database's name (PostgreSQL), or the file's name without `.db` (SQLite). */
  name: string;
  /** SQLite file path, or PostgreSQL connection URL: what `DATABASE_URL` would hold. */
  location: string;
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
  { postgresUrl, prefix = 'swl_scratch', dir, overrides: base = {} }: ScratchDatabaseOptions = {},
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
    return {
      dialect,
      name,
      location: file,
      options: options(file),
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
    options: options(url.toString()),
    drop: () => adminQuery(postgresUrl, `drop database if exists "${name}" with (force)`),
  };
}
