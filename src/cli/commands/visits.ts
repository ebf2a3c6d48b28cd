/**
 * `swl visits purge --older-than 365d [--dry-run]`: the visitor-log retention clean-up of the
 * original system's maintenance chapter ("Delete old library logs", `timedelta(days=365)`), through
 * `VisitorLogService.purge`.
 *
 * The operator acts as the system's administrator: the purge runs as the default admin seeded by
 * `swl init` (document `1000000000`) when it is active, else as the active admin with the lowest
 * id — the same rule `swl init` uses to seed the inventory — so the service's capability check
 * (`visitor-log:purge`, admin only), validation (1..36500 days) and cut-off apply unchanged. A
 * database without an active admin is refused (`CONFLICT`).
 *
 * The count shown (and asked about) and the purge use one instant: the purge runs on a clock fixed
 * at it, so the cut-off is the same. The purge is the service's single `DELETE … WHERE entry_time <
 * cutoff` (one statement, all or nothing), so there is no progress bar and nothing for Ctrl-C to
 * stop half-way.
 *
 * Durations: `<n>d` only (whole 24-hour days, e.g. `365d`); no duration library is a dependency,
 * and the retention is counted in days, so a strict tiny parser takes exactly that.
 *
 * Source: docs/legacy/000_266b31aaf8610e4d.txt "Cleaning Up Old Data"; issue 14.
 *
 * @module
 * @internal
 */
import { ManualClock } from '../../clock.ts';
import { countVisitsOlderThan } from '../../operations/database.ts';
import { VisitorLogService } from '../../visitors/visitor-log.service.ts';
import { actingAdmin } from '../acting-admin.ts';
import { UsageError } from '../context.ts';
import type { RegisterCommands } from './index.ts';

/** Largest retention `purge` accepts, in days (`PurgeVisitsInput`). */
const MAX_DAYS = 36_500;

/**
 * Parses a retention like `365d` into whole days (1..36500). Strict: digits then `d`, nothing
 * else (no hours, no spaces, no sign).
 * @throws UsageError otherwise.
 */
export function parseDays(text: string): number {
  const match = /^([0-9]{1,6})d$/.exec(text);
  const days = match ? Number(match[1]) : Number.NaN;
  if (!Number.isInteger(days) || days < 1 || days > MAX_DAYS) {
    throw new UsageError(
      `--older-than must be whole days written <n>d, 1d to ${MAX_DAYS}d (e.g. 365d); got '${text}'`,
    );
  }
  return days;
}

/** What `swl visits purge` did (or, with `--dry-run`, would do). */
export interface VisitsPurgeReport {
  dryRun: boolean;
  olderThanDays: number;
  /** Visits with an entry time before this instant are the ones purged. */
  cutoff: string;
  /** Visits older than the cut-off when the command started. */
  matched: number;
  /** Visits deleted (0 with `--dry-run`, or when the confirmation was declined). */
  deleted: number;
  /** True when the confirmation was answered no. */
  declined?: boolean;
}

export const registerVisits: RegisterCommands = (program, context) => {
  const visits = program.command('visits').description('the visitor entry log: retention');
  visits
    .command('purge')
    .description(
      'delete visitor-log entries older than the retention (entry time before now − N days, UTC), ' +
        'as the default admin through the library’s purge; asks first (or --yes)',
    )
    .requiredOption('--older-than <duration>', 'retention in whole days, <n>d (e.g. 365d)')
    .option('--dry-run', 'count what would be deleted; delete nothing')
    .action(async (options: { olderThan: string; dryRun?: boolean }, command) => {
      const ctx = context(command);
      const olderThanDays = parseDays(options.olderThan);
      const report = await ctx.withOrm(async (orm): Promise<VisitsPurgeReport> => {
        const em = orm.em.fork();
        const now = new Date();
        const { cutoff, count } = await countVisitsOlderThan(em, olderThanDays, now);
        const base = { olderThanDays, cutoff: cutoff.toISOString(), matched: count };
        if (options.dryRun) return { dryRun: true, ...base, deleted: 0 };
        if (count === 0) return { dryRun: false, ...base, deleted: 0 };
        const yes = await ctx.confirm(
          `delete ${count} visitor-log entr${count === 1 ? 'y' : 'ies'} from before ${base.cutoff}?`,
        );
        if (!yes) return { dryRun: false, ...base, deleted: 0, declined: true };
        const admin = await actingAdmin(em, 'purge the visitor log');
        const service = new VisitorLogService(orm.em.fork(), { clock: new ManualClock(now) });
        const result = await service.purge(admin, { olderThanDays });
        return { dryRun: false, ...base, cutoff: result.cutoff.toISOString(), deleted: result.deleted };
      });
      ctx.print(report, (r) =>
        r.dryRun
          ? `dry run: ${r.matched} visitor-log entr${r.matched === 1 ? 'y' : 'ies'} older than ${r.olderThanDays} days (before ${r.cutoff}) would be deleted; nothing deleted`
          : r.declined
            ? `not confirmed: nothing deleted (${r.matched} entries older than ${r.olderThanDays} days)`
            : `deleted ${r.deleted} visitor-log entr${r.deleted === 1 ? 'y' : 'ies'} older than ${r.olderThanDays} days (before ${r.cutoff})`,
      );
    });
};
