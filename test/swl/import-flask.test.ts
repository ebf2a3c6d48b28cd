/**
 * `swl import-flask`, run as an operator runs it (the packed tarball's `swl` as a child process,
 * on every target database), from a temp copy of the original Flask application's SQLite file
 * (`test/fixtures/swl-flask/app.db`; `SWL_FLASK_FIXTURES` names another folder; a missing
 * fixture fails the file): `swl init`, a dry run (nothing written), an altered copy refused with the report (exit
 * 1), the import with `--yes --json`, `swl doctor` clean, a second import that changes nothing, and
 * a second site merged into the desk (`--merge --recode-clashes`).
 * Source: issue 15.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, describeEachDialect, type ScratchDatabase } from '../support/fixtures.ts';
import { type InstalledPackage, installedPackage, swl } from '../support/installed-package.ts';

const FIXTURES = process.env.SWL_FLASK_FIXTURES ?? join(import.meta.dirname, '..', 'fixtures', 'swl-flask');
const FIXTURE_DB = join(FIXTURES, 'app.db');
const FIXTURE_SQL = join(FIXTURES, 'postgresql.sql');
if (!existsSync(FIXTURE_DB) || !existsSync(FIXTURE_SQL)) {
  throw new Error(`the Flask fixture is missing: ${FIXTURES} (app.db and postgresql.sql)`);
}

let pkg: InstalledPackage;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'swl-import-flask-cli-'));
  pkg = await installedPackage();
}, 300_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describeEachDialect('swl import-flask', (dialect) => {
  let db: ScratchDatabase;
  let env: Record<string, string | undefined>;
  let source: string;
  let altered: string;
  beforeAll(async () => {
    const tag = `${dialect}-${Math.random().toString(36).slice(2)}`;
    source = join(dir, `app-${tag}.db`);
    copyFileSync(FIXTURE_DB, source);
    altered = join(dir, `altered-${tag}.db`);
    copyFileSync(FIXTURE_DB, altered);
    const a = new DatabaseSync(altered);
    a.exec(
      "update user set role = 'estudiante' where role = 'student'; update item_instance set status = 'prestado' where id = (select min(id) from item_instance where status = 'disponible')",
    );
    a.close();
    db = await createTestDatabase(dialect);
    env = { DATABASE_URL: db.location, SWL_ADMIN_PASSWORD: 'operator-test-password' };
    const init = await swl(pkg, ['init', '--json'], { env });
    expect(init.code, init.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await db?.drop();
  });

  it('--dry-run reports what would be imported and writes nothing', async () => {
    const run = await swl(pkg, ['import-flask', '--from', source, '--dry-run', '--json'], { env });
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.outcome).toBe('dry-run');
    expect(report.written).toMatchObject({ users: 41, copies: 108, loans: 300, visits: 800 });
    const again = await swl(pkg, ['import-flask', '--from', source, '--dry-run', '--json'], { env });
    expect(JSON.parse(again.stdout).outcome).toBe('dry-run');
  });

  it('an unknown role and an inconsistent row: exit 1, the report names them; nothing written', async () => {
    const run = await swl(pkg, ['import-flask', '--from', altered, '--yes'], { env });
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toContain("unknown user.role 'estudiante': 12 row(s)");
    expect(run.stdout).toContain('prestado-copy-without-loan');
    const json = await swl(pkg, ['import-flask', '--from', altered, '--yes', '--json'], { env });
    expect(JSON.parse(json.stdout)).toMatchObject({
      outcome: 'refused',
      unknownVocabulary: [{ table: 'user', column: 'role', value: 'estudiante', count: 12 }],
    });
    const doctor = await swl(pkg, ['import-flask', '--from', source, '--dry-run', '--json'], { env });
    expect(JSON.parse(doctor.stdout).outcome).toBe('dry-run'); // still an empty desk
  });

  it('imports with --yes; swl doctor is clean; a second import changes nothing', async () => {
    const run = await swl(pkg, ['import-flask', '--from', source, '--yes', '--json'], { env });
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({
      outcome: 'imported',
      written: { users: 41, catalogEntries: 6, copies: 108, loans: 300, visits: 800 },
      defaultAdminPassword: { id: 1, documentId: '1000000000' },
    });
    const doctor = await swl(pkg, ['doctor', '--json'], { env });
    expect(doctor.code, doctor.stdout).toBe(0);
    const again = await swl(pkg, ['import-flask', '--from', source, '--yes'], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('already imported; nothing changed');
  });

  it('another site into the desk: refused without --merge, conflicts without --recode-clashes, merged with both', async () => {
    const second = join(dir, `second-${dialect}-${Math.random().toString(36).slice(2)}.db`);
    copyFileSync(FIXTURE_DB, second);
    const s = new DatabaseSync(second);
    s.exec(
      "update user set document_id = '7' || substr(document_id, 2), email = 'sede2.' || email where id > 21",
    );
    s.close();
    const plain = await swl(pkg, ['import-flask', '--from', second, '--yes'], { env });
    expect(plain.code, plain.stderr).toBe(1);
    expect(plain.stdout).toMatch(/already has desk data: .*--merge/);
    const usage = await swl(pkg, ['import-flask', '--from', second, '--recode-clashes', '--yes'], { env });
    expect(usage.code).toBe(2);
    const clashes = await swl(pkg, ['import-flask', '--from', second, '--merge', '--yes'], { env });
    expect(clashes.code, clashes.stderr).toBe(1);
    expect(clashes.stdout).toContain(
      'conflict item_instance #1: copy 1 has code MOU-1-1, which target copy 1 has',
    );
    const run = await swl(
      pkg,
      ['import-flask', '--from', second, '--merge', '--recode-clashes', '--yes', '--json'],
      {
        env,
      },
    );
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ outcome: 'imported', written: { users: 20, loans: 300, visits: 800 } });
    expect(report.merge.ids.loan).toHaveLength(300);
    expect(report.merge.recoded).toHaveLength(108);
    const doctor = await swl(pkg, ['doctor', '--json'], { env });
    expect(doctor.code, doctor.stdout).toBe(0);
    const again = await swl(pkg, ['import-flask', '--from', second, '--merge', '--recode-clashes', '--yes'], {
      env,
    });
    expect(again.stdout).toContain('already imported; nothing changed');
  });
});

describe('swl import-flask --from a PostgreSQL URL (the script loaded into a scratch database)', () => {
  let source: ScratchDatabase;
  let target: ScratchDatabase;
  let env: Record<string, string | undefined>;
  beforeAll(async () => {
    source = await createTestDatabase('postgresql');
    const client = new pg.Client({ connectionString: source.location });
    await client.connect();
    try {
      await client.query(readFileSync(FIXTURE_SQL, 'utf8'));
    } finally {
      await client.end();
    }
    target = await createTestDatabase('sqlite', 'node:sqlite');
    env = { DATABASE_URL: target.location, SWL_ADMIN_PASSWORD: 'operator-test-password' };
    const init = await swl(pkg, ['init', '--json'], { env });
    expect(init.code, init.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await source?.drop();
    await target?.drop();
  });

  it('imports into SQLite; the report names the source without its password; doctor clean', async () => {
    const run = await swl(pkg, ['import-flask', '--from', source.location, '--yes', '--json'], { env });
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({
      outcome: 'imported',
      source: {
        kind: 'postgresql',
        rows: { user: 41, catalog: 6, item_instance: 108, loan: 300, library_log: 800 },
      },
      written: { users: 41, catalogEntries: 6, copies: 108, loans: 300, visits: 800 },
    });
    const password = new URL(source.location).password;
    if (password) expect(run.stdout).not.toContain(password);
    const doctor = await swl(pkg, ['doctor', '--json'], { env });
    expect(doctor.code, doctor.stdout).toBe(0);
  });
});
