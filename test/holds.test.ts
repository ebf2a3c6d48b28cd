/**
 * The holds queue (issue 16) on every database: first come, first served; positions stay
 * sequential after cancellations and expiries; a returned copy is set aside for the first hold
 * and lent to nobody else; pickup makes a loan; expiry, driven by the injected clock, passes the
 * copy to the next hold; a borrower may not hold what they have on loan.
 */
import { expect, it } from 'vitest';
import { CatalogService } from '../src/catalog/catalog.service.ts';
import { HoldService } from '../src/holds/hold.service.ts';
import { DEFAULT_HOLD_PICKUP_MINUTES } from '../src/holds/serve.ts';
import { LoanService } from '../src/loans/loan.service.ts';
import { checkInvariants } from '../src/operations/invariants.ts';
import { ReservationService } from '../src/reservations/reservation.service.ts';
import { type Desk, describeEachDialect, expectSwlError, rowCounts, useDesk } from './support/fixtures.ts';

const MINUTE = 60_000;

function services(desk: Desk) {
  const options = { clock: desk.clock, events: desk.events };
  return {
    holds: new HoldService(desk.em(), options),
    loans: new LoanService(desk.em(), options),
    catalog: new CatalogService(desk.em(), options),
  };
}

/** An entry with one copy, lent to a first borrower: nothing is available. */
async function lentOut(desk: Desk, category: 'general' | 'premium' = 'general') {
  const { loans } = services(desk);
  const entry = await desk.entry(category, 1);
  const holder = await desk.user(category === 'premium' ? 'teacher' : 'student');
  const request = await loans.request(holder, {
    catalogEntryId: entry.id,
    ...(category === 'premium' ? { environment: 'Aula 1' } : {}),
  });
  const loan = await loans.approve(desk.staff, { loanId: request.id });
  return { entry, holder, loan };
}

describeEachDialect('holds queue', (dialect) => {
  const desk = useDesk(dialect, { per: 'test' });

  it('first come, first served; positions stay 1, 2, 3… after a cancellation', async () => {
    const { holds } = services(desk);
    const { entry } = await lentOut(desk);
    const [a, b, c] = [await desk.user('student'), await desk.user('teacher'), await desk.user('student')];
    const ha = await holds.placeHold(a, { catalogEntryId: entry.id });
    desk.clock.advance({ minutes: 1 });
    const hb = await holds.placeHold(b, { catalogEntryId: entry.id });
    desk.clock.advance({ minutes: 1 });
    const hc = await holds.placeHold(desk.staff, { catalogEntryId: entry.id, borrowerId: c.id });
    expect([ha.position, hb.position, hc.position]).toEqual([1, 2, 3]);
    await holds.cancelHold(b, { holdId: hb.id });
    const queue = await holds.holdQueue(desk.staff, { catalogEntryId: entry.id });
    expect(queue.waiting.map((h) => [h.id, h.position])).toEqual([
      [ha.id, 1],
      [hc.id, 2],
    ]);
    expect((await holds.listHolds(c)).items[0]).toMatchObject({ id: hc.id, position: 2 });
  });

  it('refused: a copy is available now; the title is already on the borrower’s loan; a second hold; nothing written', async () => {
    const { holds } = services(desk);
    const free = await desk.entry('general', 1);
    const student = await desk.user('student');
    const available = await expectSwlError(
      holds.placeHold(student, { catalogEntryId: free.id }),
      'INVALID_TRANSITION',
    );
    expect(available.details.reason).toBe('copy_available');
    const { entry, holder } = await lentOut(desk);
    const before = await rowCounts(desk.orm);
    const onLoan = await expectSwlError(holds.placeHold(holder, { catalogEntryId: entry.id }), 'DUPLICATE');
    expect(onLoan.details.reason).toBe('on_loan');
    expect(await rowCounts(desk.orm)).toEqual(before);
    await holds.placeHold(student, { catalogEntryId: entry.id });
    const twice = await expectSwlError(holds.placeHold(student, { catalogEntryId: entry.id }), 'DUPLICATE');
    expect(twice.details.reason).toBe('hold_exists');
  });

  it('a returned copy is set aside for the first hold, lent to nobody else, and checked out to that borrower', async () => {
    const { holds, loans } = services(desk);
    const { entry, loan } = await lentOut(desk);
    const first = await desk.user('student');
    const second = await desk.user('student');
    const h1 = await holds.placeHold(first, { catalogEntryId: entry.id });
    const h2 = await holds.placeHold(second, { catalogEntryId: entry.id });
    desk.clock.advance({ hours: 5 });
    const returned = await loans.return(desk.staff, { loanId: loan.id });
    const expiresAt = new Date(desk.clock.now().getTime() + DEFAULT_HOLD_PICKUP_MINUTES * MINUTE);
    expect(returned.setAsideForHold).toEqual({ holdId: h1.id, expiresAt });
    const ready = await holds.getHold(first, { holdId: h1.id });
    expect(ready).toMatchObject({ status: 'lista', copyId: entry.copies[0], position: null, expiresAt });
    expect((await holds.getHold(second, { holdId: h2.id })).position).toBe(1);
    // Somebody else's request cannot take the copy set aside.
    const other = await desk.user('teacher');
    const request = await loans.request(other, { catalogEntryId: entry.id });
    await expectSwlError(loans.approve(desk.staff, { loanId: request.id }), 'COPY_UNAVAILABLE');
    const { hold, loan: lent } = await holds.fulfillHold(desk.staff, { holdId: h1.id });
    expect(hold).toMatchObject({ status: 'cumplida', loanId: lent.id });
    expect(lent).toMatchObject({ status: 'aprobado', borrowerId: first.id, copyId: entry.copies[0] });
    expect((await holds.getHold(first, { holdId: h1.id })).events.map((e) => e.type)).toEqual([
      'placed',
      'ready',
      'fulfilled',
    ]);
    expect((await checkInvariants(desk.orm)).violations).toEqual([]);
  });

  it('expiry by the clock passes the copy to the next hold; with nobody left it stays on the shelf', async () => {
    const { holds, loans } = services(desk);
    const { entry, loan } = await lentOut(desk, 'premium'); // premium teachers: a 30-minute pickup window
    const [t1, t2] = [await desk.user('teacher'), await desk.user('teacher')];
    const h1 = await holds.placeHold(t1, { catalogEntryId: entry.id });
    const h2 = await holds.placeHold(t2, { catalogEntryId: entry.id });
    desk.clock.advance({ hours: 2 });
    await loans.return(desk.staff, { loanId: loan.id });
    desk.clock.advance({ minutes: 29 });
    expect(await holds.expireHolds(desk.staff)).toMatchObject({ expired: [], setAside: [] });
    desk.clock.advance({ minutes: 1 });
    const late = await expectSwlError(holds.fulfillHold(desk.staff, { holdId: h1.id }), 'INVALID_TRANSITION');
    expect(late.details.reason).toBe('pickup_window_passed');
    expect(await holds.expireHolds(desk.staff)).toMatchObject({ expired: [h1.id], setAside: [h2.id] });
    expect((await holds.getHold(t2, { holdId: h2.id })).status).toBe('lista');
    await holds.cancelHold(t2, { holdId: h2.id });
    const queue = await holds.holdQueue(desk.staff, { catalogEntryId: entry.id });
    expect(queue).toMatchObject({ waiting: [], awaitingPickup: [] });
    const request = await loans.request(t1, { catalogEntryId: entry.id, environment: 'Aula 2' });
    expect((await loans.approve(desk.staff, { loanId: request.id })).copyId).toBe(entry.copies[0]);
    expect((await checkInvariants(desk.orm)).violations).toEqual([]);
  });

  it('new copies serve the queue, one per waiting hold in order', async () => {
    const { holds, catalog } = services(desk);
    const { entry } = await lentOut(desk);
    const [a, b] = [await desk.user('student'), await desk.user('student')];
    const ha = await holds.placeHold(a, { catalogEntryId: entry.id });
    const hb = await holds.placeHold(b, { catalogEntryId: entry.id });
    const { copies } = await catalog.addCopies(desk.staff, { catalogEntryId: entry.id, count: 3 });
    expect(await holds.getHold(a, { holdId: ha.id })).toMatchObject({
      status: 'lista',
      copyId: copies[0]?.id,
    });
    expect(await holds.getHold(b, { holdId: hb.id })).toMatchObject({
      status: 'lista',
      copyId: copies[1]?.id,
    });
    expect((await checkInvariants(desk.orm)).violations).toEqual([]);
  });

  it('a repaired copy serves the queue too', async () => {
    const { holds, catalog, loans } = services(desk);
    const { entry, loan } = await lentOut(desk);
    const waiting = await desk.user('student');
    await loans.return(desk.staff, { loanId: loan.id, outcome: 'damaged' });
    const h = await holds.placeHold(waiting, { catalogEntryId: entry.id });
    await catalog.repair(desk.staff, { copyId: entry.copies[0] as number });
    expect((await holds.getHold(waiting, { holdId: h.id })).status).toBe('lista');
  });
});

describeEachDialect('holds: what the database itself refuses', (dialect) => {
  const desk = useDesk(dialect, { per: 'test' });

  it('a second active hold of one borrower on one title, and a second hold awaiting pickup of one copy', async () => {
    const { holds, loans } = services(desk);
    const { entry, loan } = await lentOut(desk);
    const [a, b] = [await desk.user('student'), await desk.user('student')];
    await holds.placeHold(a, { catalogEntryId: entry.id });
    await holds.placeHold(b, { catalogEntryId: entry.id });
    await loans.return(desk.staff, { loanId: loan.id }); // the copy is set aside for a's hold
    const conn = desk.em().getConnection();
    const now =
      dialect === 'postgresql' ? `'${desk.clock.now().toISOString()}'` : String(desk.clock.now().getTime());
    const insert = (borrower: number, status: string, copy: number | null) =>
      conn.execute(
        `insert into swl_hold (borrower_id, catalog_entry_id, status, placed_at, instance_id, version, created_at, updated_at)
         values (${borrower}, ${entry.id}, '${status}', ${now}, ${copy ?? 'null'}, 1, ${now}, ${now})`,
      );
    await expect(insert(a.id, 'en_espera', null)).rejects.toThrow(/unique|duplicate/i);
    await expect(insert(b.id, 'lista', entry.copies[0] as number)).rejects.toThrow(/unique|duplicate/i);
    const other = await desk.user('student');
    await expect(insert(other.id, 'cancelada', entry.copies[0] as number)).resolves.toBeDefined();
  });
});

describeEachDialect('holds: a copy set aside that leaves the shelf, or is asked for by name', (dialect) => {
  const desk = useDesk(dialect, { per: 'test' });

  it('sent to maintenance: the hold waits again, first in line, and the next free copy is set aside for it', async () => {
    const { holds, loans, catalog } = services(desk);
    const entry = await desk.entry('general', 2);
    const [x, y, waiting] = [
      await desk.user('student'),
      await desk.user('student'),
      await desk.user('student'),
    ];
    const lent = [];
    for (const b of [x, y]) {
      const r = await loans.request(b, { catalogEntryId: entry.id });
      lent.push(await loans.approve(desk.staff, { loanId: r.id }));
    }
    const h = await holds.placeHold(waiting, { catalogEntryId: entry.id });
    const back = await loans.return(desk.staff, { loanId: (lent[0] as { id: number }).id });
    expect(back.setAsideForHold?.holdId).toBe(h.id);
    const first = (await holds.getHold(waiting, { holdId: h.id })).copyId as number;
    await catalog.sendToMaintenance(desk.staff, { copyId: first, note: 'cracked lens' });
    const released = await holds.getHold(waiting, { holdId: h.id });
    expect(released).toMatchObject({ status: 'en_espera', position: 1, copyId: null });
    expect(released.events.map((e) => e.type)).toEqual(['placed', 'ready', 'released']);
    // The other copy comes back: it goes to the hold.
    await loans.return(desk.staff, { loanId: (lent[1] as { id: number }).id });
    expect(await holds.getHold(waiting, { holdId: h.id })).toMatchObject({
      status: 'lista',
      copyId: lent[1]?.copyId,
    });
    expect((await checkInvariants(desk.orm)).violations).toEqual([]);
  });

  it('a copy set aside is refused by name — also past its deadline, until the sweep', async () => {
    const { holds, loans } = services(desk);
    const { entry, loan } = await lentOut(desk);
    const waiting = await desk.user('student');
    const h = await holds.placeHold(waiting, { catalogEntryId: entry.id });
    await loans.return(desk.staff, { loanId: loan.id });
    const copyId = entry.copies[0] as number;
    desk.clock.advance({ hours: 49 }); // past the 48-hour window, not swept yet
    const other = await desk.user('teacher');
    const request = await loans.request(other, { copyId });
    const refused = await expectSwlError(
      loans.approve(desk.staff, { loanId: request.id }),
      'COPY_UNAVAILABLE',
    );
    expect(refused.details).toMatchObject({ reason: 'held', holdId: h.id });
    expect(await holds.expireHolds(desk.staff)).toMatchObject({ expired: [h.id] });
    expect((await loans.approve(desk.staff, { loanId: request.id })).copyId).toBe(copyId);
  });

  it('a booking picked up takes a free copy, not the one set aside for a hold', async () => {
    const { holds, loans } = services(desk);
    const reservations = new ReservationService(desk.em(), { clock: desk.clock, events: desk.events });
    const entry = await desk.entry('premium', 2);
    const lent = [];
    for (const copyId of entry.copies) {
      const r = await loans.request(await desk.user('teacher'), { copyId, environment: 'Aula 7' });
      lent.push(await loans.approve(desk.staff, { loanId: r.id }));
    }
    const waiting = await desk.user('teacher');
    const h = await holds.placeHold(waiting, { catalogEntryId: entry.id });
    for (const loan of lent) await loans.return(desk.staff, { loanId: loan.id });
    expect(await holds.getHold(waiting, { holdId: h.id })).toMatchObject({
      status: 'lista',
      copyId: entry.copies[0],
    });
    const now = desk.clock.now();
    const booking = await reservations.reserve(desk.staff, {
      catalogEntryId: entry.id,
      startsAt: now,
      endsAt: new Date(now.getTime() + 2 * 60 * MINUTE),
    });
    const { loans: made } = await reservations.pickUp(desk.staff, { reservationId: booking.id });
    expect(made.map((l) => l.copyId)).toEqual([entry.copies[1]]);
  });
});
