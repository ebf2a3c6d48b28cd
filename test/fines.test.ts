import { describe, expect, it } from 'vitest';
import { calculateFine, type FineRule, fineForOverdueMinutes, overdueMinutes } from '../src/loans/fines.ts';

const MIN = 60_000;
const rule = (r: Partial<FineRule>): FineRule => ({
  fineAmount: 100,
  fineInterval: 'minute',
  gracePeriodMinutes: 0,
  ...r,
});

describe('fine calculator: published vectors (research/domain_anchors.md §2)', () => {
  // F1/F2 — folio-org/mod-circulation OverdueFineServiceTest.testParameters(): 1.00 per interval,
  // max 10.00, for every interval length. 1.00 = 100 minor units.
  for (const [interval, length] of [
    ['minute', 1],
    ['hour', 60],
    ['day', 1440],
    ['week', 10080],
  ] as const) {
    it(`F1 FOLIO: 5 ${interval}s overdue at 1.00/${interval}, max 10.00 → 5.00`, () => {
      const r = fineForOverdueMinutes(
        5 * length,
        rule({ fineAmount: 100, fineInterval: interval, maxFine: 1000 }),
      );
      expect(r.amount).toBe(500);
      expect(r.cappedBy).toBeNull();
    });
    it(`F2 FOLIO: 15 ${interval}s overdue at 1.00/${interval}, max 10.00 → 10.00 (capped)`, () => {
      const r = fineForOverdueMinutes(
        15 * length,
        rule({ fineAmount: 100, fineInterval: interval, maxFine: 1000 }),
      );
      expect(r.amount).toBe(1000);
      expect(r.uncapped).toBe(1500);
      expect(r.cappedBy).toBe('max_fine');
    });
  }

  // F5 — OverduePeriodCalculatorServiceTest.gracePeriodAdjustmentTestParameters(): 255 minutes
  // overdue; grace 4 hours → all 255 minutes count; grace 5 hours → 0.
  it('F5 FOLIO: 255 min overdue, grace 4 h → 255 charged minutes; grace 5 h → 0', () => {
    expect(fineForOverdueMinutes(255, rule({ gracePeriodMinutes: 240, fineAmount: 1 })).chargedMinutes).toBe(
      255,
    );
    expect(fineForOverdueMinutes(255, rule({ gracePeriodMinutes: 240, fineAmount: 1 })).amount).toBe(255);
    expect(fineForOverdueMinutes(255, rule({ gracePeriodMinutes: 300, fineAmount: 1 })).amount).toBe(0);
  });

  // F8 — OverduePeriodCalculatorServiceTest.countOverdueMinutesWithClosedDays: countClosed = true,
  // due = now − 10081 minutes → 10081 minutes.
  it('F8 FOLIO: due 10081 minutes before the return → 10081 overdue minutes', () => {
    const now = new Date('2026-05-10T12:00:00Z');
    expect(overdueMinutes(new Date(now.getTime() - 10081 * MIN), now)).toBe(10081);
  });

  // K1/K2 — Koha t/db_dependent/Circulation/CalcFine.t: fine 1.00/day, chargeperiod 1, grace 0;
  // due 2000-01-01, end 2000-01-30 → 29.00; a cap of 0 disables the cap.
  it('K1 Koha: 1.00/day, due 2000-01-01, returned 2000-01-30 → 29.00', () => {
    const r = calculateFine(
      new Date('2000-01-01T00:00:00Z'),
      new Date('2000-01-30T00:00:00Z'),
      rule({ fineInterval: 'day' }),
    );
    expect(r.intervals).toBe(29);
    expect(r.amount).toBe(2900);
  });
  it('K2 Koha: as K1 with overduefinescap 0 → 29.00 (0 means no cap)', () => {
    const r = calculateFine(
      new Date('2000-01-01T00:00:00Z'),
      new Date('2000-01-30T00:00:00Z'),
      rule({ fineInterval: 'day', maxFine: 0 }),
    );
    expect(r.amount).toBe(2900);
  });
  // K3 — same file: cap_fine_to_replacement_price = 1, replacement price 5.00 → 5.00.
  it('K3 Koha: as K1 capped at replacement price 5.00 → 5.00', () => {
    const r = calculateFine(
      new Date('2000-01-01T00:00:00Z'),
      new Date('2000-01-30T00:00:00Z'),
      rule({ fineInterval: 'day', capAtReplacementCost: true }),
      500,
    );
    expect(r.amount).toBe(500);
    expect(r.cappedBy).toBe('replacement_cost');
  });
  // K9 — Koha t/db_dependent/Fines.t: fine 1, chargeperiod 7 days, charge at end of interval;
  // 4 days overdue → 0, 9 days → 1.
  it('K9 Koha: 1 per 7 days charged at the end: 4 days → 0, 9 days → 1', () => {
    const r = rule({ fineAmount: 1, fineInterval: 'week', intervalRounding: 'down' });
    expect(fineForOverdueMinutes(4 * 1440, r).amount).toBe(0);
    expect(fineForOverdueMinutes(9 * 1440, r).amount).toBe(1);
  });
});

describe('fine calculator: edge cases (DESIGN §5 rule, seeded default policies)', () => {
  // General/student default: 1,000 COP (100,000 minor units) per day, 60 min grace, cap 20,000 COP.
  const general: FineRule = {
    fineAmount: 100_000,
    fineInterval: 'day',
    gracePeriodMinutes: 60,
    maxFine: 2_000_000,
  };
  const due = new Date('2026-03-05T17:00:00Z');
  const at = (minutes: number, seconds = 0) => new Date(due.getTime() + minutes * MIN + seconds * 1000);

  it('returned on time or early → 0', () => {
    expect(calculateFine(due, at(-30), general).amount).toBe(0);
    expect(calculateFine(due, due, general).amount).toBe(0);
  });
  it('seconds past the due minute do not count: 59 s late is 0 minutes (FOLIO truncates to minutes)', () => {
    expect(calculateFine(due, at(0, 59), general).overdueMinutes).toBe(0);
  });
  it('exactly at the grace period → 0 (DESIGN §5 step 2: overdue ≤ grace)', () => {
    expect(calculateFine(due, at(60), general).amount).toBe(0);
  });
  it('one minute past grace → a whole day (threshold: all 61 minutes count, rounded up)', () => {
    const r = calculateFine(due, at(61), general);
    expect(r.chargedMinutes).toBe(61);
    expect(r.amount).toBe(100_000);
  });
  it('deduct mode: one minute past grace counts 1 minute; rounded down that is 0 days', () => {
    expect(calculateFine(due, at(61), { ...general, graceMode: 'deduct' }).chargedMinutes).toBe(1);
    expect(
      calculateFine(due, at(61), { ...general, graceMode: 'deduct', intervalRounding: 'down' }).amount,
    ).toBe(0);
  });
  it('round up vs down: 1 day and 1 hour late → 2 days vs 1 day', () => {
    expect(calculateFine(due, at(1500), general).amount).toBe(200_000);
    expect(calculateFine(due, at(1500), { ...general, intervalRounding: 'down' }).amount).toBe(100_000);
  });
  it('max fine caps a long overdue: 30 days → 20,000 COP', () => {
    const r = calculateFine(due, at(30 * 1440), general);
    expect(r.uncapped).toBe(3_000_000);
    expect(r.amount).toBe(2_000_000);
  });
  it('replacement cost below the max fine wins; above it, the max fine wins (Koha: "the lesser of the two")', () => {
    const capped = { ...general, capAtReplacementCost: true };
    expect(calculateFine(due, at(30 * 1440), capped, 1_500_000)).toMatchObject({
      amount: 1_500_000,
      cappedBy: 'replacement_cost',
    });
    expect(calculateFine(due, at(30 * 1440), capped, 9_000_000)).toMatchObject({
      amount: 2_000_000,
      cappedBy: 'max_fine',
    });
  });
  it('premium default: 2,000 COP/hour, 15 min grace, cap 50,000 COP; 3 h 10 min late → 4 hours', () => {
    const premium: FineRule = {
      fineAmount: 200_000,
      fineInterval: 'hour',
      gracePeriodMinutes: 15,
      maxFine: 5_000_000,
    };
    expect(calculateFine(due, at(190), premium).amount).toBe(800_000);
  });
  it('refuses negative or fractional inputs', () => {
    expect(() => fineForOverdueMinutes(-1, general)).toThrow(RangeError);
    expect(() => fineForOverdueMinutes(1.5, general)).toThrow(RangeError);
    expect(() => fineForOverdueMinutes(10, { ...general, fineAmount: -5 })).toThrow(RangeError);
  });
});
