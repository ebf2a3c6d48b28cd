/**
 * The instants a command records (issue 10, defect 6), on SQLite and PostgreSQL:
 *
 * - a clock set back never writes a transition before the loan's last one: the command's instant
 *   is raised to the latest instant already recorded on the loan (clamped, not refused — a host
 *   whose servers' clocks differ by a few milliseconds must keep working), so
 *   request ≤ approval ≤ renewals ≤ return ≤ settlement always holds, event by event;
 * - a command reads the clock once it holds its locks (PostgreSQL: the loan's row lock; SQLite: the
 *   write lock of `BEGIN IMMEDIATE`), so a command that waited records when it got the lock, not
 *   when it started waiting.
 */
import { expect, it } from 'vitest';
import { type Clock, ManualClock } from '../../src/clock.ts';
import { LoanEvent } from '../../src/entities/loan-event.entity.ts';
import { LoanService } from '../../src/loans/loan.service.ts';
import { describeEachDialect, T0, useDesk } from '../support/fixtures.ts';
import { holdLock } from '../support/locks.ts';

const HOUR = 3_600_000;

describeEachDialect('instants', (dialect) => {
  const desk = useDesk(dialect);

  const service = (clock: Clock) => new LoanService(desk.em(), { clock });

  /** The `at` of every event of a loan, in the order the events were written. */
  const eventTimes = async (loanId: number) =>
    (await desk.em().find(LoanEvent, { loan: loanId }, { orderBy: { id: 'asc' } })).map((e) =>
      e.at.getTime(),
    );

  it('the clock can run backwards into the record (issue 10, defect 6): with the clock set back, every transition is recorded at the loan’s last instant, never before it', async () => {
    const clock = new ManualClock(Date.parse(T0) + 10 * HOUR);
    const student = await desk.user('student');
    const entry = await desk.entry('general', 2, { replacementCost: 300_000 });
    const requested = await service(clock).request(student, { catalogEntryId: entry.id });
    const requestAt = requested.requestDate.getTime();

    clock.set(T0); // ten hours back
    const approved = await service(clock).approve(desk.staff, { loanId: requested.id });
    expect(approved.approvalDate?.getTime()).toBe(requestAt);
    expect(approved.dueDate?.getTime()).toBe(requestAt + 72 * HOUR); // the period counts from the approval

    clock.set(Date.parse(T0) - HOUR);
    const renewed = await service(clock).renew(student, { loanId: requested.id });
    expect(renewed.dueDate?.getTime()).toBe(requestAt + 144 * HOUR);

    clock.set(Date.parse(T0) - 24 * HOUR);
    const returned = await service(clock).return(desk.staff, { loanId: requested.id, outcome: 'lost' });
    expect(returned.returnDate?.getTime()).toBe(requestAt);
    expect(returned.finalPenalty).toBe(300_000);

    clock.set(Date.parse(T0) - 48 * HOUR);
    const settled = await service(clock).settlePenalty(desk.staff, {
      loanId: requested.id,
      settlement: 'paid',
    });
    expect(settled.penaltySettledAt?.getTime()).toBe(requestAt);

    const times = await eventTimes(requested.id);
    expect(times).toHaveLength(5);
    expect(times.every((at) => at === requestAt)).toBe(true);

    // Rejections and cancellations too.
    clock.set(Date.parse(T0) + 20 * HOUR);
    const a = await service(clock).request(student, { catalogEntryId: entry.id });
    const b = await service(clock).request(student, { catalogEntryId: entry.id });
    clock.set(T0);
    const rejected = await service(clock).reject(desk.staff, { loanId: a.id, reason: 'no' });
    const cancelled = await service(clock).cancel(student, { loanId: b.id });
    expect(rejected.rejectionDate?.getTime()).toBe(a.requestDate.getTime());
    expect(cancelled.rejectionDate?.getTime()).toBe(b.requestDate.getTime());
  });

  it('a command reads the clock once it holds its locks: a renewal that waited for the loan’s lock records when it got it', async () => {
    // A clock that runs with the wall clock from T0, so waiting shows in the recorded instant.
    const started = Date.now();
    const clock: Clock = { now: () => new Date(Date.parse(T0) + (Date.now() - started)) };
    const teacher = await desk.user('teacher');
    const entry = await desk.entry('general', 1);
    const loan = await service(clock).request(teacher, { catalogEntryId: entry.id });
    await service(clock).approve(desk.staff, { loanId: loan.id });

    const holder = await holdLock(
      desk.db,
      dialect === 'postgresql' ? [['select id from swl_loan where id = ? for update', [loan.id]]] : [],
    );
    const heldFor = 400;
    const released = holder.finishWhenBlocked([], 'commit', heldFor);
    const before = clock.now().getTime();
    await service(clock).renew(teacher, { loanId: loan.id });
    await released;
    const renewedAt = (await eventTimes(loan.id)).at(-1) as number;
    // Read before the wait, it would be ~`before`; read after the lock, it is at least `heldFor` later.
    expect(renewedAt - before).toBeGreaterThanOrEqual(heldFor - 50);
  });
});
