/**
 * `swl export` / `swl import`, run as an operator runs them (the installed tarball, child
 * processes): a seeded desk with loans in every state moves SQLite → PostgreSQL → SQLite (and
 * PostgreSQL → SQLite → PostgreSQL) with ids, audit trails and sequences intact; a changed dump is
 * refused with nothing written; a database with rows is replaced only when told. Source: issue 14.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MikroORM } from '@mikro-orm/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TableDigest } from '../../src/cli/transfer/format.ts';
import { type StoredInstant, toInstant } from '../../src/kernel/db.ts';
import {
  createTestDatabase,
  describeEachDialect,
  rowCounts,
  type ScratchDatabase,
  type SwlDialect,
} from '../support/fixtures.ts';
import { type InstalledPackage, installedPackage, swl } from '../support/installed-package.ts';

let pkg: InstalledPackage;
beforeAll(async () => {
  pkg = await installedPackage();
}, 300_000);

const WORKER = join(import.meta.dirname, 'desk-worker.ts');

/** Runs the desk worker (`seed`) on `db` with the installed package; returns its JSON output. */
async function seedDesk(
  pkg: InstalledPackage,
  db: ScratchDatabase,
): Promise<{ loans: Record<string, number> }> {
  const lib = join(pkg.dir, 'node_modules/swl-library/dist/index.js');
  const child = spawn(process.execPath, [WORKER, lib, 'seed'], {
    cwd: pkg.dir,
    env: { ...process.env, DATABASE_URL: db.location, SWL_CHECK_QUERY_SHAPES: undefined },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => {
    out += c;
  });
  child.stderr.on('data', (c) => {
    err += c;
  });
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
  expect(code, err).toBe(0);
  return JSON.parse(out);
}

/** Writes `out`: the dump `file` with `n` made-up visits in `swl_library_log` (checksum and all). */
function withManyVisits(file: string, out: string, n: number): void {
  const [head, ...rest] = readFileSync(file, 'utf8').split('\n');
  const manifest = JSON.parse(head as string);
  const sections = new Map<string, string[]>();
  let table = '';
  for (const line of rest) {
    if (line.startsWith('{')) {
      table = JSON.parse(line).table;
      sections.set(table, []);
    } else if (line !== '') sections.get(table)?.push(line);
  }
  const digest = new TableDigest();
  const visits: string[] = [];
  for (let i = 1; i <= n; i += 1) {
    const at = new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString();
    visits.push(digest.add([i, `Visitor ${i}`, String(1_000_000 + i), 'student', at, 'study', null, null]));
  }
  sections.set('swl_library_log', visits);
  const log = manifest.tables.find((t: { name: string }) => t.name === 'swl_library_log');
  Object.assign(log, { rows: n, sha256: digest.digest() });
  let text = `${JSON.stringify(manifest)}\n`;
  for (const t of manifest.tables as { name: string }[]) {
    text += `${JSON.stringify({ table: t.name })}\n`;
    const rows = sections.get(t.name) ?? [];
    if (rows.length > 0) text += `${rows.join('\n')}\n`;
  }
  writeFileSync(out, text);
}

/** The rows after the manifest line of a dump: the data, byte for byte. */
const body = (file: string) => readFileSync(file, 'utf8').split('\n').slice(1).join('\n');

/** An ORM on `db` for the test's own queries, closed after `run`. */
async function withOrm<T>(db: ScratchDatabase, run: (orm: MikroORM) => Promise<T>): Promise<T> {
  const orm = await MikroORM.init(await db.options());
  try {
    return await run(orm);
  } finally {
    await orm.close(true);
  }
}

/** The audit trail (swl_loan_event rows) of one loan, instants and JSON decoded. */
async function auditTrail(db: ScratchDatabase, loanId: number): Promise<Record<string, unknown>[]> {
  return withOrm(db, (orm) =>
    orm.em
      .fork()
      .getConnection()
      .execute<Record<string, unknown>[]>(
        `select id, loan_id, type, from_status, to_status, actor_id, at, data from swl_loan_event where loan_id = ${loanId} order by id`,
      )
      .then((rows: Record<string, unknown>[]) =>
        rows.map((r) => ({
          ...r,
          at: toInstant(r.at as StoredInstant).toISOString(),
          data: typeof r.data === 'string' ? JSON.parse(r.data) : r.data,
        })),
      ),
  );
}

const env = (db: ScratchDatabase) => ({
  env: { DATABASE_URL: db.location, SWL_ADMIN_PASSWORD: 'Secret-pass-1234' },
});

/** Row counts of `db`'s swl_ tables, read by the test itself. */
const counts = (db: ScratchDatabase) => withOrm(db, (orm) => rowCounts(orm));

describeEachDialect('swl export / import', (dialect) => {
  const dbs: ScratchDatabase[] = [];
  const make = async (d: SwlDialect) => {
    const db = await createTestDatabase(d);
    dbs.push(db);
    return db;
  };
  afterAll(async () => {
    for (const db of dbs) await db.drop();
  });

  /** A desk of `d` after `swl init` and the worker's seed, and its dump. */
  const seededDump = async (d: SwlDialect) => {
    const source = await make(d);
    expect((await swl(pkg, ['init'], env(source))).code).toBe(0);
    const { loans } = await seedDesk(pkg, source);
    const dump = join(pkg.dir, `dump-${source.name}.jsonl`);
    const exported = await swl(pkg, ['export', dump, '--json'], env(source));
    expect(exported.code, exported.stderr).toBe(0);
    return { source, loans, dump, report: JSON.parse(exported.stdout) };
  };

  if (dialect === 'sqlite') {
    it('moves a desk SQLite → PostgreSQL → SQLite: counts, audit trails, ids and sequences intact', async () => {
      const { source, loans, dump, report } = await seededDump('sqlite');
      const sourceCounts = await counts(source);
      expect(
        Object.fromEntries(report.tables.map((t: { name: string; rows: number }) => [t.name, t.rows])),
      ).toEqual(sourceCounts);
      expect(sourceCounts.swl_loan).toBe(7);
      const manifest = JSON.parse(readFileSync(dump, 'utf8').split('\n')[0] as string);
      expect(manifest).toMatchObject({ format: 'swl-dump', formatVersion: 1, source: { dialect: 'sqlite' } });

      // into PostgreSQL: the empty database is migrated to the dump's level and loaded
      const target = await make('postgresql');
      const imported = await swl(pkg, ['import', dump, '--json'], env(target));
      expect(imported.code, imported.stderr).toBe(0);
      expect(JSON.parse(imported.stdout)).toMatchObject({
        verified: true,
        from: 'sqlite',
        into: 'postgresql',
      });
      expect(await counts(target)).toEqual(sourceCounts);
      const lost = loans.lost as number;
      const trail = await auditTrail(source, lost);
      expect(trail.map((e) => e.type)).toEqual(['requested', 'approved', 'returned', 'penalty_settled']);
      expect(await auditTrail(target, lost)).toEqual(trail);
      const doctor = await swl(pkg, ['doctor'], env(target));
      expect(doctor.code, doctor.stdout).toBe(0);
      // exported again, PostgreSQL gives the same rows, byte for byte
      const again = join(pkg.dir, `again-${target.name}.jsonl`);
      expect((await swl(pkg, ['export', again], env(target))).code).toBe(0);
      expect(body(again)).toBe(body(dump));
      // sequences: new users, entries and loans get the next ids
      const more = await seedDesk(pkg, target);
      expect(Math.min(...Object.values(more.loans))).toBe(8);

      // and back into SQLite
      const back = await make('sqlite');
      const backDump = join(pkg.dir, `back-${target.name}.jsonl`);
      expect((await swl(pkg, ['export', backDump], env(target))).code).toBe(0);
      const restored = await swl(pkg, ['import', backDump], env(back));
      expect(restored.code, restored.stderr).toBe(0);
      expect(restored.stdout).toContain('checksums verified');
      expect(await counts(back)).toEqual(await counts(target));
      expect(await auditTrail(back, lost)).toEqual(trail);
    }, 90_000);
  } else {
    it('refuses a changed dump (nothing written) and a database with rows unless told; --yes replaces, sequences reset', async () => {
      const { source, dump } = await seededDump('postgresql');
      const dumped = await counts(source);
      await seedDesk(pkg, source); // the desk moves on after the dump
      const before = await counts(source);

      // a database with rows: refused without --yes (no terminal: exit 2), nothing changed
      const refused = await swl(pkg, ['import', dump], env(source));
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('pass --yes');
      expect(await counts(source)).toEqual(before);

      // a changed dump: refused before anything is written, even with --yes
      const tampered = join(pkg.dir, `tampered-${source.name}.jsonl`);
      writeFileSync(tampered, readFileSync(dump, 'utf8').replace('"changed mind"', '"changed MIND"'));
      const bad = await swl(pkg, ['--yes', 'import', tampered, '--json'], env(source));
      expect(bad.code).toBe(1);
      expect(JSON.parse(bad.stdout)).toMatchObject({
        ok: false,
        error: { code: 'VALIDATION_FAILED', details: { table: 'swl_loan' } },
      });
      expect(await counts(source)).toEqual(before);
      const fresh = await make('sqlite');
      const badFresh = await swl(pkg, ['import', tampered], env(fresh));
      expect(badFresh.code).toBe(1);
      expect(badFresh.stderr.trim()).toMatch(/^swl: VALIDATION_FAILED: the dump is corrupt or was changed/);
      expect(await withOrm(fresh, async (orm) => (await orm.migrator.getExecuted()).length)).toBe(0);

      // told: the rows are replaced by the dump's, and the sequences follow the dump's ids
      const replaced = await swl(pkg, ['--yes', 'import', dump, '--json'], env(source));
      expect(replaced.code, replaced.stderr).toBe(0);
      expect(JSON.parse(replaced.stdout)).toMatchObject({
        replacedRows: Object.values(before).reduce((a, b) => a + b),
      });
      expect(await counts(source)).toEqual(dumped);
      const after = await seedDesk(pkg, source);
      expect(Math.min(...Object.values(after.loans))).toBe(8);

      // Ctrl-C during a long import: exit 1 INTERRUPTED, the transaction rolled back
      const big = join(pkg.dir, `big-${source.name}.jsonl`);
      withManyVisits(dump, big, 300_000);
      const target = await make('postgresql');
      const child = spawn(process.execPath, [pkg.bin, 'import', big, '--json'], {
        cwd: pkg.dir,
        env: { ...process.env, DATABASE_URL: target.location, SWL_CHECK_QUERY_SHAPES: undefined },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (c) => {
        out += c;
      });
      const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
      await new Promise((r) => setTimeout(r, 3000));
      child.kill('SIGINT');
      expect(await closed).toBe(1);
      expect(JSON.parse(out)).toMatchObject({ ok: false, error: { code: 'INTERRUPTED' } });
      expect(Object.values(await counts(target)).every((n) => n === 0)).toBe(true);
    }, 90_000);
  }
});

it('export and import have --help', async () => {
  for (const command of ['export', 'import']) {
    const help = await swl(pkg, [command, '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain(`Usage: swl ${command} [options] <file>`);
  }
});
