/**
 * `swl sweep`: the desk's periodic job for reservations and holds (issue 16) — bookings nobody
 * collected before their pickup deadline become no-shows (`ReservationService.recordNoShows`),
 * holds whose set-aside copy was not collected expire and pass the copy to the next hold in line
 * (`HoldService.expireHolds`). Acts as the default admin (`src/cli/acting-admin.ts`), on the
 * system clock. Meant for a cron job every few minutes; each call handles at most 500 of each and
 * says when more are left. Changes only what is overdue, so it asks nothing.
 *
 * @module
 * @internal
 */
import { HoldService } from '../../holds/hold.service.ts';
import { ReservationService } from '../../reservations/reservation.service.ts';
import { actingAdmin } from '../acting-admin.ts';
import type { RegisterCommands } from './index.ts';

/** At most this many of each per call (the services' default). */
const BATCH = 500;

/** What `swl sweep` did. */
export interface SweepReport {
  asOf: string;
  /** Bookings marked `no_recogida`. */
  noShows: number[];
  /** Holds that expired. */
  expiredHolds: number[];
  /** Holds their copies were set aside for next. */
  setAsideForHolds: number[];
  /** True when a batch was full: run it again. */
  more: boolean;
}

export const registerSweep: RegisterCommands = (program, context) => {
  program
    .command('sweep')
    .description(
      'record no-shows of bookings past their pickup deadline and expire holds past theirs (each copy goes ' +
        'to the next hold), as the default admin; for a cron job every few minutes',
    )
    .action(async (_options: Record<string, never>, command) => {
      const ctx = context(command);
      const report = await ctx.withOrm(async (orm): Promise<SweepReport> => {
        const admin = await actingAdmin(orm.em.fork(), 'sweep reservations and holds');
        const noShows = await new ReservationService(orm.em.fork()).recordNoShows(admin, { limit: BATCH });
        const holds = await new HoldService(orm.em.fork()).expireHolds(admin, { limit: BATCH });
        return {
          asOf: noShows.asOf.toISOString(),
          noShows: noShows.reservationIds,
          expiredHolds: holds.expired,
          setAsideForHolds: holds.setAside,
          more: noShows.reservationIds.length === BATCH || holds.expired.length === BATCH,
        };
      });
      ctx.print(report, (r) => [
        `no-shows: ${r.noShows.length} booking(s) past their pickup deadline${r.noShows.length ? ` (${r.noShows.join(', ')})` : ''}`,
        `holds: ${r.expiredHolds.length} expired, ${r.setAsideForHolds.length} copy(ies) set aside for the next in line`,
        ...(r.more ? ['more are waiting: run swl sweep again'] : []),
      ]);
    });
};
