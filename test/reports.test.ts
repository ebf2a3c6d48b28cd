/**
 * Reports as typed reads (issue 17), on every database: a small desk driven through the real
 * services with the manual clock, and every figure of every report checked against the values
 * computed by hand below (the lending policies are the seeded defaults of src/policies/defaults.ts:
 * general × student 3 days, general × teacher 7 days, both 1,000 COP = 100 000 minor units per
 * started day after a 60-minute grace, at most 2 000 000; premium × teacher 8 hours, 200 000 per
 * started hour after 15 minutes; booking buffer 15 minutes, src/reservations/defaults.ts).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { CatalogService } from '../src/catalog/catalog.service.ts';
import { LoanService } from '../src/loans/loan.service.ts';
import type { Actor } from '../src/permissions.ts';
import { ReportService } from '../src/reports/report.service.ts';
import { ReservationService } from '../src/reservations/reservation.service.ts';
import { VisitorLogService } from '../src/visitors/visitor-log.service.ts';
import {
  createTestUser,
  describeEachDialect,
  expectSwlError,
  uniqueId,
  useDesk,
} from './support/fixtures.ts';

const at = (iso: string) => new Date(iso);

describeEachDialect('reports', (dialect) => {
  const desk = useDesk(dialect);
  const reports = () => new ReportService(desk.em(), { clock: desk.clock });

  // What the fixture made.
  let s1: Actor; // Ana, student
  let s2: Actor; // Beto, student
  let t1: Actor; // Carla, teacher
  let t2: Actor; // Diego, teacher
  const A = { id: 0, copies: [] as number[] }; // "Cálculo", general, 3 copies
  const B = { id: 0, copies: [] as number[] }; // "Física", general, 2 copies
  const K = { id: 0, copies: [] as number[] }; // "VideoBeam", premium, 3 copies
  const loan = { L1: 0, L2: 0, L3: 0, L4: 0, L5: 0, L6: 0 };
  let ana: { documentId: string; email: string };
  let carla: { documentId: string; email: string };

  beforeAll(async () => {
    const opts = () => ({ clock: desk.clock });
    const loans = () => new LoanService(desk.em(), opts());
    const lend = async (borrower: Actor, copyId: number, environment?: string) => {
      const request = await loans().request(borrower, { copyId, ...(environment ? { environment } : {}) });
      await loans().approve(desk.staff, { loanId: request.id });
      return request.id;
    };
    ana = { documentId: uniqueId(), email: `ana.${uniqueId()}@example.edu` };
    carla = { documentId: uniqueId(), email: `carla.${uniqueId()}@example.edu` };
    s1 = await createTestUser(desk.orm, 'student', { fullName: 'Ana Pérez', ...ana });
    s2 = await createTestUser(desk.orm, 'student', { fullName: 'Beto Ruiz' });
    t1 = await createTestUser(desk.orm, 'teacher', { fullName: 'Carla Gómez', ...carla });
    t2 = await createTestUser(desk.orm, 'teacher', { fullName: 'Diego Mora' });
    Object.assign(A, await desk.entry('general', 3, { title: 'Cálculo' }));
    Object.assign(B, await desk.entry('general', 2, { title: 'Física' }));
    Object.assign(K, await desk.entry('premium', 3, { title: 'VideoBeam' }));

    // 2026-03-02 13:00 (T0): L1 Ana A-1, L2 Beto B-1 (due +3 days: 03-05 13:00), L3 Carla A-2 (+7 days: 03-09 13:00).
    desk.clock.set('2026-03-02T13:00:00Z');
    loan.L1 = await lend(s1, A.copies[0] as number);
    loan.L2 = await lend(s2, B.copies[0] as number);
    loan.L3 = await lend(t1, A.copies[1] as number);
    // 03-03 13:00: L4 Ana B-2 (due 03-06 13:00), L5 Carla K-1 (premium, 8 hours: due 03-03 21:00).
    desk.clock.set('2026-03-03T13:00:00Z');
    loan.L4 = await lend(s1, B.copies[1] as number);
    loan.L5 = await lend(t1, K.copies[0] as number, 'Aula 201');
    // 03-03 22:00: L5 back damaged, 60 min late: past the 15-min grace, 1 started hour = 200 000,
    // unsettled; K-1 → mantenimiento.
    desk.clock.set('2026-03-03T22:00:00Z');
    const l5 = await loans().return(desk.staff, { loanId: loan.L5, outcome: 'damaged' });
    expect(l5.finalPenalty).toBe(200_000);
    // 03-05 12:00: L2 back lost, on time: replacement 5 000 000, unsettled; B-1 → perdido.
    desk.clock.set('2026-03-05T12:00:00Z');
    const l2 = await loans().return(desk.staff, { loanId: loan.L2, outcome: 'lost' });
    expect(l2.finalPenalty).toBe(5_000_000);
    // 03-06 09:00: K-2 marked lost at the desk.
    desk.clock.set('2026-03-06T09:00:00Z');
    await new CatalogService(desk.em(), opts()).markLost(desk.staff, { copyId: K.copies[1] as number });
    // 2026-04-01 00:30 (the first half hour of April, UTC): L6 Diego A-3 (due 04-08 00:30); a staff
    // booking of the VideoBeam for 04-02 09:00–11:00 (blocks until 11:15).
    desk.clock.set('2026-04-01T00:30:00Z');
    loan.L6 = await lend(t2, A.copies[2] as number);
    await new ReservationService(desk.em(), opts()).reserve(desk.staff, {
      catalogEntryId: K.id,
      startsAt: '2026-04-02T09:00:00Z',
      endsAt: '2026-04-02T11:00:00Z',
    });
    // L4 as a legacy loan without terms: its fine comes from the current policy (the same one).
    await desk
      .em()
      .getConnection()
      .execute('update swl_loan set terms_loan_period = null where id = ?', [loan.L4]);
    // Visits: two on 03-02, one on 03-03 (UTC days).
    const visits = new VisitorLogService(desk.em(), opts());
    for (const [entryTime, role, activity] of [
      ['2026-03-02T08:00:00Z', 'student', 'estudio'],
      ['2026-03-02T23:59:59Z', 'visitor', 'consulta'],
      ['2026-03-03T00:00:00Z', 'student', 'estudio'],
    ] as const) {
      await visits.recordVisit(desk.staff, { visitorName: 'V', visitorId: '1', role, activity, entryTime });
    }
  });

  describe('overdueByBorrower', () => {
    it('groups the overdue loans by borrower, most overdue first, with fines and what each owes', async () => {
      const report = await reports().overdueByBorrower(desk.staff, { asOf: '2026-03-10T15:00:00Z' });
      // L1 due 03-05 13:00 → 5 d 2 h = 7 320 min > 60 grace → ⌈7320 / 1440⌉ = 6 days × 100 000 = 600 000.
      // L4 due 03-06 13:00 → 4 d 2 h = 5 880 min → ⌈5880 / 1440⌉ = 5 × 100 000 = 500 000 (policy: legacy loan).
      // L3 due 03-09 13:00 → 1 d 2 h = 1 560 min → ⌈1560 / 1440⌉ = 2 × 100 000 = 200 000.
      // Ana: 600 000 + 500 000 = 1 100 000, nothing unsettled. Carla: 200 000 + L5's 200 000 = 400 000.
      // Beto owes L2's 5 000 000 but has nothing overdue: not listed. L6 (due 04-08) is not due yet.
      expect(report).toEqual({
        asOf: at('2026-03-10T15:00:00Z'),
        total: 2,
        limit: 50,
        offset: 0,
        items: [
          {
            borrowerId: s1.id,
            documentId: ana.documentId,
            fullName: 'Ana Pérez',
            email: ana.email,
            role: 'student',
            active: true,
            loans: [
              {
                loanId: loan.L1,
                catalogEntryId: A.id,
                titleOrName: 'Cálculo',
                category: 'general',
                copyId: A.copies[0],
                copyCode: `TST-${A.id}-1`,
                approvalDate: at('2026-03-02T13:00:00Z'),
                dueDate: at('2026-03-05T13:00:00Z'),
                overdueMinutes: 7_320,
                accruedFine: 600_000,
                fineCappedBy: null,
              },
              {
                loanId: loan.L4,
                catalogEntryId: B.id,
                titleOrName: 'Física',
                category: 'general',
                copyId: B.copies[1],
                copyCode: `TST-${B.id}-2`,
                approvalDate: at('2026-03-03T13:00:00Z'),
                dueDate: at('2026-03-06T13:00:00Z'),
                overdueMinutes: 5_880,
                accruedFine: 500_000,
                fineCappedBy: null,
              },
            ],
            overdueLoans: 2,
            accruedFines: 1_100_000,
            unsettledPenalties: 0,
            unsettledAmount: 0,
            totalOwed: 1_100_000,
          },
          {
            borrowerId: t1.id,
            documentId: carla.documentId,
            fullName: 'Carla Gómez',
            email: carla.email,
            role: 'teacher',
            active: true,
            loans: [
              {
                loanId: loan.L3,
                catalogEntryId: A.id,
                titleOrName: 'Cálculo',
                category: 'general',
                copyId: A.copies[1],
                copyCode: `TST-${A.id}-2`,
                approvalDate: at('2026-03-02T13:00:00Z'),
                dueDate: at('2026-03-09T13:00:00Z'),
                overdueMinutes: 1_560,
                accruedFine: 200_000,
                fineCappedBy: null,
              },
            ],
            overdueLoans: 1,
            accruedFines: 200_000,
            unsettledPenalties: 1,
            unsettledAmount: 200_000,
            totalOwed: 400_000,
          },
        ],
      });
    });

    it('agrees with LoanService.overdueLoans, loan by loan', async () => {
      const asOf = '2026-03-10T15:00:00Z';
      const report = await reports().overdueByBorrower(desk.staff, { asOf });
      const loans = await new LoanService(desk.em(), { clock: desk.clock }).overdueLoans(desk.staff, {
        asOf,
      });
      const fromReport = report.items.flatMap((b) => b.loans.map((l) => [l.loanId, l.accruedFine]));
      const fromLoans = loans.items.map((l) => [l.id, l.accruedFine.amount]);
      expect(fromReport.sort()).toEqual(fromLoans.sort());
    });

    it('pages over borrowers: total counts borrowers; a page past the end still says the total', async () => {
      const asOf = '2026-03-10T15:00:00Z';
      const second = await reports().overdueByBorrower(desk.staff, { asOf, limit: 1, offset: 1 });
      expect(second.total).toBe(2);
      expect(second.items.map((b) => [b.borrowerId, b.loans.map((l) => l.loanId)])).toEqual([
        [t1.id, [loan.L3]],
      ]);
      const past = await reports().overdueByBorrower(desk.staff, { asOf, limit: 1, offset: 5 });
      expect(past).toMatchObject({ items: [], total: 2 });
    });

    it('lists a loan inside its grace period with no fine; none before anything is due', async () => {
      // 03-05 13:59:59 → L1 is 59 whole minutes late (13:59 − 13:00): within the 60-minute grace.
      const report = await reports().overdueByBorrower(desk.staff, { asOf: '2026-03-05T13:59:59Z' });
      expect(report.total).toBe(1);
      expect(report.items[0]?.loans).toMatchObject([{ loanId: loan.L1, overdueMinutes: 59, accruedFine: 0 }]);
      expect(report.items[0]?.totalOwed).toBe(0);
      const none = await reports().overdueByBorrower(desk.staff, { asOf: '2026-03-05T13:00:00Z' });
      expect(none).toMatchObject({ items: [], total: 0 });
    });

    it('defaults asOf to the clock, and caps a fine at the policy maximum', async () => {
      // Now 04-01 00:30: L1 due 03-05 13:00 → 26 d 11 h 30 min → 27 days × 100 000 = 2 700 000 > 2 000 000.
      const report = await reports().overdueByBorrower(desk.staff);
      expect(report.asOf).toEqual(desk.clock.now());
      const l1 = report.items[0]?.loans[0];
      expect(l1).toMatchObject({ loanId: loan.L1, accruedFine: 2_000_000, fineCappedBy: 'max_fine' });
      // Ana: L1 2 000 000 + L4 (25 d 11 h 30 min → 26 days, capped) 2 000 000.
      expect(report.items[0]?.accruedFines).toBe(4_000_000);
    });
  });

  describe('availability', () => {
    const range = { from: '2026-04-02T08:00:00Z', to: '2026-04-02T12:00:00Z' };

    it('gives each entry the reservation engine’s timeline over the range', async () => {
      const report = await reports().availability(desk.staff, { ...range, category: 'premium' });
      // K: K-1 mantenimiento and K-2 perdido are not lendable → capacity 1 (K-3). The booking holds
      // it 09:00–11:15 (11:00 + 15-min buffer).
      expect(report).toEqual({
        from: at(range.from),
        to: at(range.to),
        total: 1,
        limit: 20,
        offset: 0,
        items: [
          {
            catalogEntryId: K.id,
            titleOrName: 'VideoBeam',
            category: 'premium',
            capacity: 1,
            from: at(range.from),
            to: at(range.to),
            minFree: 0,
            intervals: [
              { from: at('2026-04-02T08:00:00Z'), to: at('2026-04-02T09:00:00Z'), booked: 0, free: 1 },
              { from: at('2026-04-02T09:00:00Z'), to: at('2026-04-02T11:15:00Z'), booked: 1, free: 0 },
              { from: at('2026-04-02T11:15:00Z'), to: at('2026-04-02T12:00:00Z'), booked: 0, free: 1 },
            ],
          },
        ],
      });
      const single = await new ReservationService(desk.em(), { clock: desk.clock }).availability(desk.staff, {
        catalogEntryId: K.id,
        ...range,
      });
      const { titleOrName: _t, category: _c, ...figures } = report.items[0] as (typeof report.items)[number];
      expect(figures).toEqual(single);
    });

    it('filters by entry ids, pages over entries by id, and counts overdue loans as committed', async () => {
      const first = await reports().availability(desk.staff, {
        ...range,
        catalogEntryIds: [K.id, A.id, B.id],
        limit: 2,
      });
      expect(first.total).toBe(3);
      // A: 3 copies lent — L1 and L3 overdue (committed for ever), L6 until 04-08 → booked 3, free 0.
      // B: B-1 perdido → capacity 1, B-2 on L4 (overdue) → booked 1, free 0.
      expect(first.items.map((e) => [e.catalogEntryId, e.capacity, e.minFree, e.intervals])).toEqual([
        [A.id, 3, 0, [{ from: at(range.from), to: at(range.to), booked: 3, free: 0 }]],
        [B.id, 1, 0, [{ from: at(range.from), to: at(range.to), booked: 1, free: 0 }]],
      ]);
      const next = await reports().availability(desk.staff, {
        ...range,
        catalogEntryIds: [K.id, A.id, B.id],
        limit: 2,
        offset: 2,
      });
      expect(next.items.map((e) => e.catalogEntryId)).toEqual([K.id]);
    });
  });

  it('loansPerMonth: loans lent per UTC month × category × role, and how many came back late', async () => {
    // March: L1, L2, L4 general/student (L2 back on time); L3 general/teacher; L5 premium/teacher
    // (back 1 h late). April (00:30 UTC on the 1st): L6 general/teacher.
    const report = await reports().loansPerMonth(desk.staff, {
      from: '2026-03-01T00:00:00Z',
      to: '2026-05-01T00:00:00Z',
    });
    expect(report).toEqual({
      from: at('2026-03-01T00:00:00Z'),
      to: at('2026-05-01T00:00:00Z'),
      total: 6,
      rows: [
        { month: '2026-03', category: 'general', role: 'student', loans: 3, returnedLate: 0 },
        { month: '2026-03', category: 'general', role: 'teacher', loans: 1, returnedLate: 0 },
        { month: '2026-03', category: 'premium', role: 'teacher', loans: 1, returnedLate: 1 },
        { month: '2026-04', category: 'general', role: 'teacher', loans: 1, returnedLate: 0 },
      ],
    });
    // Half-open: a period ending at L6's approval leaves it out.
    const march = await reports().loansPerMonth(desk.staff, {
      from: '2026-03-01T00:00:00Z',
      to: '2026-04-01T00:30:00Z',
    });
    expect(march.total).toBe(5);
    expect(march.rows.map((r) => r.month)).not.toContain('2026-04');
  });

  it('topBorrowed: most loans first, by category', async () => {
    const period = { from: '2026-03-01T00:00:00Z', to: '2026-05-01T00:00:00Z' };
    // A: L1, L3, L6 = 3; B: L2, L4 = 2; K: L5 = 1.
    const top = await reports().topBorrowed(desk.staff, { ...period, limit: 2 });
    expect(top).toEqual({
      from: at(period.from),
      to: at(period.to),
      rows: [
        { catalogEntryId: A.id, titleOrName: 'Cálculo', category: 'general', loans: 3 },
        { catalogEntryId: B.id, titleOrName: 'Física', category: 'general', loans: 2 },
      ],
    });
    const premium = await reports().topBorrowed(desk.staff, { ...period, category: 'premium' });
    expect(premium.rows).toEqual([
      { catalogEntryId: K.id, titleOrName: 'VideoBeam', category: 'premium', loans: 1 },
    ]);
  });

  it('visits: the visitor log’s statistics, unchanged', async () => {
    const input = { from: '2026-03-01T00:00:00Z', to: '2026-04-01T00:00:00Z', groupBy: 'day' } as const;
    const report = await reports().visits(desk.staff, input);
    expect(report).toEqual({
      from: at(input.from),
      to: at(input.to),
      groupBy: 'day',
      rows: [
        { key: '2026-03-02', visits: 2 },
        { key: '2026-03-03', visits: 1 },
      ],
      total: 3,
    });
    expect(report).toEqual(await new VisitorLogService(desk.em()).statistics(desk.staff, input));
    const byRole = await reports().visits(desk.staff, { ...input, groupBy: 'role' });
    expect(byRole.rows).toEqual([
      { key: 'student', visits: 2 },
      { key: 'visitor', visits: 1 },
    ]);
  });

  it('copiesOutOfService: since the event that put each copy there, longest out first', async () => {
    const report = await reports().copiesOutOfService(desk.staff);
    expect(report).toEqual({
      total: 3,
      limit: 50,
      offset: 0,
      items: [
        {
          copyId: K.copies[0],
          code: `TST-${K.id}-1`,
          status: 'mantenimiento',
          catalogEntryId: K.id,
          titleOrName: 'VideoBeam',
          category: 'premium',
          since: at('2026-03-03T22:00:00Z'),
          sinceEvent: 'returned',
          loanId: loan.L5,
        },
        {
          copyId: B.copies[0],
          code: `TST-${B.id}-1`,
          status: 'perdido',
          catalogEntryId: B.id,
          titleOrName: 'Física',
          category: 'general',
          since: at('2026-03-05T12:00:00Z'),
          sinceEvent: 'returned',
          loanId: loan.L2,
        },
        {
          copyId: K.copies[1],
          code: `TST-${K.id}-2`,
          status: 'perdido',
          catalogEntryId: K.id,
          titleOrName: 'VideoBeam',
          category: 'premium',
          since: at('2026-03-06T09:00:00Z'),
          sinceEvent: 'marked_lost',
          loanId: null,
        },
      ],
    });
    const lost = await reports().copiesOutOfService(desk.staff, { status: 'perdido' });
    expect(lost.items.map((c) => c.copyId)).toEqual([B.copies[0], K.copies[1]]);
    const premium = await reports().copiesOutOfService(desk.staff, {
      category: 'premium',
      limit: 1,
      offset: 1,
    });
    expect(premium).toMatchObject({ total: 2, items: [{ copyId: K.copies[1] }] });
    const past = await reports().copiesOutOfService(desk.staff, { offset: 10 });
    expect(past).toMatchObject({ items: [], total: 3 });
  });

  it('refuses a student (FORBIDDEN) and a bad period (VALIDATION_FAILED)', async () => {
    const period = { from: '2026-03-01T00:00:00Z', to: '2026-04-01T00:00:00Z' };
    const student = s1;
    await expectSwlError(reports().overdueByBorrower(student), 'FORBIDDEN');
    await expectSwlError(reports().availability(student, period), 'FORBIDDEN');
    await expectSwlError(reports().loansPerMonth(student, period), 'FORBIDDEN');
    await expectSwlError(reports().visits(student, { ...period, groupBy: 'day' }), 'FORBIDDEN');
    await expectSwlError(reports().topBorrowed(student, period), 'FORBIDDEN');
    await expectSwlError(reports().copiesOutOfService(student), 'FORBIDDEN');
    const backwards = { from: period.to, to: period.from };
    await expectSwlError(reports().loansPerMonth(desk.staff, backwards), 'VALIDATION_FAILED');
    await expectSwlError(
      reports().topBorrowed(desk.staff, { from: period.from, to: period.from }),
      'VALIDATION_FAILED',
    );
    await expectSwlError(reports().availability(desk.staff, backwards), 'VALIDATION_FAILED');
    await expectSwlError(
      reports().availability(desk.staff, { from: '2026-01-01T00:00:00Z', to: '2027-01-03T00:00:00Z' }),
      'VALIDATION_FAILED',
    );
    await expectSwlError(reports().visits(desk.staff, { ...backwards, groupBy: 'day' }), 'VALIDATION_FAILED');
    await expectSwlError(
      reports().copiesOutOfService(desk.staff, { status: 'prestado' } as never),
      'VALIDATION_FAILED',
    );
    await expectSwlError(reports().overdueByBorrower(desk.staff, { limit: 0 }), 'VALIDATION_FAILED');
  });
});
