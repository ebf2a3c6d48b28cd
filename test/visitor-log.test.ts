import { beforeAll, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.ts';
import type { VisitorRole } from '../src/domain/vocabulary.ts';
import { LibraryLog } from '../src/entities/index.ts';
import type { Actor } from '../src/permissions.ts';
import { preparePostgresStatements } from '../src/postgres.ts';
import { VisitorLogService } from '../src/visitors/visitor-log.service.ts';
import {
  createTestUser,
  describeEachDialect,
  expectSwlError,
  rowCounts,
  useTestOrm,
} from './support/fixtures.ts';

const ROLES: VisitorRole[] = ['student', 'teacher', 'visitor', 'staff', 'student', 'admin', 'student'];
const ACTIVITIES = ['estudio', 'consulta', 'préstamo', 'impresión', 'estudio grupal'];
const MARCH = { from: '2026-03-01T00:00:00Z', to: '2026-04-01T00:00:00Z' };

interface SeededVisit {
  entryTime: Date;
  role: VisitorRole;
  activity: string;
}

/** A deterministic month of visits, including both edges of UTC days and of the month. */
function marchVisits(): SeededVisit[] {
  const visits: SeededVisit[] = [];
  let k = 0;
  for (let day = 1; day <= 31; day++) {
    const perDay = ((day * 7) % 5) + (day % 3 === 0 ? 0 : 1); // 0..5 visits, some days none
    for (let v = 0; v < perDay; v++) {
      const ms =
        v === 0
          ? 0
          : v === 1
            ? 86_400_000 - 1
            : ((v * 5 + day) % 24) * 3_600_000 + ((day * 13 + v) % 60) * 60_000;
      visits.push({
        entryTime: new Date(Date.UTC(2026, 2, day) + ms),
        role: ROLES[k % ROLES.length]!,
        activity: ACTIVITIES[(k * 3) % ACTIVITIES.length]!,
      });
      k++;
    }
  }
  return visits;
}

function tally<T>(items: T[], key: (t: T) => string): Array<{ key: string; visits: number }> {
  const m = new Map<string, number>();
  for (const item of items) m.set(key(item), (m.get(key(item)) ?? 0) + 1);
  return [...m.entries()]
    .map(([k, visits]) => ({ key: k, visits }))
    .sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
}

describeEachDialect('visitor log', (dialect) => {
  // PostgreSQL sessions run in Bogotá time (UTC−5), so day buckets that were not computed in
  // UTC would put the late-evening visits on the wrong day. (SQLite has no session time zone.)
  const t = useTestOrm(dialect, {
    overrides:
      dialect === 'postgresql'
        ? {
            driverOptions: {
              options: '-c TimeZone=America/Bogota',
              onPoolCreated: preparePostgresStatements,
            },
          }
        : {},
  });
  let admin: Actor;
  let staff: Actor;
  let student: Actor;
  const clock = new ManualClock('2026-04-15T12:00:00Z');
  const visits = (c: ManualClock = clock) => new VisitorLogService(t.orm.em.fork(), { clock: c });
  const seeded = marchVisits();

  beforeAll(async () => {
    admin = await createTestUser(t.orm, 'admin');
    staff = await createTestUser(t.orm, 'staff');
    student = await createTestUser(t.orm, 'student');
    let n = 0;
    for (const v of seeded) {
      n++;
      await visits().recordVisit(staff, {
        visitorName: `Visitante ${n}`,
        visitorId: `V${n}`,
        role: v.role,
        activity: v.activity,
        entryTime: v.entryTime,
      });
    }
    // Just outside March on both sides: must never be counted.
    for (const entryTime of ['2026-02-28T23:59:59.999Z', '2026-04-01T00:00:00.000Z']) {
      await visits().recordVisit(staff, {
        visitorName: 'Fuera',
        visitorId: 'OUT',
        role: 'visitor',
        activity: 'estudio',
        entryTime,
      });
    }
  });

  it('records a visit at the clock’s now by default, linked to its user and recorder', async () => {
    const c = new ManualClock('2026-04-15T12:00:00Z');
    const v = await visits(c).recordVisit(staff, {
      visitorName: '  Ana Pérez ',
      visitorId: '1020304050',
      role: 'student',
      activity: 'consulta',
      userId: student.id,
    });
    expect(v).toMatchObject({
      visitorName: 'Ana Pérez',
      visitorId: '1020304050',
      role: 'student',
      activity: 'consulta',
      userId: student.id,
      recordedById: staff.id,
    });
    expect(v.entryTime.toISOString()).toBe('2026-04-15T12:00:00.000Z');
    const stored = await t.orm.em.fork().findOneOrFail(LibraryLog, v.id);
    expect(stored.entryTime.toISOString()).toBe('2026-04-15T12:00:00.000Z');
    expect(stored.user?.id).toBe(student.id);
    await t.orm.em.fork().nativeDelete(LibraryLog, { id: v.id });
  });

  it('computes per-day statistics in UTC that add up to the month’s visits', async () => {
    expect(seeded.length).toBeGreaterThan(60);
    const stats = await visits().statistics(staff, { ...MARCH, groupBy: 'day' });
    expect(stats.total).toBe(seeded.length);
    expect(stats.rows.reduce((s, r) => s + r.visits, 0)).toBe(seeded.length);
    expect(stats.rows).toEqual(tally(seeded, (v) => v.entryTime.toISOString().slice(0, 10)));
    expect(stats.rows.every((r) => /^2026-03-\d\d$/.test(r.key))).toBe(true);
    // Days with no visits are absent (day 3, 6, … have (day*7)%5 visits, 0 for day 15 and 30).
    expect(stats.rows.map((r) => r.key)).not.toContain('2026-03-15');
    expect(stats.from.toISOString()).toBe('2026-03-01T00:00:00.000Z');
    expect(stats.groupBy).toBe('day');
  });

  it('computes per-role and per-activity statistics that add up to the month’s visits', async () => {
    const byRole = await visits().statistics(admin, { ...MARCH, groupBy: 'role' });
    expect(byRole.rows).toEqual(tally(seeded, (v) => v.role));
    expect(byRole.rows.reduce((s, r) => s + r.visits, 0)).toBe(byRole.total);
    expect(byRole.total).toBe(seeded.length);
    const byActivity = await visits().statistics(staff, { ...MARCH, groupBy: 'activity' });
    expect(byActivity.rows).toEqual(tally(seeded, (v) => v.activity));
    expect(byActivity.rows.reduce((s, r) => s + r.visits, 0)).toBe(seeded.length);
    expect(byActivity.rows.map((r) => r.key)).toContain('préstamo');
    // One day only: both edges of the day count, the next midnight does not.
    const day = await visits().statistics(staff, {
      from: '2026-03-01T00:00:00Z',
      to: '2026-03-02T00:00:00Z',
      groupBy: 'role',
    });
    expect(day.total).toBe(seeded.filter((v) => v.entryTime.toISOString().startsWith('2026-03-01')).length);
  });

  it('lists visits newest first with filters and pagination', async () => {
    const all = await visits().list(staff, { ...MARCH, limit: 500 });
    expect(all.total).toBe(seeded.length);
    const times = all.items.map((v) => v.entryTime.getTime());
    expect(times).toEqual([...times].sort((a, b) => b - a));
    for (let k = 1; k < all.items.length; k++) {
      const [prev, cur] = [all.items[k - 1]!, all.items[k]!];
      if (prev.entryTime.getTime() === cur.entryTime.getTime()) expect(prev.id).toBeGreaterThan(cur.id);
    }
    const teachers = await visits().list(staff, { ...MARCH, role: 'teacher', limit: 3, offset: 1 });
    expect(teachers.total).toBe(seeded.filter((v) => v.role === 'teacher').length);
    expect(teachers.items).toHaveLength(3);
    expect(teachers.items.every((v) => v.role === 'teacher')).toBe(true);
    const study = await visits().list(staff, { ...MARCH, activity: 'estudio', limit: 500 });
    expect(study.total).toBe(seeded.filter((v) => v.activity === 'estudio').length);
    const one = await visits().list(staff, { ...MARCH, visitorId: 'V1' });
    expect(one.items.map((v) => v.visitorName)).toEqual(['Visitante 1']);
  });

  it('refuses students, and staff purging, with FORBIDDEN, writing nothing', async () => {
    const before = await rowCounts(t.orm);
    const teacher = { id: student.id, role: 'teacher' } as const;
    for (const who of [student, teacher]) {
      await expectSwlError(
        visits().recordVisit(who, { visitorName: 'X', visitorId: '1', role: 'student', activity: 'a' }),
        'FORBIDDEN',
      );
      await expectSwlError(visits().list(who, MARCH), 'FORBIDDEN');
      await expectSwlError(visits().statistics(who, { ...MARCH, groupBy: 'day' }), 'FORBIDDEN');
      await expectSwlError(visits().purge(who, { olderThanDays: 1 }), 'FORBIDDEN');
    }
    await expectSwlError(visits().purge(staff, { olderThanDays: 1 }), 'FORBIDDEN');
    expect(await rowCounts(t.orm)).toEqual(before);
  });

  it('refuses bad input to every command with VALIDATION_FAILED or NOT_FOUND, writing nothing', async () => {
    const before = await rowCounts(t.orm);
    const svc = () => visits() as unknown as Record<string, (a: Actor, i: unknown) => Promise<unknown>>;
    const ok = { visitorName: 'A', visitorId: '1', role: 'student', activity: 'estudio' };
    const cases: Array<[string, unknown, 'VALIDATION_FAILED' | 'NOT_FOUND']> = [
      ['recordVisit', {}, 'VALIDATION_FAILED'],
      ['recordVisit', { ...ok, visitorName: '' }, 'VALIDATION_FAILED'],
      ['recordVisit', { ...ok, visitorName: 'n'.repeat(101) }, 'VALIDATION_FAILED'],
      ['recordVisit', { ...ok, visitorId: '1'.repeat(21) }, 'VALIDATION_FAILED'],
      ['recordVisit', { ...ok, activity: '   ' }, 'VALIDATION_FAILED'],
      ['recordVisit', { ...ok, activity: 'a'.repeat(51) }, 'VALIDATION_FAILED'],
      ['recordVisit', { ...ok, role: 'alien' }, 'VALIDATION_FAILED'],
      ['recordVisit', { ...ok, entryTime: 'yesterday' }, 'VALIDATION_FAILED'],
      ['recordVisit', { ...ok, entryTime: '2026-03-01T10:00:00' }, 'VALIDATION_FAILED'],
      ['recordVisit', { ...ok, entryTime: new Date('nope') }, 'VALIDATION_FAILED'],
      ['recordVisit', { ...ok, entryTime: '2026-04-15T12:00:00.001Z' }, 'VALIDATION_FAILED'],
      ['recordVisit', { ...ok, userId: -1 }, 'VALIDATION_FAILED'],
      ['recordVisit', { ...ok, recordedBy: 1 }, 'VALIDATION_FAILED'],
      ['recordVisit', { ...ok, userId: 999_999 }, 'NOT_FOUND'],
      ['list', {}, 'VALIDATION_FAILED'],
      ['list', { from: MARCH.to, to: MARCH.from }, 'VALIDATION_FAILED'],
      ['list', { ...MARCH, limit: 1000 }, 'VALIDATION_FAILED'],
      ['list', { ...MARCH, role: 'x' }, 'VALIDATION_FAILED'],
      ['list', { ...MARCH, sort: 'asc' }, 'VALIDATION_FAILED'],
      ['statistics', { ...MARCH }, 'VALIDATION_FAILED'],
      ['statistics', { ...MARCH, groupBy: 'week' }, 'VALIDATION_FAILED'],
      ['statistics', { ...MARCH, groupBy: 'entry_time); drop table swl_user; --' }, 'VALIDATION_FAILED'],
      ['statistics', { from: MARCH.from, to: MARCH.from, groupBy: 'day' }, 'VALIDATION_FAILED'],
      ['purge', {}, 'VALIDATION_FAILED'],
      ['purge', { olderThanDays: 0 }, 'VALIDATION_FAILED'],
      ['purge', { olderThanDays: -30 }, 'VALIDATION_FAILED'],
      ['purge', { olderThanDays: 1.5 }, 'VALIDATION_FAILED'],
      ['purge', { olderThanDays: '30' }, 'VALIDATION_FAILED'],
      ['purge', { olderThanDays: 36_501 }, 'VALIDATION_FAILED'],
    ];
    for (const [method, input, code] of cases) {
      await expectSwlError(svc()[method]!(admin, input), code);
    }
    expect(await rowCounts(t.orm)).toEqual(before);
  });

  it('purges exactly the visits older than the cut-off; one exactly at the cut-off stays', async () => {
    // Work in 2025 so the March 2026 month above is untouched.
    const c = new ManualClock('2025-06-30T12:00:00Z');
    const cutoff = new Date('2025-05-31T12:00:00Z'); // 30 days before
    const times = [
      '2025-01-01T00:00:00.000Z',
      '2025-05-31T11:59:59.999Z', // 1 ms before the cut-off: deleted
      '2025-05-31T12:00:00.000Z', // exactly at the cut-off: kept
      '2025-05-31T12:00:00.001Z',
      '2025-06-30T12:00:00.000Z',
    ];
    for (const entryTime of times) {
      await visits(c).recordVisit(staff, {
        visitorName: 'P',
        visitorId: 'PURGE',
        role: 'visitor',
        activity: 'x',
        entryTime,
      });
    }
    const em = t.orm.em.fork();
    const total = await em.count(LibraryLog, {});
    const older = await em.count(LibraryLog, { entryTime: { $lt: cutoff } });
    expect(older).toBe(2 + 0); // nothing else in the log is that old
    const result = await visits(c).purge(admin, { olderThanDays: 30 });
    expect(result.cutoff.toISOString()).toBe(cutoff.toISOString());
    expect(result.deleted).toBe(older);
    const left = await t.orm.em
      .fork()
      .find(LibraryLog, { visitorId: 'PURGE' }, { orderBy: { entryTime: 'asc' } });
    expect(left.map((l) => l.entryTime.toISOString())).toEqual(times.slice(2));
    expect(await t.orm.em.fork().count(LibraryLog, {})).toBe(total - older);
    // The March 2026 statistics are unaffected; a second purge finds nothing.
    expect((await visits().statistics(staff, { ...MARCH, groupBy: 'day' })).total).toBe(seeded.length);
    expect((await visits(c).purge(admin, { olderThanDays: 30 })).deleted).toBe(0);
  });
});
