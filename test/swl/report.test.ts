/**
 * `swl report <name> --format csv|json` (issue 17), run as an operator runs it: the packed
 * tarball's `swl` as a child process, on every database, on the desk of test/swl/desk.ts (one
 * student's loan approved 30 days ago and due 3 days later: 27 days overdue now). The CSV is read
 * back with `csv-parse`, header row first.
 */
import type { MikroORM } from '@mikro-orm/core';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OVERDUE_COLUMNS } from '../../src/cli/commands/report.ts';
import { Loan } from '../../src/entities/loan.entity.ts';
import { createTestDatabase, describeEachDialect, type ScratchDatabase } from '../support/fixtures.ts';
import { type InstalledPackage, installedPackage, swl } from '../support/installed-package.ts';
import { DAY, type OperatedDesk, operatedDesk } from './desk.ts';

let pkg: InstalledPackage;
beforeAll(async () => {
  pkg = await installedPackage();
}, 300_000);

describe('swl report: usage', () => {
  it('--help lists the reports and options; an unknown report name exits 2', async () => {
    const help = await swl(pkg, ['report', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: swl report [options] <name>');
    for (const text of ['overdue', 'out-of-service', '--format <format>', '--as-of <instant>']) {
      expect(help.stdout).toContain(text);
    }
    const unknown = await swl(pkg, ['report', 'nonsense']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("swl: unknown report 'nonsense'; one of: overdue, availability");
    const format = await swl(pkg, ['report', 'overdue', '--format', 'xml']);
    expect(format.code).toBe(2);
  });
});

describeEachDialect('swl report', (dialect) => {
  let db: ScratchDatabase;
  let orm: MikroORM;
  let env: Record<string, string | undefined>;
  let desk: OperatedDesk;
  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    desk = await operatedDesk(pkg, db);
    ({ env, orm } = desk);
  }, 120_000);
  afterAll(async () => {
    await orm?.close(true);
    await db?.drop();
  });

  it('overdue --format csv: a header row, then one row per overdue loan, figures computed by hand', async () => {
    const asOf = new Date(desk.now).toISOString();
    const run = await swl(pkg, ['report', 'overdue', '--format', 'csv', '--as-of', asOf], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.split('\n')[0]).toBe(OVERDUE_COLUMNS.join(','));
    const loan = await orm.em
      .fork()
      .findOneOrFail(Loan, desk.loans.overdue, { populate: ['borrower', 'copy', 'catalogEntry'] });
    const borrower = loan.borrower.unwrap();
    // Approved now − 30 days, due 3 days later: 27 days = 38 880 minutes late at asOf; 27 started
    // days × 100 000 = 2 700 000, capped at the policy's 2 000 000. The returned loan's fine was paid.
    expect(parse(run.stdout, { columns: true })).toEqual([
      {
        asOf,
        borrowerId: String(borrower.id),
        documentId: borrower.documentId,
        fullName: borrower.fullName,
        email: '',
        role: 'student',
        borrowerOverdueLoans: '1',
        borrowerAccruedFines: '2000000',
        borrowerUnsettledAmount: '0',
        borrowerTotalOwed: '2000000',
        loanId: String(desk.loans.overdue),
        catalogEntryId: String(loan.catalogEntry.id),
        titleOrName: 'Mouse inalámbrico',
        category: 'general',
        copyCode: loan.copy?.unwrap().code,
        approvalDate: new Date(desk.now - 30 * DAY).toISOString(),
        dueDate: new Date(desk.now - 27 * DAY).toISOString(),
        overdueMinutes: '38880',
        accruedFine: '2000000',
      },
    ]);
  });

  it('overdue --format json parses, with the same figures; an empty CSV report still has its header', async () => {
    const asOf = new Date(desk.now).toISOString();
    const run = await swl(pkg, ['report', 'overdue', '--format', 'json', '--as-of', asOf], { env });
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ asOf, total: 1, limit: 50, offset: 0 });
    expect(report.items[0].loans).toMatchObject([
      {
        loanId: desk.loans.overdue,
        overdueMinutes: 38_880,
        accruedFine: 2_000_000,
        fineCappedBy: 'max_fine',
      },
    ]);
    // Before the loan was due there is nothing overdue: only the header.
    const early = new Date(desk.now - 28 * DAY).toISOString();
    const empty = await swl(pkg, ['report', 'overdue', '--as-of', early], { env });
    expect(empty.code, empty.stderr).toBe(0);
    expect(empty.stdout).toBe(`${OVERDUE_COLUMNS.join(',')}\n`);
    expect(parse(empty.stdout, { columns: true })).toEqual([]);
  });

  it('loans-per-month and top-borrowed as CSV; a missing --from is a usage error', async () => {
    const from = new Date(desk.now - 40 * DAY).toISOString();
    const to = new Date(desk.now + DAY).toISOString();
    const top = await swl(pkg, ['report', 'top-borrowed', '--from', from, '--to', to], { env });
    expect(top.code, top.stderr).toBe(0);
    // Lent: the overdue loan and the returned one (the rejected and pending were never lent).
    expect(parse(top.stdout, { columns: true })).toMatchObject([
      { titleOrName: 'Mouse inalámbrico', category: 'general', loans: '2' },
    ]);
    const months = await swl(pkg, ['report', 'loans-per-month', '--from', from, '--to', to, '--json'], {
      env,
    });
    expect(months.code, months.stderr).toBe(0);
    expect(JSON.parse(months.stdout).total).toBe(2);
    const missing = await swl(pkg, ['report', 'loans-per-month', '--to', to], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('swl report loans-per-month needs --from');
  });
});
