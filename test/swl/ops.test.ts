/**
 * `swl visits purge`, `swl sweep`, `swl stats` and `swl maintain`, run as an operator runs them: the packed
 * tarball's `swl` as a child process, on every database, after `swl init` and a few loans and
 * visits made with the library's services from this process. Source: issue 14.
 */
import type { MikroORM } from '@mikro-orm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { CatalogEntry } from '../../src/entities/catalog-entry.entity.ts';
import { Reservation } from '../../src/entities/reservation.entity.ts';
import { ReservationService } from '../../src/reservations/reservation.service.ts';
import { VisitorLogService } from '../../src/visitors/visitor-log.service.ts';
import {
  createTestDatabase,
  describeEachDialect,
  rowCounts,
  type ScratchDatabase,
} from '../support/fixtures.ts';
import { type InstalledPackage, installedPackage, swl } from '../support/installed-package.ts';
import { DAY, type OperatedDesk, operatedDesk } from './desk.ts';

const HOUR = 3_600_000;

let pkg: InstalledPackage;
beforeAll(async () => {
  pkg = await installedPackage();
}, 300_000);

describe('swl: the operations commands', () => {
  it('--help on visits purge, stats, maintain and doctor exits 0 and describes each option', async () => {
    const cases: [string[], string[]][] = [
      [
        ['visits', 'purge'],
        ['--older-than <duration>', '--dry-run'],
      ],
      [['stats'], ['database size']],
      [['maintain'], ['--full', 'VACUUM']],
      [['doctor'], ['--max-per-rule <n>', 'integrity_check']],
    ];
    const runs = await Promise.all(cases.map(([command]) => swl(pkg, [...command, '--help'])));
    cases.forEach(([command, expected], k) => {
      const run = runs[k] as { code: number; stdout: string };
      expect(run.code, command.join(' ')).toBe(0);
      expect(run.stdout).toContain(`Usage: swl ${command.join(' ')} [options]`);
      for (const text of expected) expect(run.stdout).toContain(text);
    });
    const missing = await swl(pkg, ['visits', 'purge']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("required option '--older-than <duration>' not specified");
  });
});

describeEachDialect('swl visits purge, stats, maintain', (dialect) => {
  let db: ScratchDatabase;
  let orm: MikroORM;
  let env: Record<string, string | undefined>;
  let desk: OperatedDesk;
  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    desk = await operatedDesk(pkg, db);
    ({ env, orm } = desk);
    const { admin, now } = desk;

    // Visits: two older than 365 days, one recent.
    const visits = new VisitorLogService(orm.em.fork());
    for (const daysAgo of [400, 366, 10]) {
      await visits.recordVisit(admin, {
        visitorName: 'Ana Pérez',
        visitorId: '1020304050',
        role: 'student',
        activity: 'estudio',
        entryTime: new Date(now - daysAgo * DAY).toISOString(),
      });
    }
  }, 120_000);
  afterAll(async () => {
    await orm?.close(true);
    await db?.drop();
  });

  it('sweep marks a booking nobody collected before its pickup deadline as a no-show', async () => {
    const em = orm.em.fork();
    const videoBeam = await em.findOneOrFail(CatalogEntry, { titleOrName: 'VideoBeam' });
    // Booked two hours ago for an hour later: its 30-minute pickup window ended half an hour ago.
    const past = new ReservationService(orm.em.fork(), {
      clock: new ManualClock(new Date(Date.now() - 2 * HOUR)),
    });
    const booking = await past.reserve(desk.admin, {
      catalogEntryId: videoBeam.id,
      startsAt: new Date(Date.now() - HOUR),
      endsAt: new Date(Date.now() - HOUR / 2),
    });
    const run = await swl(pkg, ['sweep', '--json'], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ noShows: [booking.id], expiredHolds: [], more: false });
    expect((await orm.em.fork().findOneOrFail(Reservation, booking.id)).status).toBe('no_recogida');
    const again = await swl(pkg, ['sweep'], { env });
    expect(again.stdout).toContain('no-shows: 0 booking(s)');
  });

  it('purge --dry-run counts and deletes nothing; without --yes and no terminal: exit 2; --yes deletes; then 0 left', async () => {
    const dry = await swl(pkg, ['visits', 'purge', '--older-than', '365d', '--dry-run', '--json'], { env });
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({
      dryRun: true,
      olderThanDays: 365,
      matched: 2,
      deleted: 0,
    });
    expect((await rowCounts(orm, ['swl_library_log'])).swl_library_log).toBe(3);

    const refused = await swl(pkg, ['visits', 'purge', '--older-than', '365d'], { env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^swl: delete 2 visitor-log entries .*pass --yes\n$/);
    expect((await rowCounts(orm, ['swl_library_log'])).swl_library_log).toBe(3);

    const purged = await swl(pkg, ['visits', 'purge', '--older-than', '365d', '--yes', '--json'], { env });
    expect(purged.code, purged.stderr).toBe(0);
    expect(JSON.parse(purged.stdout)).toMatchObject({ dryRun: false, matched: 2, deleted: 2 });
    expect((await rowCounts(orm, ['swl_library_log'])).swl_library_log).toBe(1);

    const again = await swl(pkg, ['visits', 'purge', '--older-than', '365d', '--dry-run'], { env });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('dry run: 0 visitor-log entries older than 365 days');

    const bad = await swl(pkg, ['visits', 'purge', '--older-than', '1y', '--dry-run'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe(
      "swl: --older-than must be whole days written <n>d, 1d to 36500d (e.g. 365d); got '1y'",
    );
  });

  it('stats: size, rows per table, loans by status and overdue match the database', async () => {
    const run = await swl(pkg, ['stats', '--json'], { env });
    expect(run.code, run.stderr).toBe(0);
    const stats = JSON.parse(run.stdout);
    expect(stats.tables).toEqual(await rowCounts(orm));
    expect(stats.tables.swl_loan).toBe(4);
    expect(stats.loans.byStatus).toEqual({ pendiente: 1, aprobado: 1, devuelto: 1, rechazado: 1 });
    expect(stats.loans.overdue).toBe(1);
    const conn = orm.em.fork().getConnection();
    if (dialect === 'postgresql') {
      const [row] = await conn.execute<{ bytes: string }[]>(
        'select pg_database_size(current_database()) as bytes',
      );
      expect(stats.size.dialect).toBe('postgresql');
      expect(Math.abs(stats.size.bytes - Number(row?.bytes))).toBeLessThan(Number(row?.bytes) / 10);
    } else {
      const [pages] = await conn.execute<{ page_count: number }[]>('pragma page_count');
      const [pageSize] = await conn.execute<{ page_size: number }[]>('pragma page_size');
      expect(stats.size.mainBytes).toBe(Number(pages?.page_count) * Number(pageSize?.page_size));
      expect(stats.size.bytes).toBe(stats.size.mainBytes + stats.size.walBytes);
      expect(stats.size.file).toBe(db.file);
    }
    const text = await swl(pkg, ['stats'], { env });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^database \((sqlite|postgresql)\): /);
    expect(text.stdout).toContain('loans: pendiente 1, aprobado 1, devuelto 1, rechazado 1');
  });

  it('maintain runs ANALYZE/VACUUM (PostgreSQL) or PRAGMA optimize/VACUUM (SQLite) and reports the size', async () => {
    const run = await swl(pkg, ['maintain', '--json'], { env });
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.ran).toEqual(
      dialect === 'postgresql'
        ? ['ANALYZE', 'VACUUM']
        : ['PRAGMA OPTIMIZE', 'VACUUM', 'PRAGMA WAL_CHECKPOINT(TRUNCATE)'],
    );
    expect(report.before.bytes).toBeGreaterThan(0);
    expect(report.after.bytes).toBeGreaterThan(0);
    expect((await rowCounts(orm)).swl_loan).toBe(4);
  });
});
