/**
 * Reservations (issue 16) on every database: booking, the stock count, touching ranges and
 * buffers, confirmation, pickup into loans, no-shows by the injected clock, the availability
 * calendar, and how loan approvals and renewals see bookings.
 */
import { describe, expect, it } from 'vitest';
import { LoanService } from '../src/loans/loan.service.ts';
import { checkInvariants } from '../src/operations/invariants.ts';
import { ReservationService } from '../src/reservations/reservation.service.ts';
import {
  type Desk,
  describeEachDialect,
  expectSwlError,
  rowCounts,
  T0,
  useDesk,
} from './support/fixtures.ts';

const HOUR = 60 * 60 * 1000;
const MINUTE = 60 * 1000;
/** `h` hours after the desk's clock start (T0 = 2026-03-02 13:00 UTC). */
const at = (h: number) => new Date(new Date(T0).getTime() + h * HOUR);

function services(desk: Desk) {
  const options = { clock: desk.clock, events: desk.events };
  return {
    reservations: new ReservationService(desk.em(), options),
    loans: new LoanService(desk.em(), options),
  };
}

describeEachDialect('reservations', (dialect) => {
  describe('booking against the stock', () => {
    const desk = useDesk(dialect, { per: 'test' });

    it('books the last unit once: a second overlapping booking is refused with the first full instant; nothing written', async () => {
      const { reservations } = services(desk);
      const teacher = await desk.user('teacher');
      const entry = await desk.entry('premium', 2);
      const first = await reservations.reserve(desk.staff, {
        borrowerId: teacher.id,
        catalogEntryId: entry.id,
        quantity: 2,
        startsAt: at(24),
        endsAt: at(28),
        environment: 'Aula 204',
      });
      expect(first).toMatchObject({ status: 'solicitada', quantity: 2, bufferMinutes: 15 }); // a teacher's: staff confirm it
      expect(first.blocksUntil).toEqual(new Date(at(28).getTime() + 15 * MINUTE));
      const before = await rowCounts(desk.orm);
      const refused = await expectSwlError(
        reservations.reserve(desk.staff, { catalogEntryId: entry.id, startsAt: at(27), endsAt: at(30) }),
        'COPY_UNAVAILABLE',
      );
      expect(refused.details).toMatchObject({ reason: 'booked', capacity: 2, free: 0 });
      expect(refused.details.fullAt).toBe(at(27).toISOString());
      expect(await rowCounts(desk.orm)).toEqual(before);
    });

    it('touching ranges do not overlap; a buffer makes them', async () => {
      const { reservations } = services(desk);
      const entry = await desk.entry('premium', 1);
      // staff's buffer is 15 min: [8, 12) blocks until 12:15.
      await reservations.reserve(desk.staff, { catalogEntryId: entry.id, startsAt: at(20), endsAt: at(24) });
      await expectSwlError(
        reservations.reserve(desk.staff, { catalogEntryId: entry.id, startsAt: at(24), endsAt: at(26) }),
        'COPY_UNAVAILABLE',
      );
      const after = await reservations.reserve(desk.staff, {
        catalogEntryId: entry.id,
        startsAt: new Date(at(24).getTime() + 15 * MINUTE),
        endsAt: at(26),
      });
      expect(after.status).toBe('confirmada');
      // Without a buffer, [8, 12) and [12, 14) share the copy.
      await reservations.upsertPolicy(desk.admin, {
        category: 'premium',
        role: 'staff',
        maxAdvanceDays: 30,
        maxDurationMinutes: 480,
        bufferMinutes: 0,
        pickupWindowMinutes: 30,
      });
      const other = await desk.entry('premium', 1);
      await reservations.reserve(desk.staff, { catalogEntryId: other.id, startsAt: at(20), endsAt: at(24) });
      const touching = await reservations.reserve(desk.staff, {
        catalogEntryId: other.id,
        startsAt: at(24),
        endsAt: at(26),
      });
      expect(touching.blocksUntil).toEqual(at(26));
    });

    it('a named copy cannot be booked twice over overlapping ranges, nor over its loan', async () => {
      const { reservations, loans } = services(desk);
      const teacher = await desk.user('teacher');
      const entry = await desk.entry('premium', 2);
      const [copyA] = entry.copies as [number];
      await reservations.reserve(desk.staff, { copyId: copyA, startsAt: at(30), endsAt: at(32) });
      const refused = await expectSwlError(
        reservations.reserve(desk.staff, { copyId: copyA, startsAt: at(31), endsAt: at(33) }),
        'COPY_UNAVAILABLE',
      );
      expect(refused.details).toMatchObject({ reason: 'booked', copyId: copyA });
      // The entry still has a unit: a booking of any copy over the same range fits.
      await reservations.reserve(desk.staff, { catalogEntryId: entry.id, startsAt: at(31), endsAt: at(33) });
      // A loan of the other copy, due in 8 hours (teacher premium), blocks it until then + buffer.
      const request = await loans.request(teacher, {
        copyId: entry.copies[1] as number,
        environment: 'Aula 1',
      });
      await loans.approve(desk.staff, { loanId: request.id });
      await expectSwlError(
        reservations.reserve(desk.staff, {
          copyId: entry.copies[1] as number,
          startsAt: at(2),
          endsAt: at(4),
        }),
        'COPY_UNAVAILABLE',
      );
    });

    it('policy: may reserve, advance, duration; a past start is invalid', async () => {
      const { reservations } = services(desk);
      const student = await desk.user('student');
      const entry = await desk.entry('premium', 3);
      await expectSwlError(
        reservations.reserve(student, { catalogEntryId: entry.id, startsAt: at(2), endsAt: at(3) }),
        'POLICY_FORBIDS',
      );
      const tooFar = await expectSwlError(
        reservations.reserve(desk.staff, {
          catalogEntryId: entry.id,
          startsAt: at(31 * 24),
          endsAt: at(31 * 24 + 1),
        }),
        'POLICY_FORBIDS',
      );
      expect(tooFar.details.rule).toBe('maxAdvanceDays');
      const tooLong = await expectSwlError(
        reservations.reserve(desk.staff, { catalogEntryId: entry.id, startsAt: at(2), endsAt: at(11) }),
        'POLICY_FORBIDS',
      );
      expect(tooLong.details.rule).toBe('maxDurationMinutes');
      await expectSwlError(
        reservations.reserve(desk.staff, { catalogEntryId: entry.id, startsAt: at(-1), endsAt: at(1) }),
        'VALIDATION_FAILED',
      );
    });
  });

  describe('confirmation, pickup, no-show', () => {
    const desk = useDesk(dialect, { per: 'test' });

    it('a teacher’s booking waits for staff; pickup makes loans due at its end; return frees the copies', async () => {
      const { reservations, loans } = services(desk);
      const teacher = await desk.user('teacher');
      const entry = await desk.entry('premium', 3);
      const booked = await reservations.reserve(teacher, {
        catalogEntryId: entry.id,
        quantity: 2,
        startsAt: at(19),
        endsAt: at(23),
        environment: 'Aula 204',
      });
      expect(booked.status).toBe('solicitada');
      await expectSwlError(
        reservations.pickUp(desk.staff, { reservationId: booked.id }),
        'INVALID_TRANSITION',
      );
      await reservations.confirm(desk.staff, { reservationId: booked.id });
      desk.clock.set(at(19));
      const { reservation, loans: made } = await reservations.pickUp(desk.staff, {
        reservationId: booked.id,
      });
      expect(reservation).toMatchObject({ status: 'recogida', loanIds: made.map((l) => l.id) });
      expect(made).toHaveLength(2);
      for (const loan of made) {
        expect(loan).toMatchObject({ status: 'aprobado', borrowerId: teacher.id, environment: 'Aula 204' });
        expect(loan.dueDate).toEqual(at(23));
      }
      const details = await reservations.getReservation(teacher, { reservationId: booked.id });
      expect(details.events.map((e) => e.type)).toEqual(['requested', 'confirmed', 'picked_up']);
      desk.clock.set(at(22));
      for (const loan of made) await loans.return(desk.staff, { loanId: loan.id });
      const calendar = await reservations.availability(teacher, {
        catalogEntryId: entry.id,
        from: at(22),
        to: at(30),
      });
      expect(calendar.minFree).toBe(3);
    });

    it('no-show after the pickup window, driven by the clock; the stock is free again', async () => {
      const { reservations } = services(desk);
      const entry = await desk.entry('premium', 1);
      const booked = await reservations.reserve(desk.staff, {
        catalogEntryId: entry.id,
        startsAt: at(5),
        endsAt: at(7),
      });
      desk.clock.set(new Date(at(5).getTime() + 29 * MINUTE));
      expect((await reservations.recordNoShows(desk.staff)).reservationIds).toEqual([]);
      desk.clock.set(new Date(at(5).getTime() + 30 * MINUTE));
      const late = await expectSwlError(
        reservations.pickUp(desk.staff, { reservationId: booked.id }),
        'INVALID_TRANSITION',
      );
      expect(late.details.reason).toBe('pickup_window_passed');
      expect((await reservations.recordNoShows(desk.staff)).reservationIds).toEqual([booked.id]);
      expect((await reservations.getReservation(desk.staff, { reservationId: booked.id })).status).toBe(
        'no_recogida',
      );
      await reservations.reserve(desk.staff, { catalogEntryId: entry.id, startsAt: at(6), endsAt: at(7) });
    });
  });

  describe('loans see bookings', () => {
    const desk = useDesk(dialect, { per: 'test' });

    it('an approval is lent in the gap before a booking (due date capped, said so) or refused when the gap is short', async () => {
      const { reservations, loans } = services(desk);
      const teacher = await desk.user('teacher');
      const entry = await desk.entry('premium', 1);
      // Booked from 4 hours on; a teacher's premium loan would be due in 8 hours.
      await reservations.reserve(desk.staff, { catalogEntryId: entry.id, startsAt: at(4), endsAt: at(6) });
      const request = await loans.request(teacher, { catalogEntryId: entry.id, environment: 'Aula 3' });
      const approved = await loans.approve(desk.staff, { loanId: request.id });
      expect(approved.dueDate).toEqual(new Date(at(4).getTime() - 15 * MINUTE));
      expect(approved.dueDateCappedBy).toEqual({ reservedFrom: at(4).toISOString(), reservationId: null });

      const other = await desk.entry('premium', 1);
      await reservations.reserve(desk.staff, { catalogEntryId: other.id, startsAt: at(1), endsAt: at(2) });
      const short = await loans.request(teacher, { catalogEntryId: other.id, environment: 'Aula 3' });
      const refused = await expectSwlError(
        loans.approve(desk.staff, { loanId: short.id }),
        'COPY_UNAVAILABLE',
      );
      expect(refused.details).toMatchObject({ reason: 'reserved', reservedFrom: at(1).toISOString() });
    });

    it('a renewal that would run into a booking is refused with the date it could reach', async () => {
      const { reservations, loans } = services(desk);
      const student = await desk.user('student');
      const entry = await desk.entry('general', 1);
      await reservations.upsertPolicy(desk.admin, {
        category: 'general',
        role: 'staff',
        maxAdvanceDays: 30,
        maxDurationMinutes: 7 * 24 * 60,
        pickupWindowMinutes: 60,
      });
      const request = await loans.request(student, { catalogEntryId: entry.id });
      const loan = await loans.approve(desk.staff, { loanId: request.id }); // due in 3 days
      await reservations.reserve(desk.staff, {
        catalogEntryId: entry.id,
        startsAt: at(24 * 4),
        endsAt: at(24 * 5),
      });
      const refused = await expectSwlError(loans.renew(student, { loanId: loan.id }), 'HOLD_PENDING');
      expect(refused.details).toMatchObject({
        reason: 'reserved',
        couldReachUntil: at(24 * 4).toISOString(),
      });
    });
  });
});

describeEachDialect('reservation invariants (swl doctor)', (dialect) => {
  const desk = useDesk(dialect, { per: 'test' });

  it('flags bookings beyond the stock and a broken event trail', async () => {
    const { reservations } = services(desk);
    const entry = await desk.entry('premium', 1);
    const booked = await reservations.reserve(desk.staff, {
      catalogEntryId: entry.id,
      startsAt: at(2),
      endsAt: at(4),
    });
    expect((await checkInvariants(desk.orm)).violations).toEqual([]);
    // What no command can write: a second booking of the only copy over the same range, and a
    // status changed behind the event trail's back.
    const conn = desk.em().getConnection();
    const instant = (d: Date) => (dialect === 'postgresql' ? `'${d.toISOString()}'` : String(d.getTime()));
    await conn.execute(
      `insert into swl_reservation (borrower_id, catalog_entry_id, quantity, starts_at, ends_at, blocks_until,
         buffer_minutes, pickup_deadline, status, version, created_at, updated_at)
       values (${desk.staff.id}, ${entry.id}, 1, ${instant(at(3))}, ${instant(at(5))}, ${instant(at(5))}, 0,
         ${instant(at(3))}, 'confirmada', 1, ${instant(at(0))}, ${instant(at(0))})`,
    );
    await conn.execute(`update swl_reservation set status = 'cancelada' where id = ${booked.id}`);
    const report = await checkInvariants(desk.orm);
    const rules = new Set(report.violations.map((v) => v.rule));
    expect(rules).toEqual(new Set(['reservation-events']));
    await conn.execute(`update swl_reservation set status = 'confirmada' where id = ${booked.id}`);
    const again = await checkInvariants(desk.orm);
    expect(again.violations.map((v) => v.rule).sort()).toEqual(['reservation-events', 'reservation-stock']);
  });
});

describeEachDialect('reservations are UTC: the time zone of the process changes nothing', (dialect) => {
  const desk = useDesk(dialect, { per: 'test' });

  // Europe/Madrid moves its clocks forward at 2026-03-29 01:00 UTC: a local day of 23 hours.
  it.each(['Europe/Madrid', 'America/Bogota', 'UTC'])(
    'TZ=%s: an 8-hour booking across the switch is 480 minutes, buffer and pickup window to the millisecond',
    async (zone) => {
      const saved = process.env.TZ;
      process.env.TZ = zone;
      try {
        if (zone === 'Europe/Madrid') {
          // The switch really is in effect in this process.
          expect(new Date('2026-03-29T00:30:00Z').getTimezoneOffset()).toBe(-60);
          expect(new Date('2026-03-29T01:30:00Z').getTimezoneOffset()).toBe(-120);
        }
        const { reservations } = services(desk);
        const entry = await desk.entry('premium', 1);
        const startsAt = new Date('2026-03-29T00:00:00Z');
        const endsAt = new Date('2026-03-29T08:00:00Z'); // exactly maxDurationMinutes (480)
        const booked = await reservations.reserve(desk.staff, { catalogEntryId: entry.id, startsAt, endsAt });
        expect(booked.blocksUntil.toISOString()).toBe('2026-03-29T08:15:00.000Z');
        expect(booked.pickupDeadline.toISOString()).toBe('2026-03-29T00:30:00.000Z');
        await expectSwlError(
          reservations.reserve(desk.staff, {
            catalogEntryId: (await desk.entry('premium', 1)).id,
            startsAt,
            endsAt: new Date(endsAt.getTime() + 60_000), // 481 minutes
          }),
          'POLICY_FORBIDS',
        );
        const day = await reservations.availability(desk.staff, {
          catalogEntryId: entry.id,
          from: new Date('2026-03-28T23:00:00Z'),
          to: new Date('2026-03-29T23:00:00Z'),
        });
        expect(day.intervals.map((x) => [x.from.toISOString(), x.to.toISOString(), x.free])).toEqual([
          ['2026-03-28T23:00:00.000Z', '2026-03-29T00:00:00.000Z', 1],
          ['2026-03-29T00:00:00.000Z', '2026-03-29T08:15:00.000Z', 0],
          ['2026-03-29T08:15:00.000Z', '2026-03-29T23:00:00.000Z', 1],
        ]);
      } finally {
        if (saved === undefined) delete process.env.TZ;
        else process.env.TZ = saved;
      }
    },
  );
});
