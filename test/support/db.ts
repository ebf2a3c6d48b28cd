/**
 * Runs test suites once per SQL dialect against real databases.
 *
 * SQLite: a fresh file under the system temp directory, through {@link SwlSqliteDialect}.
 * PostgreSQL: a fresh database on the server from the global setup.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MikroORM, type Options } from '@mikro-orm/core';
import { Migrator } from '@mikro-orm/migrations';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { SqliteDriver } from '@mikro-orm/sql';
import pg from 'pg';
import { describe, inject } from 'vitest';
import { SWL_DIALECTS, type SwlDialect, swlMigrations } from '../../migrations/index.ts';
import { swlEntities } from '../../src/entities/index.ts';
import { SwlSqliteDialect } from '../../src/sqlite.ts';

export { SWL_DIALECTS, type SwlDialect };

/** A database made for one test (file or PostgreSQL database) and how to get rid of it. */
export interface ScratchDatabase {
  dialect: SwlDialect;
  /** SQLite file path, or PostgreSQL connection URL. */
  location: string;
  /** ORM options for this database with the package's entities and migrations. */
  options(extra?: Partial<Options>): Options;
  drop(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: inject('postgresUrl') });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

function baseOptions(dialect: SwlDialect): Partial<Options> {
  return {
    entities: [...swlEntities],
    extensions: [Migrator],
    migrations: {
      migrationsList: swlMigrations(dialect),
      snapshot: false,
      allOrNothing: dialect === 'postgresql',
      silent: true,
    },
    allowGlobalContext: false,
    debug: process.env.SWL_TEST_SQL_DEBUG === '1',
  };
}

/** Creates an empty database of the dialect. */
export async function createScratchDatabase(dialect: SwlDialect): Promise<ScratchDatabase> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'swl-test-sqlite-'));
    const file = join(dir, 'test.db');
    return {
      dialect,
      location: file,
      options: (extra = {}) =>
        ({
          ...baseOptions(dialect),
          driver: SqliteDriver,
          dbName: file,
          driverOptions: new SwlSqliteDialect(file),
          ...extra,
        }) as Options,
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const name = `swl_test_${randomBytes(6).toString('hex')}`;
  await adminQuery(`create database "${name}"`);
  const url = withDatabase(inject('postgresUrl'), name);
  return {
    dialect,
    location: url,
    options: (extra = {}) =>
      ({
        ...baseOptions(dialect),
        driver: PostgreSqlDriver,
        clientUrl: url,
        pool: { min: 0, max: 30 },
        ...extra,
      }) as Options,
    drop: () => adminQuery(`drop database if exists "${name}" with (force)`),
  };
}

/** An ORM on a new scratch database, optionally migrated to the latest schema. */
export interface TestOrm {
  orm: MikroORM;
  db: ScratchDatabase;
  close(): Promise<void>;
}

/** Opens an ORM on a fresh database of `dialect`; runs all migrations unless `migrate` is false. */
export async function openTestOrm(
  dialect: SwlDialect,
  { migrate = true, extra }: { migrate?: boolean; extra?: Partial<Options> } = {},
): Promise<TestOrm> {
  const db = await createScratchDatabase(dialect);
  const orm = await MikroORM.init(db.options(extra));
  if (migrate) {
    await orm.migrator.up();
  }
  return {
    orm,
    db,
    close: async () => {
      await orm.close(true);
      await db.drop();
    },
  };
}

/**
 * Declares the suite once per dialect: `[sqlite] title` and `[postgresql] title`, so the test
 * output shows both ran.
 */
export function describeEachDialect(title: string, body: (dialect: SwlDialect) => void): void {
  for (const dialect of SWL_DIALECTS) {
    describe(`[${dialect}] ${title}`, () => body(dialect));
  }
}
