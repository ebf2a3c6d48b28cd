/**
 * `swl notices run` (issue 17), run as an operator's cron job runs it: the packed tarball's `swl`
 * as a child process, on every database, on the desk of test/swl/desk.ts (after `swl init`, which
 * seeds the notice schedule; one student's loan approved 30 days ago, due 27 days ago). A dry run
 * prints and writes nothing; `--exec` hands each digest to a shell command and records its outcome;
 * a rerun sends nothing twice.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MikroORM } from '@mikro-orm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { Notice } from '../../src/entities/notice.entity.ts';
import { LoanService } from '../../src/loans/loan.service.ts';
import type { NoticeDigest } from '../../src/notices/views.ts';
import {
  createTestDatabase,
  createTestUser,
  describeEachDialect,
  rowCounts,
  type ScratchDatabase,
} from '../support/fixtures.ts';
import { type InstalledPackage, installedPackage, swl } from '../support/installed-package.ts';
import { DAY, type OperatedDesk, operatedDesk } from './desk.ts';

let pkg: InstalledPackage;
beforeAll(async () => {
  pkg = await installedPackage();
}, 300_000);

describe('swl notices run: usage', () => {
  it('says how to send when given neither --exec nor --dry-run (exit 2)', async () => {
    const run = await swl(pkg, ['notices', 'run']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--exec <command>, or --dry-run');
  });
});

describeEachDialect('swl notices run', (dialect) => {
  let db: ScratchDatabase;
  let orm: MikroORM;
  let desk: OperatedDesk;
  let dir: string;
  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    desk = await operatedDesk(pkg, db);
    orm = desk.orm;
    dir = await mkdtemp(join(tmpdir(), 'swl-notices-'));
  }, 120_000);
  afterAll(async () => {
    await orm?.close(true);
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('--dry-run prints the digest that would go out and writes nothing', async () => {
    const before = await rowCounts(orm);
    const json = await swl(pkg, ['notices', 'run', '--dry-run', '--json'], { env: desk.env });
    expect(json.code, json.stderr).toBe(0);
    const report = JSON.parse(json.stdout) as { digests: number; preview: NoticeDigest[] };
    expect(report.digests).toBe(1);
    // Approved 30 days ago, due 27 days ago: of its moments only the latest, 7 days overdue, is due.
    expect(report.preview[0]?.notices.map((n) => [n.subjectId, n.templateKey])).toEqual([
      [desk.loans.overdue, 'loan.overdue.7d'],
    ]);
    expect(report.preview[0]?.blocks).toEqual(['overdue_loan']);
    const text = await swl(pkg, ['notices', 'run', '--dry-run'], { env: desk.env });
    expect(text.stdout).toContain('Mouse inalámbrico');
    expect(text.stdout).toContain('OVERDUE by 648 h');
    expect(text.stdout).toContain('1 digest(s), 1 notice(s) would go out; nothing written');
    expect(await rowCounts(orm)).toEqual(before);
  });

  it('--exec: a failing sender leaves the notice for a retry (its stderr kept, a NUL dropped); a working one gets the digest on stdin; a rerun sends nothing', async () => {
    const failing = await swl(
      pkg,
      ['notices', 'run', '--exec', "printf 'smtp: 421\\000 busy\\n' >&2; exit 3"],
      {
        env: desk.env,
      },
    );
    expect(failing.code, failing.stderr).toBe(0);
    expect(failing.stdout).toContain('1 digest(s) (1 notice(s)); sent 0, failed 1');
    const waiting = await orm.em.fork().findOneOrFail(Notice, { subjectId: desk.loans.overdue });
    expect(waiting).toMatchObject({ status: 'pendiente', attempts: 1, lastError: 'smtp: 421 busy' });

    // Within the 15-minute backoff nothing is claimed; an hour later the retry goes to the sender.
    const out = join(dir, 'digest.json');
    const sender = `cat > '${out}'; test "$SWL_TEMPLATE_KEYS" = loan.overdue.7d`;
    const soon = await swl(pkg, ['notices', 'run', '--exec', sender], { env: desk.env });
    expect(soon.stdout).toContain('0 digest(s)');
    const later = new Date(Date.now() + 60 * 60_000).toISOString();
    const sent = await swl(pkg, ['notices', 'run', '--now', later, '--exec', sender, '--json'], {
      env: desk.env,
    });
    expect(sent.code, sent.stderr).toBe(0);
    expect(JSON.parse(sent.stdout)).toMatchObject({ digests: 1, notices: 1, sent: 1, failed: 0, givenUp: 0 });
    const digest = JSON.parse(await readFile(out, 'utf8')) as NoticeDigest;
    expect(digest.loans.map((l) => l.loanId)).toEqual([desk.loans.overdue]);
    expect(digest.fines.accrued).toBeGreaterThan(0);
    const done = await orm.em.fork().findOneOrFail(Notice, { subjectId: desk.loans.overdue });
    expect(done).toMatchObject({ status: 'enviado', attempts: 2 });

    const again = await swl(pkg, ['notices', 'run', '--now', later, '--exec', sender], { env: desk.env });
    expect(again.stdout).toContain('0 digest(s) (0 notice(s)); sent 0, failed 0');
  });

  it('exits 1 when a notice is given up after its fifth failed attempt, and names it', async () => {
    // A second loan, approved 10 days ago (due 7 days ago): its 7-day notice is due now.
    const clock = new ManualClock(desk.now - 10 * DAY);
    const loans = new LoanService(orm.em.fork(), { clock });
    const borrower = await createTestUser(orm, 'student');
    const request = await loans.request(borrower, { copyId: desk.spareCopy });
    await loans.approve(desk.admin, { loanId: request.id });
    const at = (days: number) => new Date(desk.now + days * DAY + 60_000).toISOString();
    // Attempts 1–4 fail and wait 15 min, 1 h, 4 h, 16 h: one run a day gets each retry.
    for (let day = 0; day < 4; day++) {
      const run = await swl(pkg, ['notices', 'run', '--now', at(day), '--exec', 'exit 75', '--json'], {
        env: desk.env,
      });
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ digests: 1, failed: 1, givenUp: 0 });
    }
    const last = await swl(pkg, ['notices', 'run', '--now', at(4), '--exec', 'exit 75'], { env: desk.env });
    expect(last.code).toBe(1);
    expect(last.stdout).toContain('sent 0, failed 1; 1 notice(s) given up after their last attempt');
    expect(last.stderr).toBe('swl: 1 notice(s) given up after their last attempt\n');
    expect(last.stderr).toBe('swl: 1 notice(s) given up after their last attempt\n');
    const given = await orm.em.fork().findOneOrFail(Notice, { subjectId: request.id });
    expect(given).toMatchObject({ status: 'fallido', attempts: 5, lastError: 'the sender exited with 75' });
    const after = await swl(pkg, ['notices', 'run', '--now', at(5), '--exec', 'exit 75'], { env: desk.env });
    expect(after.code).toBe(0);
    expect(after.stdout).toContain('0 digest(s)');
  });
});
