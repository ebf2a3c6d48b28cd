/**
 * The visitor entry log: who came into the library, when and what for; listings, statistics
 * computed by the database, and a retention purge. Source: `docs/legacy/000_266b31aaf8610e4d.txt`
 * LibraryLog Table and "Cleaning Up Old Data"; docs/DESIGN.md §2 (LibraryLog: "make it good (stats,
 * retention)").
 *
 * @module
 */
import { type EntityManager, raw } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/sql';
import { LibraryLog } from '../entities/library-log.entity.ts';
import { User } from '../entities/user.entity.ts';
import { SwlError } from '../errors.ts';
import { defineCommand, defineQuery, ServiceBase, type ServiceOptions } from '../internal/service-base.ts';
import type { Actor } from '../permissions.ts';
import type { Page } from '../validation.ts';
import {
  ListVisitsInput,
  PurgeVisitsInput,
  RecordVisitInput,
  type VisitGrouping,
  VisitStatisticsInput,
} from './schemas.ts';
import { toVisitView, type VisitPurgeResult, type VisitStatistics, type VisitView } from './views.ts';

const DAY_MS = 86_400_000;

/**
 * The SQL expression of a statistics group. UTC days: on SQLite `entry_time` holds epoch
 * milliseconds (MikroORM 7), on PostgreSQL a `timestamptz`.
 */
function groupExpression(groupBy: VisitGrouping, postgres: boolean): string {
  switch (groupBy) {
    case 'day':
      return postgres
        ? `to_char(l.entry_time at time zone 'UTC', 'YYYY-MM-DD')`
        : `date(l.entry_time / 1000, 'unixepoch')`;
    case 'role':
      return 'l.role';
    case 'activity':
      return 'l.activity';
  }
}

/**
 * The body of `VisitorLogService.statistics`, shared with `ReportService.visits` (issue 17): one
 * `GROUP BY` query and one `count(*)` over `[from, to)` on `em`. @internal
 */
export async function readVisitStatistics(
  em: EntityManager,
  postgres: boolean,
  i: { from: Date; to: Date; groupBy: VisitGrouping },
): Promise<VisitStatistics> {
  const expression = groupExpression(i.groupBy, postgres);
  const period = { entryTime: { $gte: i.from, $lt: i.to } };
  const grouped = await (em as unknown as SqlEntityManager)
    .createQueryBuilder(LibraryLog, 'l')
    .select([raw(`${expression} as group_key`), raw('count(*) as visits')])
    .where(period)
    .groupBy(raw(expression))
    .execute<{ group_key: string; visits: number | string }[]>('all', false);
  const total = await em.count(LibraryLog, period);
  const rows = grouped
    .map((r) => ({ key: String(r.group_key), visits: Number(r.visits) }))
    .sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
  return { from: i.from, to: i.to, groupBy: i.groupBy, rows, total };
}

const RECORD_VISIT = defineCommand({
  name: 'visitor.recordVisit',
  capability: 'visitor-log:record',
  input: RecordVisitInput,
});
const PURGE = defineCommand({
  name: 'visitor.purge',
  capability: 'visitor-log:purge',
  input: PurgeVisitsInput,
});
const LIST = defineQuery({ capability: 'visitor-log:read', input: ListVisitsInput });
const STATISTICS = defineQuery({ capability: 'visitor-log:read', input: VisitStatisticsInput });

/**
 * Records and reports visits to the library.
 *
 * Capabilities (docs/DESIGN.md §6): `recordVisit` `visitor-log:record`, `list` and `statistics`
 * `visitor-log:read` (staff, admin); `purge` `visitor-log:purge` (admin only). Every method takes
 * the acting user first, validates its input with the exported zod schema and checks the
 * capability before touching the database. Instants are UTC; the default entry time and the
 * purge cut-off come from the injected clock. Only {@link SwlError} is thrown.
 *
 * @example
 * ```ts
 * const visits = new VisitorLogService(em, { clock });
 * await visits.recordVisit(staff, { visitorName: 'Ana Pérez', visitorId: '1020304050', role: 'student', activity: 'estudio' });
 * const perDay = await visits.statistics(staff, { from: '2026-03-01T00:00:00Z', to: '2026-04-01T00:00:00Z', groupBy: 'day' });
 * await visits.purge(admin, { olderThanDays: 365 });
 * ```
 */
export class VisitorLogService extends ServiceBase {
  /**
   * @param em - the caller's EntityManager (a request-scoped fork, or the one of an open host transaction).
   * @param options - clock and event bus.
   */
  constructor(em: EntityManager, options: ServiceOptions = {}) {
    super(em, options);
  }

  /**
   * Records a visit. `entryTime` defaults to the clock's now and may not be later than it.
   *
   * @param actor - acting user; capability `visitor-log:record` (staff, admin). Recorded as `recordedBy`.
   * @param input - {@link RecordVisitInput}.
   * @returns the recorded visit.
   * @throws SwlError `VALIDATION_FAILED` (including an entry time in the future), `FORBIDDEN`,
   *   `NOT_FOUND` (`userId`), `IDEMPOTENCY_KEY_REUSED`, `CAPACITY_EXCEEDED`, `CONFLICT`, `UNAVAILABLE`.
   */
  async recordVisit(actor: Actor, input: RecordVisitInput): Promise<VisitView> {
    return this.command(RECORD_VISIT, actor, input, async ({ em, now, actor: a, input: i }) => {
      const entryTime = i.entryTime ?? now;
      if (entryTime.getTime() > now.getTime()) {
        throw new SwlError('VALIDATION_FAILED', 'the entry time is in the future', {
          issues: [{ path: ['entryTime'], code: 'too_big', message: 'must not be after the current time' }],
        });
      }
      const user = i.userId === undefined ? null : await em.findOne(User, i.userId);
      if (i.userId !== undefined && !user) throw SwlError.notFound('user', i.userId);
      const log = em.create(LibraryLog, {
        visitorName: i.visitorName,
        visitorId: i.visitorId,
        role: i.role,
        activity: i.activity,
        entryTime,
        user,
        recordedBy: em.getReference(User, a.id),
      });
      await em.flush();
      return toVisitView(log);
    });
  }

  /**
   * Visits in `[from, to)`, newest first (`entryTime` desc, `id` desc), with optional exact
   * filters on role, activity and visitor id.
   *
   * @param actor - acting user; capability `visitor-log:read` (staff, admin).
   * @param input - {@link ListVisitsInput}.
   * @returns a page of visits and the total number of matches.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `UNAVAILABLE`.
   */
  async list(actor: Actor, input: ListVisitsInput): Promise<Page<VisitView>> {
    return this.query(LIST, actor, input, async (em, _actor, i) => {
      const [logs, total] = await em.findAndCount(
        LibraryLog,
        {
          entryTime: { $gte: i.from, $lt: i.to },
          ...(i.role ? { role: i.role } : {}),
          ...(i.activity ? { activity: i.activity } : {}),
          ...(i.visitorId ? { visitorId: i.visitorId } : {}),
        },
        { orderBy: { entryTime: 'desc', id: 'desc' }, limit: i.limit, offset: i.offset },
      );
      return { items: logs.map(toVisitView), total, limit: i.limit, offset: i.offset };
    });
  }

  /**
   * Visit counts in `[from, to)` grouped by UTC day (`YYYY-MM-DD`), role or activity, computed
   * with one `GROUP BY` query; `total` is a separate `count(*)` over the same period.
   *
   * @param actor - acting user; capability `visitor-log:read` (staff, admin).
   * @param input - {@link VisitStatisticsInput}.
   * @returns rows ordered by key, and the total.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `UNAVAILABLE`.
   */
  async statistics(actor: Actor, input: VisitStatisticsInput): Promise<VisitStatistics> {
    return this.query(STATISTICS, actor, input, (em, _actor, i) => readVisitStatistics(em, this.postgres, i));
  }

  /**
   * Deletes visits with `entryTime < now − olderThanDays × 24 h` (the retention clean-up of the
   * seed's maintenance section). A visit exactly at the cut-off is kept.
   *
   * @param actor - acting user; capability `visitor-log:purge` (admin only).
   * @param input - {@link PurgeVisitsInput}.
   * @returns how many visits were deleted, and the cut-off instant.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `CONFLICT`, `UNAVAILABLE`.
   */
  async purge(actor: Actor, input: PurgeVisitsInput): Promise<VisitPurgeResult> {
    return this.command(PURGE, actor, input, async ({ em, now, input: i }) => {
      const cutoff = new Date(now.getTime() - i.olderThanDays * DAY_MS);
      const deleted = await em.nativeDelete(LibraryLog, { entryTime: { $lt: cutoff } });
      return { deleted, cutoff };
    });
  }
}
