/**
 * `swl doctor`, run as an operator runs it (the packed tarball's `swl` as a child process, on
 * every database): clean on a desk after `swl init` with loans in every status, made with the
 * library's services; then rows corrupted with raw SQL — a copy `prestado` without an approved
 * loan, a negative fine, a removed loan event, a reference to a missing loan — make it exit 1
 * naming each one (table, row id, rule). Source: issue 14.
 */
import type { MikroORM } from '@mikro-orm/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, describeEachDialect, type ScratchDatabase } from '../support/fixtures.ts';
import { type InstalledPackage, installedPackage, swl } from '../support/installed-package.ts';
import { operatedDesk } from './desk.ts';

let pkg: InstalledPackage;
beforeAll(async () => {
  pkg = await installedPackage();
}, 300_000);

describeEachDialect('swl doctor', (dialect) => {
  let db: ScratchDatabase;
  let orm: MikroORM;
  let env: Record<string, string | undefined>;
  const loan = { overdue: 0, returned: 0, rejected: 0, pending: 0 };
  let spareCopy = 0;
  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    const desk = await operatedDesk(pkg, db);
    ({ env, orm, spareCopy } = desk);
    Object.assign(loan, desk.loans);
  }, 120_000);
  afterAll(async () => {
    await orm?.close(true);
    await db?.drop();
  });

  it('a consistent desk: exit 0, every check passed', async () => {
    const run = await swl(pkg, ['doctor', '--json'], { env });
    expect(run.code, run.stderr + run.stdout).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ ok: true, violations: [], omitted: {} });
    expect(report.rules).toEqual(
      expect.arrayContaining([
        'copy-held-iff-one-approved-loan',
        'loan-events',
        'amounts-non-negative',
        'foreign-keys',
      ]),
    );
    expect(report.rules).toContain(dialect === 'postgresql' ? 'event-tx-id' : 'integrity');
    const text = await swl(pkg, ['doctor'], { env });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^ok: \d+ checks passed/);
  });

  it('corrupted rows: exit 1, each violation named by table, row id and rule', async () => {
    const em = orm.em.fork();
    const conn = em.getConnection();
    // A copy prestado with no aprobado loan.
    await conn.execute(`update swl_item_instance set status = 'prestado' where id = ${spareCopy}`);
    // The approval event of the approved loan removed.
    await conn.execute(`delete from swl_loan_event where loan_id = ${loan.overdue} and type = 'approved'`);
    // A negative fine (past the CHECK constraint, as a hand edit or a careless import would be).
    const negative = `update swl_loan set overdue_fine = -500, final_penalty = -500, replacement_charge = 0 where id = ${loan.returned}`;
    // A copy event pointing at a loan that does not exist (foreign keys off, as in a bad restore).
    const dangling = `update swl_instance_event set loan_id = 999999 where id = (select min(id) from swl_instance_event)`;
    if (dialect === 'sqlite') {
      await conn.execute('pragma ignore_check_constraints = on');
      await conn.execute(negative);
      await conn.execute('pragma ignore_check_constraints = off');
      await conn.execute('pragma foreign_keys = off');
      await conn.execute(dangling);
      await conn.execute('pragma foreign_keys = on');
    } else {
      const checks = await conn.execute<{ conname: string }[]>(
        `select conname from pg_constraint where conrelid = 'swl_loan'::regclass and contype = 'c'
            and pg_get_constraintdef(oid) ~ '(overdue_fine|final_penalty)'`,
      );
      for (const { conname } of checks)
        await conn.execute(`alter table swl_loan drop constraint "${conname}"`);
      await conn.execute(negative);
      await em.transactional(async (tx) => {
        await tx
          .getConnection()
          .execute('set local session_replication_role = replica', [], 'run', tx.getTransactionContext());
        await tx.getConnection().execute(dangling, [], 'run', tx.getTransactionContext());
      });
    }
    const [danglingRow] = await conn.execute<{ id: number }[]>(
      'select id from swl_instance_event where loan_id = 999999',
    );

    const run = await swl(pkg, ['doctor', '--json'], { env });
    expect(run.code, run.stderr).toBe(1);
    // With --json a failed check prints its report and nothing else: one JSON document.
    const report = JSON.parse(run.stdout) as { ok: boolean; violations: unknown[] };
    expect(report.ok).toBe(false);
    const expected = [
      { rule: 'copy-held-iff-one-approved-loan', table: 'swl_item_instance', id: spareCopy },
      { rule: 'loan-events', table: 'swl_loan', id: loan.overdue },
      { rule: 'amounts-non-negative', table: 'swl_loan', id: loan.returned },
      { rule: 'penalties', table: 'swl_loan', id: loan.returned },
      { rule: 'foreign-keys', table: 'swl_instance_event', id: Number(danglingRow?.id) },
    ];
    for (const violation of expected)
      expect(report.violations).toContainEqual(expect.objectContaining(violation));
    // Nothing else: the other loans and copies are still consistent.
    const ids = (report.violations as { table: string; id: number | null }[])
      .filter((v) => v.id !== null)
      .map((v) => `${v.table}#${v.id}`);
    expect(new Set(ids)).toEqual(
      new Set([
        `swl_item_instance#${spareCopy}`,
        `swl_loan#${loan.overdue}`,
        `swl_loan#${loan.returned}`,
        `swl_instance_event#${danglingRow?.id}`,
      ]),
    );

    const text = await swl(pkg, ['doctor'], { env });
    expect(text.code).toBe(1);
    for (const v of expected) expect(text.stdout).toContain(`${v.table} #${v.id}  [${v.rule}]`);
    expect(text.stderr).toMatch(/^swl: doctor found \d+ violations\n$/);
  });
});
