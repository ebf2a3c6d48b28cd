/**
 * `swl init` and the executable's frame (help, usage errors, exit codes, one-line errors), run as
 * an operator runs it: the packed tarball installed in a fresh project, `swl` as a child process,
 * on every database. Source: issue 14.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { swlMigrations } from '../../migrations/index.ts';
import { createTestDatabase, describeEachDialect, type ScratchDatabase } from '../support/fixtures.ts';
import { type InstalledPackage, installedPackage, swl } from '../support/installed-package.ts';

let pkg: InstalledPackage;
beforeAll(async () => {
  pkg = await installedPackage();
}, 300_000);

describe('swl: the executable', () => {
  it('--help lists every command and exits 0; an unknown command is a usage error, exit 2', async () => {
    const help = await swl(pkg, ['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: swl');
    expect(help.stdout).toMatch(/^\s+init\b/m);
    const bogus = await swl(pkg, ['bogus']);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toContain("unknown command 'bogus'");
  });

  it('a failure is one line with its code and no stack, exit 1; --json gives the error as JSON', async () => {
    const failed = await swl(pkg, ['init'], { env: { DATABASE_URL: 'mysql://root@localhost/x' } });
    expect(failed.code).toBe(1);
    expect(failed.stderr.trim()).toMatch(
      /^swl: VALIDATION_FAILED: DATABASE_URL must be a PostgreSQL URL or a SQLite file$/,
    );
    expect(failed.stderr).not.toMatch(/\n\s+at /);
    const json = await swl(pkg, ['init', '--json'], { env: { DATABASE_URL: 'mysql://root@localhost/x' } });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
  });
});

describeEachDialect('swl init', (dialect) => {
  let db: ScratchDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    return () => db.drop();
  });

  it('migrates and seeds; the generated admin password is printed once; a second run changes nothing', async () => {
    const env = { DATABASE_URL: db.location, SWL_ADMIN_PASSWORD: undefined };
    const first = await swl(pkg, ['init', '--json'], { env });
    expect(first.code, first.stderr).toBe(0);
    const report = JSON.parse(first.stdout);
    expect(report.migrationsApplied).toEqual(swlMigrations(dialect).map((m) => m.name));
    expect(report.admin.created).toBe(true);
    expect(report.admin.generatedPassword).toMatch(/^.{24}$/);
    expect(report.catalog.copiesCreated).toBe(108);

    const second = await swl(pkg, ['init'], { env });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('migrations: up to date');
    expect(second.stdout).toContain('admin: already there');
    expect(second.stdout).not.toContain(report.admin.generatedPassword);
    expect(second.stdout).toContain('copies: 0');
  });
});
