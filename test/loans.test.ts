import { beforeAll, describe, expect, it } from 'vitest';
import { CopyEvent } from '../src/entities/copy-event.entity.ts';
import { ItemInstance } from '../src/entities/item-instance.entity.ts';
import { Loan } from '../src/entities/loan.entity.ts';
import { LoanEvent } from '../src/entities/loan-event.entity.ts';
import { LoanService } from '../src/loans/loan.service.ts';
import { availableCommands, canTransition, LOAN_TRANSITIONS, nextStates } from '../src/loans/transitions.ts';
import { describeEachDialect, expectSwlError, T0, useDesk } from './support/fixtures.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('loan transition table (pure)', () => {
  it('allows exactly the transitions of docs/DESIGN.md §3', () => {
    expect(nextStates('pendiente')).toEqual(['aprobado', 'rechazado']);
    expect(nextStates('aprobado')).toEqual(['aprobado', 'devuelto']);
    expect(nextStates('devuelto')).toEqual([]);
    expect(nextStates('rechazado')).toEqual([]);
    expect(canTransition('aprobado', 'rechazado')).toBe(false);
    expect(canTransition('devuelto', 'aprobado')).toBe(false);
    expect(canTransition('pendiente', 'devuelto')).toBe(false);
    expect(availableCommands('aprobado')).toEqual(['renew', 'return']);
    expect(availableCommands('pendiente')).toEqual(['approve', 'reject', 'cancel']);
    expect(LOAN_TRANSITIONS.map((t) => t.command)).toEqual([
      'request',
      'approve',
      'reject',
      'cancel',
      'renew',
      'return',
      'settlePenalty',
    ]);
  });
});

describeEachDialect('LoanService', (dialect) => {
  const desk = useDesk(dialect);
  let loans: LoanService;
  beforeAll(async () => {
    loans = new LoanService(desk.em(), { clock: desk.clock, events: desk.events });
  });

  const fresh = () => new LoanService(desk.em(), { clock: desk.clock, events: desk.events });

  it('request a copy → approve → return on time: dates, statuses, audit trail, events', async () => {
    desk.clock.set(T0);
    const student = await desk.user('student');
    const entry = await desk.entry('general', 2);
    const copy = entry.copies[0] as number;
    const seen = desk.received.length;

    const requested = await loans.request(student, { copyId: copy });
    expect(requested).toMatchObject({
      status: 'pendiente',
      borrowerId: student.id,
      copyId: copy,
      requestedById: student.id,
    });
    expect(requested.requestDate.toISOString()).toBe(T0);
    const row = await desk.em().findOneOrFail(Loan, requested.id);
    expect([row.createdAt.toISOString(), row.updatedAt.toISOString()]).toEqual([T0, T0]); // row timestamps follow the clock

    desk.clock.advance({ hours: 1 });
    const approved = await loans.approve(desk.staff, { loanId: requested.id });
    expect(approved.status).toBe('aprobado');
    expect(approved.approvedById).toBe(desk.staff.id);
    expect(approved.approvalDate?.getTime()).toBe(Date.parse(T0) + HOUR);
    expect(approved.dueDate?.getTime()).toBe(Date.parse(T0) + HOUR + 3 * DAY); // student general: 3 days
    expect((await desk.em().findOneOrFail(ItemInstance, copy)).status).toBe('prestado');

    desk.clock.advance({ days: 2 });
    const back = await loans.return(desk.staff, { loanId: requested.id, outcome: 'ok', condition: 'bien' });
    expect((await desk.em().findOneOrFail(Loan, requested.id)).updatedAt.getTime()).toBe(
      Date.parse(T0) + HOUR + 2 * DAY,
    );
    expect(back).toMatchObject({
      status: 'devuelto',
      returnOutcome: 'ok',
      finalPenalty: 0,
      receivedById: desk.staff.id,
    });
    const copyAfter = await desk.em().findOneOrFail(ItemInstance, copy);
    expect(copyAfter).toMatchObject({ status: 'disponible', condition: 'bien' });

    const details = await loans.getLoan(student, { loanId: requested.id });
    expect(details.events.map((e) => [e.type, e.from, e.to])).toEqual([
      ['requested', null, 'pendiente'],
      ['approved', 'pendiente', 'aprobado'],
      ['returned', 'aprobado', 'devuelto'],
    ]);
    const copyEvents = await desk.em().find(CopyEvent, { copy }, { orderBy: { id: 'asc' } });
    expect(copyEvents.map((e) => [e.type, e.fromStatus, e.toStatus])).toEqual([
      ['loaned', 'disponible', 'prestado'],
      ['returned', 'prestado', 'disponible'],
    ]);
    const published = desk.received.slice(seen);
    expect(published.filter((e) => e.kind === 'loan').map((e) => e.type)).toEqual([
      'requested',
      'approved',
      'returned',
    ]);
    expect(published.filter((e) => e.kind === 'copy')).toHaveLength(2);
  });

  it('request by title: approval picks the first available copy; an earlier requested due date wins', async () => {
    desk.clock.set(T0);
    const teacher = await desk.user('teacher');
    const entry = await desk.entry('general', 3);
    const requestedDue = new Date(Date.parse(T0) + 2 * DAY);
    const loan = await loans.request(teacher, { catalogEntryId: entry.id, requestedDueDate: requestedDue });
    expect(loan.copyId).toBeNull();
    const approved = await loans.approve(desk.staff, { loanId: loan.id });
    expect(approved.copyId).toBe(entry.copies[0]);
    expect(approved.copyCode).toBe(`TST-${entry.id}-1`);
    expect(approved.dueDate?.toISOString()).toBe(requestedDue.toISOString()); // teacher policy is 7 days
    const other = await loans.request(teacher, { catalogEntryId: entry.id });
    expect((await loans.approve(desk.staff, { loanId: other.id })).copyId).toBe(entry.copies[1]);
  });

  it('reject needs a reason; cancel is the requester’s own (admin may cancel any)', async () => {
    const student = await desk.user('student');
    const other = await desk.user('student');
    const entry = await desk.entry('general', 1);
    const a = await loans.request(student, { catalogEntryId: entry.id });
    await expectSwlError(loans.reject(desk.staff, { loanId: a.id, reason: '   ' }), 'VALIDATION_FAILED');
    const rejected = await loans.reject(desk.staff, { loanId: a.id, reason: 'Sin copias para esa fecha' });
    expect(rejected).toMatchObject({
      status: 'rechazado',
      rejectedById: desk.staff.id,
      rejectionReason: 'Sin copias para esa fecha',
    });

    const b = await loans.request(student, { catalogEntryId: entry.id });
    await expectSwlError(loans.cancel(other, { loanId: b.id }), 'FORBIDDEN');
    await expectSwlError(loans.cancel(desk.staff, { loanId: b.id }), 'FORBIDDEN');
    const cancelled = await loans.cancel(student, { loanId: b.id, reason: 'ya no lo necesito' });
    expect(cancelled.status).toBe('rechazado');
    const history = await loans.getLoan(student, { loanId: b.id });
    expect(history.events.at(-1)?.type).toBe('cancelled');
    const c = await loans.request(student, { catalogEntryId: entry.id });
    expect((await loans.cancel(desk.admin, { loanId: c.id })).status).toBe('rechazado');
  });

  it('renew moves the due date by one period; then no renewals left; overdue and holds refuse it', async () => {
    desk.clock.set(T0);
    const student = await desk.user('student');
    const entry = await desk.entry('general', 2);
    const loan = await loans.request(student, { catalogEntryId: entry.id });
    const approved = await loans.approve(desk.staff, { loanId: loan.id });
    const due = approved.dueDate as Date;
    const renewed = await loans.renew(student, { loanId: loan.id });
    expect(renewed.dueDate?.getTime()).toBe(due.getTime() + 3 * DAY);
    expect(renewed.renewalCount).toBe(1);
    await expectSwlError(loans.renew(student, { loanId: loan.id }), 'RENEWAL_LIMIT_REACHED');

    const teacher = await desk.user('teacher');
    const held = await loans.request(teacher, { catalogEntryId: entry.id });
    await loans.approve(desk.staff, { loanId: held.id });
    const waiting = await desk.user('teacher');
    await loans.request(waiting, { catalogEntryId: entry.id });
    await expectSwlError(loans.renew(teacher, { loanId: held.id }), 'HOLD_PENDING');

    const someoneElse = await desk.user('student');
    await expectSwlError(loans.renew(someoneElse, { loanId: held.id }), 'FORBIDDEN');

    desk.clock.advance({ days: 8 });
    await expectSwlError(loans.renew(desk.staff, { loanId: held.id }), 'LOAN_OVERDUE');
    desk.clock.set(T0);
  });

  it('a late return charges the policy fine; a lost copy adds its replacement cost; damaged → maintenance', async () => {
    desk.clock.set(T0);
    const student = await desk.user('student');
    const entry = await desk.entry('general', 3, { replacementCost: 4_500_000 });
    const late = await loans.request(student, { copyId: entry.copies[0] });
    await loans.approve(desk.staff, { loanId: late.id });
    desk.clock.advance({ days: 3, hours: 2 }); // 2 h past due: past the 60 min grace → 1 day
    const returned = await loans.return(desk.staff, { loanId: late.id });
    expect(returned).toMatchObject({ overdueFine: 100_000, replacementCharge: 0, finalPenalty: 100_000 });
    const event = (await loans.getLoan(desk.staff, { loanId: late.id })).events.at(-1);
    expect(event?.data).toMatchObject({ fine: { overdueMinutes: 120, intervals: 1, amount: 100_000 } });

    desk.clock.set(T0);
    const other = await desk.user('student');
    const lost = await loans.request(other, { copyId: entry.copies[1] });
    await loans.approve(desk.staff, { loanId: lost.id });
    desk.clock.advance({ days: 40 });
    const lostBack = await loans.return(desk.staff, { loanId: lost.id, outcome: 'lost' });
    expect(lostBack).toMatchObject({
      overdueFine: 2_000_000,
      replacementCharge: 4_500_000,
      finalPenalty: 6_500_000,
    });
    expect((await desk.em().findOneOrFail(ItemInstance, entry.copies[1] as number)).status).toBe('perdido');

    desk.clock.set(T0);
    const third = await desk.user('student');
    const damaged = await loans.request(third, { copyId: entry.copies[2] });
    await loans.approve(desk.staff, { loanId: damaged.id });
    await loans.return(desk.staff, { loanId: damaged.id, outcome: 'damaged', condition: 'lente rayado' });
    expect(await desk.em().findOneOrFail(ItemInstance, entry.copies[2] as number)).toMatchObject({
      status: 'mantenimiento',
      condition: 'lente rayado',
    });
  });

  it('automatic blocks: an overdue loan or an unsettled penalty refuses requests until settled', async () => {
    desk.clock.set(T0);
    const student = await desk.user('student');
    const entry = await desk.entry('general', 3);
    const first = await loans.request(student, { catalogEntryId: entry.id });
    await loans.approve(desk.staff, { loanId: first.id });
    desk.clock.advance({ days: 4 });
    const refused = await expectSwlError(
      loans.request(student, { catalogEntryId: entry.id }),
      'BORROWER_BLOCKED',
    );
    expect(refused.details).toMatchObject({ reasons: ['overdue_loan'] });
    expect((await loans.borrowerStanding(student)).reasons).toEqual(['overdue_loan']);
    const overdue = await loans.overdueLoans(desk.staff, { limit: 500 });
    const mine = overdue.items.find((l) => l.id === first.id);
    expect(mine?.overdueMinutes).toBe(24 * 60);
    expect(mine?.accruedFine.amount).toBe(100_000);

    await loans.return(desk.staff, { loanId: first.id });
    const blocked = await expectSwlError(
      loans.request(student, { catalogEntryId: entry.id }),
      'BORROWER_BLOCKED',
    );
    expect(blocked.details).toMatchObject({ reasons: ['unsettled_penalty'], unsettledAmount: 100_000 });
    await expectSwlError(loans.settlePenalty(student, { loanId: first.id, settlement: 'paid' }), 'FORBIDDEN');
    const settled = await loans.settlePenalty(desk.staff, {
      loanId: first.id,
      settlement: 'waived',
      note: 'primera vez',
    });
    expect(settled).toMatchObject({ penaltySettlement: 'waived', penaltySettledById: desk.staff.id });
    await expectSwlError(
      loans.settlePenalty(desk.staff, { loanId: first.id, settlement: 'paid' }),
      'INVALID_TRANSITION',
    );
    expect((await loans.request(student, { catalogEntryId: entry.id })).status).toBe('pendiente');
    desk.clock.set(T0);
  });

  it('refuses each guard with its own code', async () => {
    desk.clock.set(T0);
    const student = await desk.user('student');
    const teacher = await desk.user('teacher');
    const general = await desk.entry('general', 4);
    const premium = await desk.entry('premium', 2);

    const loan = await loans.request(student, { copyId: general.copies[0] });
    await expectSwlError(loans.approve(student, { loanId: loan.id }), 'FORBIDDEN'); // wrong role
    await loans.approve(desk.staff, { loanId: loan.id });
    await expectSwlError(loans.approve(desk.staff, { loanId: loan.id }), 'INVALID_TRANSITION'); // wrong state
    await expectSwlError(loans.reject(desk.staff, { loanId: loan.id, reason: 'x' }), 'INVALID_TRANSITION');
    const other = await desk.user('student');
    await expectSwlError(loans.getLoan(other, { loanId: loan.id }), 'FORBIDDEN'); // other borrower's loan
    await expectSwlError(
      loans.request(other, { borrowerId: student.id, catalogEntryId: general.id }),
      'FORBIDDEN',
    );

    const inactive = await desk.user('student', { active: false });
    await expectSwlError(
      loans.request(desk.staff, { borrowerId: inactive.id, catalogEntryId: general.id }),
      'BORROWER_INACTIVE',
    );
    await expectSwlError(loans.request(student, { catalogEntryId: premium.id }), 'POLICY_FORBIDS'); // no premium for students
    await expectSwlError(loans.request(teacher, { catalogEntryId: premium.id }), 'ENVIRONMENT_REQUIRED');
    expect(
      (await loans.request(teacher, { catalogEntryId: premium.id, environment: 'Aula 204' })).status,
    ).toBe('pendiente');

    await loans.request(student, { catalogEntryId: general.id });
    await loans.request(student, { catalogEntryId: general.id });
    await expectSwlError(loans.request(student, { catalogEntryId: general.id }), 'LOAN_LIMIT_REACHED'); // 3 active

    const em = desk.em();
    const lostCopy = await em.findOneOrFail(ItemInstance, general.copies[3] as number);
    lostCopy.status = 'perdido';
    await em.flush();
    await expectSwlError(loans.request(teacher, { copyId: lostCopy.id }), 'COPY_UNAVAILABLE');
    const waitsForLent = await loans.request(teacher, { copyId: general.copies[0] }); // lent copy: may wait
    await expectSwlError(loans.approve(desk.staff, { loanId: waitsForLent.id }), 'COPY_UNAVAILABLE');
  });

  it('reads: a borrower’s active and past loans, the pending queue oldest first', async () => {
    desk.clock.set(T0);
    const student = await desk.user('student');
    const entry = await desk.entry('general', 2);
    const a = await loans.request(student, { catalogEntryId: entry.id });
    desk.clock.advance({ minutes: 5 });
    const b = await loans.request(student, { catalogEntryId: entry.id });
    await loans.approve(desk.staff, { loanId: a.id });
    await loans.cancel(student, { loanId: b.id });
    const active = await loans.listBorrowerLoans(student, { scope: 'active' });
    expect(active.items.map((l) => l.id)).toEqual([a.id]);
    const past = await loans.listBorrowerLoans(desk.staff, { borrowerId: student.id, scope: 'past' });
    expect(past).toMatchObject({ total: 1, items: [{ id: b.id, status: 'rechazado' }] });
    await expectSwlError(loans.listBorrowerLoans(student, { borrowerId: desk.staff.id }), 'FORBIDDEN');
    await expectSwlError(loans.pendingQueue(student), 'FORBIDDEN');
    const queue = await loans.pendingQueue(desk.staff, { limit: 500 });
    const times = queue.items.map((l) => l.requestDate.getTime());
    expect(times).toEqual([...times].sort((x, y) => x - y));
    expect(queue.items.every((l) => l.status === 'pendiente')).toBe(true);
  });

  it('writes exactly one LoanEvent per transition', async () => {
    const student = await desk.user('student');
    const entry = await desk.entry('general', 1);
    const loan = await fresh().request(student, { catalogEntryId: entry.id });
    await fresh().approve(desk.staff, { loanId: loan.id });
    await fresh().renew(student, { loanId: loan.id });
    await fresh().return(desk.staff, { loanId: loan.id });
    const rows = await desk.em().find(LoanEvent, { loan: loan.id }, { orderBy: { id: 'asc' } });
    expect(rows.map((r) => r.type)).toEqual(['requested', 'approved', 'renewed', 'returned']);
  });

  it('every command returns the loan with its copy code once the loan names a copy (issue 13: it was null after renew and settlePenalty)', async () => {
    desk.clock.set(T0);
    const student = await desk.user('student');
    const entry = await desk.entry('general', 1);
    const code = (await desk.em().findOneOrFail(ItemInstance, entry.copies[0] as number)).code;
    const named = await fresh().request(student, { copyId: entry.copies[0] as number });
    expect(named.copyCode).toBe(code);
    const approved = await fresh().approve(desk.staff, { loanId: named.id });
    expect(approved.copyCode).toBe(code);
    const renewed = await fresh().renew(student, { loanId: named.id });
    expect(renewed.copyCode).toBe(code);
    desk.clock.advance({ days: 30 }); // returned late: a fine to settle
    const back = await fresh().return(desk.staff, { loanId: named.id, outcome: 'ok' });
    expect(back.copyCode).toBe(code);
    expect(back.finalPenalty).toBeGreaterThan(0);
    const settled = await fresh().settlePenalty(desk.staff, { loanId: named.id, settlement: 'paid' });
    expect(settled.copyCode).toBe(code);
    const other = await fresh().request(student, { copyId: entry.copies[0] as number });
    expect((await fresh().reject(desk.staff, { loanId: other.id, reason: 'duplicate' })).copyCode).toBe(code);
  });
});
