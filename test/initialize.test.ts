import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MikroORM } from '@mikro-orm/core';
import { describe, expect, it } from 'vitest';
import { SwlDatabaseSeeder } from '../seeders/index.ts';
import { CatalogEntry, ItemInstance, LoanPolicy, User } from '../src/entities/index.ts';
import { LoanService } from '../src/loans/loan.service.ts';
import { DEFAULT_INVENTORY } from '../src/seeding/defaults.ts';
import { initializeDatabase } from '../src/seeding/initialize.ts';
import { verifyPassword } from '../src/users/password.ts';
import {
  createTestDatabase,
  describeEachDialect,
  expectSwlError,
  rowCounts,
  useTestOrm,
} from './support/fixtures.ts';

describeEachDialect('initializeDatabase', (dialect) => {
  const t = useTestOrm(dialect, { migrate: false });

  it('migrates an empty database and seeds the admin, the policies and the six items with their copies', async () => {
    const report = await initializeDatabase(t.orm);
    expect(report.migrationsApplied.length).toBeGreaterThan(0);
    expect(report.admin.created).toBe(true);
    expect(report.admin.generatedPassword).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(report.policies).toEqual({ created: 7, existing: 0 });
    expect(report.catalog.created).toEqual(DEFAULT_INVENTORY.map((i) => i.titleOrName));
    expect(report.catalog.copiesCreated).toBe(108);

    const em = t.orm.em.fork();
    const admin = await em.findOneOrFail(User, { documentId: '1000000000' }, { populate: ['passwordHash'] });
    expect(admin).toMatchObject({
      fullName: 'Administrador Principal',
      email: 'admin@biblioteca.com',
      role: 'admin',
      mustChangePassword: true,
    });
    expect(admin.passwordHash).toMatch(/^\$argon2id\$/);
    expect(await verifyPassword(admin.passwordHash, report.admin.generatedPassword as string)).toBe(true);
    expect(await verifyPassword(admin.passwordHash, ['admin', '123'].join(''))).toBe(false); // the original system's default

    const mouse = await em.findOneOrFail(CatalogEntry, { titleOrName: 'Mouse USB' });
    const codes = (
      await em.find(ItemInstance, { catalogEntry: mouse.id }, { orderBy: { sequence: 'asc' } })
    ).map((c) => c.code);
    expect(codes).toHaveLength(50);
    expect(codes[0]).toBe(`MOU-${mouse.id}-1`);
    expect(codes[49]).toBe(`MOU-${mouse.id}-50`);
    const lego = await em.findOneOrFail(CatalogEntry, { titleOrName: 'Kit LEGO Education' });
    expect(lego.category).toBe('premium');
    expect(await em.count(ItemInstance, { catalogEntry: lego.id, status: 'disponible' })).toBe(8);
    expect(await em.count(LoanPolicy, { category: 'premium', role: 'student' })).toBe(0);
  });

  it('a second call changes nothing; so does MikroORM’s own seeder API', async () => {
    const before = await rowCounts(t.orm);
    const again = await initializeDatabase(t.orm, { adminPassword: 'another strong password' });
    expect(again).toMatchObject({
      migrationsApplied: [],
      admin: { created: false, generatedPassword: null },
      policies: { created: 0, existing: 7 },
      catalog: { created: [], copiesCreated: 0 },
    });
    expect(again.catalog.existing).toHaveLength(6);
    await t.orm.seeder.seed(SwlDatabaseSeeder);
    expect(await rowCounts(t.orm)).toEqual(before);
  });

  it('the seeded database lends at once: the admin requests, approves and returns a VideoBeam', async () => {
    const em = t.orm.em.fork();
    const admin = await em.findOneOrFail(User, { documentId: '1000000000' });
    const beam = await em.findOneOrFail(CatalogEntry, { titleOrName: 'VideoBeam' });
    const loans = new LoanService(t.orm.em.fork());
    const actor = { id: admin.id, role: 'admin' as const };
    const loan = await loans.request(actor, { catalogEntryId: beam.id, environment: 'Auditorio' });
    const approved = await loans.approve(actor, { loanId: loan.id });
    expect(approved.copyCode).toBe(`VID-${beam.id}-1`);
    expect((await loans.return(actor, { loanId: loan.id })).status).toBe('devuelto');
  });
});

describeEachDialect('initializeDatabase admin password', (dialect) => {
  it('uses the supplied password, refuses a weak one, and falls back to SWL_ADMIN_PASSWORD', async () => {
    for (const [password, env, expected] of [
      ['a supplied passphrase', undefined, 'ok'],
      ['short', undefined, 'VALIDATION_FAILED'],
      [undefined, 'from the environment!', 'ok'],
    ] as const) {
      const db = await createTestDatabase(dialect);
      const orm = await MikroORM.init(await db.options());
      const saved = process.env.SWL_ADMIN_PASSWORD;
      if (env) process.env.SWL_ADMIN_PASSWORD = env;
      try {
        const initializing = initializeDatabase(orm, { adminPassword: password, inventory: false });
        if (expected === 'ok') {
          expect((await initializing).admin.generatedPassword).toBeNull();
          const admin = await orm.em
            .fork()
            .findOneOrFail(User, { documentId: '1000000000' }, { populate: ['passwordHash'] });
          expect(await verifyPassword(admin.passwordHash, (password ?? env) as string)).toBe(true);
        } else {
          await expectSwlError(initializing, expected);
          expect(await orm.em.fork().count(User)).toBe(0);
        }
      } finally {
        if (saved === undefined) delete process.env.SWL_ADMIN_PASSWORD;
        else process.env.SWL_ADMIN_PASSWORD = saved;
        await orm.close(true);
        await db.drop();
      }
    }
  });
});

describe('no default password ships', () => {
  it('the string admin123 appears nowhere in the package sources, migrations, seeders or examples', () => {
    const root = join(import.meta.dirname, '..');
    const hits: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (readFileSync(path, 'utf8').includes(['admin', '123'].join('')))
          hits.push(path.slice(root.length + 1));
      }
    };
    for (const dir of ['src', 'migrations', 'seeders', 'examples']) walk(join(root, dir));
    expect(hits).toEqual([]);
  });
});
