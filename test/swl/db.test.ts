/**
 * `swl db …` run as an operator runs it: the installed tarball's executable as a child process,
 * on every database. Upgrade / current / history, downgrade (one, `--to`, refused without `--yes`
 * and no terminal), check (clean, then drift made by raw SQL), stamp (the "table already exists"
 * case, and refused on a schema that differs). Source: issue 14.
 *
 * The scenarios are independent (each on its own new database) and run concurrently, so the
 * child processes of the three databases overlap.
 */
import { MikroORM } from '@mikro-orm/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { swlMigrations } from '../../migrations/index.ts';
import {
  createTestDatabase,
  describeEachDialect,
  type ScratchDatabase,
  type SwlDialect,
  type TestDatabase,
} from '../support/fixtures.ts';
import { type InstalledPackage, installedPackage, swl } from '../support/installed-package.ts';

let pkg: InstalledPackage;
beforeAll(async () => {
  pkg = await installedPackage();
}, 300_000);

/** Runs raw SQL on `db` through an ORM of its own (the test's, not the child's). */
async function sql(db: ScratchDatabase, ...statements: string[]): Promise<void> {
  const orm = await MikroORM.init(await db.options());
  try {
    for (const s of statements) await orm.em.getConnection().execute(s);
  } finally {
    await orm.close(true);
  }
}

/** A new database of the running suite's kind, `swl` on it, and raw SQL beside it. */
async function scratch(dialect: SwlDialect, database: TestDatabase) {
  const db = await createTestDatabase(dialect, database.sqliteDriver ?? 'node:sqlite');
  const env = { DATABASE_URL: db.location };
  const run = (...args: string[]) => swl(pkg, args, { env });
  const json = async (...args: string[]) => {
    const r = await run(...args, '--json');
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return JSON.parse(r.stdout);
  };
  return { db, run, json };
}

/**
 * Migrates `db` in the test process (faster than a child process, and not what these tests are
 * about), then runs `statements`.
 */
async function migrated(db: ScratchDatabase, ...statements: string[]): Promise<void> {
  const orm = await MikroORM.init(await db.options());
  try {
    await orm.migrator.up();
    for (const s of statements) await orm.em.getConnection().execute(s);
  } finally {
    await orm.close(true);
  }
}

describe.concurrent('swl db', () => {
  describeEachDialect('swl db', (dialect, database) => {
    const names = swlMigrations(dialect).map((m) => m.name as string);
    const first = names[0] as string;
    const last = names.at(-1) as string;

    it('upgrade on an empty database applies every migration; current and history show them', async () => {
      const { db, json } = await scratch(dialect, database);
      try {
        expect(await json('db', 'current')).toMatchObject({ current: null, applied: 0, pending: names });
        expect((await json('db', 'upgrade')).applied).toEqual(names);
        const current = await json('db', 'current');
        expect(current).toMatchObject({ current: last, applied: names.length, pending: [] });
        expect(Date.parse(current.appliedAt)).not.toBeNaN();
        const { migrations } = await json('db', 'history');
        expect(migrations.map((m: { name: string }) => m.name)).toEqual(names);
        for (const m of migrations) {
          expect(m).toMatchObject({ status: 'applied', appliedAt: expect.any(String) });
        }
      } finally {
        await db.drop();
      }
    });

    it('downgrade: refused without --yes and no terminal (exit 2); the last one; --to; upgrade back', async () => {
      const { db, run, json } = await scratch(dialect, database);
      try {
        await migrated(db);
        const refused = await run('db', 'downgrade');
        expect(refused.code).toBe(2);
        expect(refused.stderr).toContain('pass --yes');

        // the refusal changed nothing: the last migration is still the one to revert
        expect((await json('db', 'downgrade', '--yes')).reverted).toEqual([last]);

        const bogus = await run('db', 'downgrade', '--to', 'Swl00000000000000_nope', '--yes');
        expect(bogus.code).toBe(2);
        expect(bogus.stderr).toContain('not an applied migration');

        expect((await json('db', 'downgrade', '--to', first, '--yes')).reverted).toEqual(
          names.slice(1, -1).reverse(),
        );
        const { migrations } = await json('db', 'history');
        expect(migrations.map((m: { status: string }) => m.status)).toEqual(
          names.map((_, i) => (i === 0 ? 'applied' : 'pending')),
        );
        expect((await json('db', 'upgrade')).applied).toEqual(names.slice(1));
      } finally {
        await db.drop();
      }
    });

    it('check: exit 0 when the schema matches; exit 1 naming the drift made by raw SQL; stamp then refuses', async () => {
      const { db, run, json } = await scratch(dialect, database);
      try {
        await migrated(db);
        const clean = await run('db', 'check');
        expect(clean.code, clean.stdout + clean.stderr).toBe(0);
        expect(clean.stdout).toContain('schema: matches the entities');

        await sql(
          db,
          'drop index swl_catalog_category_index',
          'alter table swl_user add column nickname varchar(30)',
          // and the records gone, for stamp below
          'delete from mikro_orm_migrations',
        );
        const drift = await run('db', 'check');
        expect(drift.code).toBe(1);
        expect(drift.stdout).toContain('swl_catalog: missing index swl_catalog_category_index');
        expect(drift.stdout).toContain('swl_user: unexpected column nickname');
        expect(drift.stdout).toMatch(/create index .*swl_catalog_category_index/);
        expect(drift.stderr).toMatch(/^swl: the schema differs from the entities \(2 differences\)$/m);

        const stamp = await run('db', 'stamp');
        expect(stamp.code).toBe(1);
        expect(stamp.stdout).toContain('stamp refused');
        expect(stamp.stdout).toContain('swl_user: unexpected column nickname');
        expect(stamp.stderr).toContain('nothing stamped');
        expect(await json('db', 'current')).toMatchObject({ current: null, pending: names });
      } finally {
        await db.drop();
      }
    });

    it('stamp records the migrations of a database whose tables exist ("table already exists"); upgrade then applies nothing', async () => {
      const { db, run, json } = await scratch(dialect, database);
      try {
        await migrated(db, 'delete from mikro_orm_migrations');
        // The legacy failure: the tables are there, the records are not.
        const failing = await run('db', 'upgrade');
        expect(failing.code).toBe(1);
        expect(failing.stderr).toMatch(/^swl: [A-Z_]+: /);

        expect(await json('db', 'stamp')).toMatchObject({ ok: true, stamped: names, differences: [] });
        expect((await json('db', 'upgrade')).applied).toEqual([]);
      } finally {
        await db.drop();
      }
    });
  });
});
