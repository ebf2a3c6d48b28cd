/**
 * `swl backup` / `swl restore`, run as an operator runs them (the installed tarball, child
 * processes) on every database: a backup taken while another process keeps lending is one
 * consistent moment once restored into a fresh database; restore refuses a database with rows
 * unless told (`--yes`), and verifies what it loaded. Source: issue 14.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { MikroORM } from '@mikro-orm/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  createTestDatabase,
  describeEachDialect,
  rowCounts,
  type ScratchDatabase,
} from '../support/fixtures.ts';
import { type InstalledPackage, installedPackage, swl } from '../support/installed-package.ts';

let pkg: InstalledPackage;
beforeAll(async () => {
  pkg = await installedPackage();
}, 300_000);

const WORKER = join(import.meta.dirname, 'desk-worker.ts');

/** Starts the desk worker lending in a loop on `db`; resolves once it has committed a first round. */
async function startWriter(db: ScratchDatabase): Promise<ChildProcess> {
  const lib = join(pkg.dir, 'node_modules/swl-library/dist/index.js');
  const child = spawn(process.execPath, [WORKER, lib, 'write'], {
    cwd: pkg.dir,
    env: { ...process.env, DATABASE_URL: db.location, SWL_CHECK_QUERY_SHAPES: undefined },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (c) => {
    err += c;
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (c) => {
      if (String(c).includes('ready')) resolve();
    });
    child.on('close', (code) => reject(new Error(`the writer ended (${code}) before it was ready: ${err}`)));
  });
  return child;
}

/** An ORM on `db` for the test's own queries, closed after `run`. */
async function withOrm<T>(db: ScratchDatabase, run: (orm: MikroORM) => Promise<T>): Promise<T> {
  const orm = await MikroORM.init(await db.options());
  try {
    return await run(orm);
  } finally {
    await orm.close(true);
  }
}

/**
 * What holds at every commit of the desk, and would not in a copy read table by table while the
 * writer runs: each loan's status is its last event's, the copies on loan are exactly those of the
 * approved loans, no event without its loan.
 */
async function tornRows(db: ScratchDatabase): Promise<Record<string, number>> {
  return withOrm(db, async (orm) => {
    const run = async (q: string) =>
      Number((await orm.em.fork().getConnection().execute<{ n: number | string }[]>(q))[0]?.n ?? 0);
    return {
      statusNotLastEvent: await run(
        `select count(*) as n from swl_loan l where l.status <> (select e.to_status from swl_loan_event e where e.loan_id = l.id order by e.id desc limit 1)`,
      ),
      loanWithoutEvent: await run(
        'select count(*) as n from swl_loan l where not exists (select 1 from swl_loan_event e where e.loan_id = l.id)',
      ),
      eventWithoutLoan: await run(
        'select count(*) as n from swl_loan_event e where not exists (select 1 from swl_loan l where l.id = e.loan_id)',
      ),
      copiesOutVsApproved: Math.abs(
        (await run(`select count(*) as n from swl_item_instance where status = 'prestado'`)) -
          (await run(`select count(*) as n from swl_loan where status = 'aprobado'`)),
      ),
    };
  });
}

describeEachDialect('swl backup / restore', (dialect) => {
  const dbs: ScratchDatabase[] = [];
  const make = async () => {
    const db = await createTestDatabase(dialect);
    dbs.push(db);
    return db;
  };
  afterAll(async () => {
    for (const db of dbs) await db.drop();
  });

  it('a backup taken while another process lends restores, verified, as one consistent moment', async () => {
    const desk = await make();
    const env = (db: ScratchDatabase) => ({
      env: { DATABASE_URL: db.location, SWL_ADMIN_PASSWORD: 'Secret-pass-1234' },
    });
    expect((await swl(pkg, ['init'], env(desk))).code).toBe(0);
    const file = join(pkg.dir, `backup-${desk.name}.${dialect === 'sqlite' ? 'db' : 'jsonl'}`);
    const writer = await startWriter(desk);
    let backup: Awaited<ReturnType<typeof swl>>;
    try {
      await new Promise((r) => setTimeout(r, 500));
      backup = await swl(pkg, ['backup', file, '--json'], env(desk));
    } finally {
      writer.kill('SIGKILL');
      await new Promise((r) => writer.once('close', r));
    }
    expect(backup.code, backup.stderr).toBe(0);
    const report = JSON.parse(backup.stdout);
    const counts: Record<string, number> =
      dialect === 'sqlite'
        ? report.tables
        : Object.fromEntries(report.tables.map((t: { name: string; rows: number }) => [t.name, t.rows]));
    if (dialect === 'sqlite')
      expect(report).toMatchObject({ method: 'sqlite online backup', integrity: 'ok' });
    expect(counts.swl_loan).toBeGreaterThan(0);
    // the desk went on writing after the backup
    const live = await withOrm(desk, (orm) => rowCounts(orm));
    expect(live.swl_loan).toBeGreaterThanOrEqual(counts.swl_loan as number);

    const fresh = await make();
    const restored = await swl(pkg, ['restore', file, '--json'], env(fresh));
    expect(restored.code, restored.stderr).toBe(0);
    expect(JSON.parse(restored.stdout)).toMatchObject({ verified: true, replacedRows: 0 });
    const restoredCounts = await withOrm(fresh, (orm) => rowCounts(orm));
    for (const [table, n] of Object.entries(restoredCounts)) expect(n, table).toBe(counts[table]);
    expect(await tornRows(fresh)).toEqual({
      statusNotLastEvent: 0,
      loanWithoutEvent: 0,
      eventWithoutLoan: 0,
      copiesOutVsApproved: 0,
    });
    const doctor = await swl(pkg, ['doctor'], env(fresh));
    expect(doctor.code, doctor.stdout + doctor.stderr).toBe(0);

    // a database with rows: refused without --yes (no terminal to ask: exit 2), unchanged
    const refused = await swl(pkg, ['restore', file], env(desk));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/refusing without a terminal to ask; pass --yes/);
    expect(await withOrm(desk, (orm) => rowCounts(orm))).toEqual(live);
    // told: replaced by the backup, verified
    const replaced = await swl(pkg, ['--yes', 'restore', file], env(desk));
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(await withOrm(desk, (orm) => rowCounts(orm))).toEqual(restoredCounts);
    expect((await swl(pkg, ['doctor'], env(desk))).code).toBe(0);
  }, 90_000);
});

it('backup and restore have --help; restore of a missing file is one error line', async () => {
  for (const command of ['backup', 'restore']) {
    const help = await swl(pkg, [command, '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain(`Usage: swl ${command} [options] <file>`);
  }
  const missing = await swl(pkg, ['restore', join(pkg.dir, 'no-such-backup')], {
    env: { DATABASE_URL: join(pkg.dir, 'nowhere.db') },
  });
  expect(missing.code).toBe(1);
  expect(missing.stderr.trim()).toMatch(/^swl: NOT_FOUND: there is no file .*no-such-backup$/);
});
