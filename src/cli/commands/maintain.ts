/**
 * `swl maintain`: the original system's "Optimizing PostgreSQL" step for both databases —
 * PostgreSQL `ANALYZE` then `VACUUM` (`--full`: `VACUUM FULL`, which rewrites the tables under an
 * exclusive lock); SQLite `PRAGMA optimize`, `VACUUM`, and a WAL checkpoint — run outside any
 * transaction (`VACUUM` cannot run inside one), reporting what ran and the size before and after.
 * Source: docs/legacy/000_266b31aaf8610e4d.txt "Optimizing PostgreSQL"; issue 14.
 *
 * @module
 * @internal
 */
import { maintainDatabase } from '../../operations/database.ts';
import type { RegisterCommands } from './index.ts';
import { describeSize } from './stats.ts';

export const registerMaintain: RegisterCommands = (program, context) => {
  program
    .command('maintain')
    .description(
      'refresh planner statistics and reclaim space: PostgreSQL ANALYZE + VACUUM; SQLite ' +
        'PRAGMA optimize + VACUUM + WAL checkpoint; prints what ran and the size before/after',
    )
    .option(
      '--full',
      'PostgreSQL: VACUUM FULL (rewrites every table; takes an exclusive lock). SQLite: no change',
    )
    .action(async (options: { full?: boolean }, command) => {
      const ctx = context(command);
      const report = await ctx.withOrm((orm) =>
        maintainDatabase(orm.em.fork(), { full: options.full === true }),
      );
      ctx.print(report, (r) => [
        ...r.ran.map((statement) => `ran: ${statement}`),
        `size before: ${describeSize(r.before)}`,
        `size after:  ${describeSize(r.after)}`,
        `took ${r.ms} ms`,
      ]);
    });
};
