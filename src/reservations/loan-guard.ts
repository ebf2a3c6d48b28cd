/**
 * How loans see reservations (issue 16, "loans and reservations see each other"): an approval
 * whose due date would run into a booking is lent in the gap (its due date capped) or refused when
 * the gap is too short; a renewal that would run into one is refused with the date it could reach.
 * Both count exactly as a booking does (`src/reservations/availability.ts`): a loan is one unit of
 * its entry until its due date plus the buffer of the booking policy of its borrower's role.
 *
 * @module
 * @internal
 */
import { type Category, HOLDING_RESERVATION_STATUSES, HoldStatus, type Role } from '../domain/vocabulary.ts';
import { SwlError } from '../errors.ts';
import { instantParam, type SwlKysely } from '../kernel/db.ts';
import { firstInstantOver, readCopyCommitments, readStockTimeline } from './availability.ts';

const MINUTE_MS = 60_000;

/**
 * The shortest loan an approval makes in the gap before a booking, minutes: a capped due date
 * less than this after the approval is refused instead (`COPY_UNAVAILABLE`, `reason: 'reserved'`).
 */
export const MIN_GAP_LOAN_MINUTES = 60;

/** The buffer after a loan of `category` to a borrower of `role`: their booking policy's, else 0. */
export async function bufferMinutesFor(db: SwlKysely, category: Category, role: Role): Promise<number> {
  const row = await db
    .selectFrom('swl_reservation_policy')
    .select('buffer_minutes')
    .where('category', '=', category)
    .where('role', '=', role)
    .executeTakeFirst();
  return row ? Number(row.buffer_minutes) : 0;
}

/**
 * Whether anything but loans commits the entry's stock from `now` on: a holding booking not yet
 * over, or a copy set aside for a hold. Without either, one more loan always fits (every loan
 * holds the copy it counts, and the copy being lent is on the shelf), so the approval or renewal
 * skips the stock count — one indexed read instead of three on the common path.
 */
async function bookedOrHeld(
  db: SwlKysely,
  postgres: boolean,
  catalogEntryId: number,
  now: Date,
): Promise<boolean> {
  const booking = await db
    .selectFrom('swl_reservation')
    .select('id')
    .where('catalog_entry_id', '=', catalogEntryId)
    .where('status', 'in', [...HOLDING_RESERVATION_STATUSES])
    .where('blocks_until', '>', instantParam(postgres, now))
    .limit(1)
    .executeTakeFirst();
  if (booking) return true;
  const hold = await db
    .selectFrom('swl_hold')
    .select('id')
    .where('catalog_entry_id', '=', catalogEntryId)
    .where('status', '=', HoldStatus.AwaitingPickup)
    .limit(1)
    .executeTakeFirst();
  return hold !== undefined;
}

/**
 * The first instant of `[now, until)` from which one more unit of the entry (and, with `copyId`,
 * that copy) is no longer free, or null when it is free over the whole range.
 */
async function firstReservedInstant(
  db: SwlKysely,
  postgres: boolean,
  q: { catalogEntryId: number; copyId: number | null; now: Date; until: Date; excludeLoanId: number },
): Promise<{ at: Date; reservationId: number | null; holdId?: number } | null> {
  let first: { at: Date; reservationId: number | null; holdId?: number } | null = null;
  if (q.copyId !== null) {
    const held = await readCopyCommitments(db, postgres, {
      copyId: q.copyId,
      from: q.now,
      to: q.until,
      now: q.now,
      excludeLoanId: q.excludeLoanId,
    });
    const booking = held.find((c) => c.kind !== 'loan');
    if (booking) {
      first = {
        at: booking.from < q.now ? q.now : booking.from,
        reservationId: booking.kind === 'reservation' ? booking.id : null,
        ...(booking.kind === 'hold' ? { holdId: booking.id } : {}),
      };
    }
  }
  const timeline = await readStockTimeline(db, postgres, {
    catalogEntryId: q.catalogEntryId,
    from: q.now,
    to: q.until,
    now: q.now,
    excludeLoanId: q.excludeLoanId,
  });
  const full = firstInstantOver(timeline, 1);
  if (full && (!first || full < first.at)) first = { at: full, reservationId: null };
  return first;
}

/**
 * The due date an approval may give: `due` itself when nothing booked needs the stock before
 * `due` + buffer; else the first booked instant minus the buffer (`cappedBy` says so).
 * @throws SwlError `COPY_UNAVAILABLE` (`details.reason: 'reserved'`) when that leaves less than
 *   {@link MIN_GAP_LOAN_MINUTES}.
 */
export async function dueDateBeforeReservations(
  db: SwlKysely,
  postgres: boolean,
  q: {
    loanId: number;
    catalogEntryId: number;
    copyId: number;
    category: Category;
    role: Role;
    now: Date;
    due: Date;
  },
): Promise<{ dueDate: Date; cappedBy: { reservedFrom: Date; reservationId: number | null } | null }> {
  if (!(await bookedOrHeld(db, postgres, q.catalogEntryId, q.now))) return { dueDate: q.due, cappedBy: null };
  const buffer = (await bufferMinutesFor(db, q.category, q.role)) * MINUTE_MS;
  const first = await firstReservedInstant(db, postgres, {
    catalogEntryId: q.catalogEntryId,
    copyId: q.copyId,
    now: q.now,
    until: new Date(q.due.getTime() + buffer),
    excludeLoanId: q.loanId,
  });
  if (!first) return { dueDate: q.due, cappedBy: null };
  const capped = new Date(first.at.getTime() - buffer);
  if (capped.getTime() - q.now.getTime() < MIN_GAP_LOAN_MINUTES * MINUTE_MS) {
    throw new SwlError(
      'COPY_UNAVAILABLE',
      'the copies are reserved from then on; the gap is too short to lend',
      {
        reason: 'reserved',
        catalogEntryId: q.catalogEntryId,
        copyId: q.copyId,
        reservedFrom: first.at.toISOString(),
        reservationId: first.reservationId,
        minimumGapMinutes: MIN_GAP_LOAN_MINUTES,
      },
    );
  }
  return { dueDate: capped, cappedBy: { reservedFrom: first.at, reservationId: first.reservationId } };
}

/**
 * Refuses a renewal to `due` that would run into a booking.
 * @throws SwlError `HOLD_PENDING` (`details.reason: 'reserved'`, `couldReachUntil`: the latest due
 *   date the loan could have, never before its current one).
 */
export async function assertRenewalClearOfReservations(
  db: SwlKysely,
  postgres: boolean,
  q: {
    loanId: number;
    catalogEntryId: number;
    copyId: number | null;
    category: Category;
    role: Role;
    now: Date;
    currentDue: Date;
    due: Date;
  },
): Promise<void> {
  if (!(await bookedOrHeld(db, postgres, q.catalogEntryId, q.now))) return;
  const buffer = (await bufferMinutesFor(db, q.category, q.role)) * MINUTE_MS;
  const first = await firstReservedInstant(db, postgres, {
    catalogEntryId: q.catalogEntryId,
    copyId: q.copyId,
    now: q.now,
    until: new Date(q.due.getTime() + buffer),
    excludeLoanId: q.loanId,
  });
  if (!first) return;
  const reach = Math.max(q.currentDue.getTime(), first.at.getTime() - buffer);
  throw new SwlError('HOLD_PENDING', 'the item is reserved before the renewed due date', {
    loanId: q.loanId,
    reason: 'reserved',
    reservedFrom: first.at.toISOString(),
    reservationId: first.reservationId,
    couldReachUntil: new Date(reach).toISOString(),
  });
}
