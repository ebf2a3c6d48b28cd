import { describe, expect, it } from 'vitest';
import {
  addMoney,
  calculateFine,
  type FineRule,
  fineForOverdueMinutes,
  MAX_MONEY,
  overdueMinutes,
} from '../src/loans/fines.ts';

const MIN = 60_000;
const rule = (r: Partial<FineRule>): FineRule => ({
  fineAmount: 100,
  fineInterval: 'minute',
  gracePeriodMinutes: 0,
  ...r,
});

describe('fine calculator: published vectors (FOLIO mod-circulation, Koha C4/Overdues.pm)', () => {
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

describe('fine calculator: edge cases (docs/DESIGN.md §5 rule, seeded default policies)', () => {
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
  it('exactly at the grace period → 0 (docs/DESIGN.md §5 step 2: overdue ≤ grace)', () => {
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

describe('fine calculator: exact money and the MAX_MONEY ceiling (issue 11)', () => {
  const INT32_MAX = 2 ** 31 - 1;
  const perMinute = (fineAmount: number, r: Partial<FineRule> = {}): FineRule =>
    rule({ fineAmount, fineInterval: 'minute', ...r });

  it('an uncapped per-minute fine of 2³¹−1 a day late is exact: 2,147,483,647 × 1440', () => {
    const due = new Date('2026-03-05T17:00:00Z');
    const r = calculateFine(
      due,
      new Date(due.getTime() + 1440 * MIN),
      perMinute(INT32_MAX, { gracePeriodMinutes: 60 }),
    );
    expect(r).toMatchObject({ chargedMinutes: 1440, intervals: 1440, cappedBy: null });
    expect(r.amount).toBe(3_092_376_451_680);
    expect(BigInt(r.amount)).toBe(BigInt(INT32_MAX) * 1440n);
    expect(r.uncapped).toBe(r.amount);
    // deduct mode: only the 1380 minutes after the 60-minute grace count
    expect(
      fineForOverdueMinutes(1440, perMinute(INT32_MAX, { gracePeriodMinutes: 60, graceMode: 'deduct' }))
        .amount,
    ).toBe(INT32_MAX * 1380);
  });

  it('a fine of exactly MAX_MONEY is not held; one more minor unit is held at MAX_MONEY (cappedBy ceiling)', () => {
    expect(fineForOverdueMinutes(1, perMinute(MAX_MONEY))).toMatchObject({
      amount: MAX_MONEY,
      cappedBy: null,
    });
    const half = (MAX_MONEY - 1) / 2; // 2⁵² − 1
    expect(fineForOverdueMinutes(2, perMinute(half))).toMatchObject({
      amount: MAX_MONEY - 1,
      cappedBy: null,
    });
    expect(fineForOverdueMinutes(3, perMinute(half))).toMatchObject({
      intervals: 3,
      uncapped: MAX_MONEY,
      amount: MAX_MONEY,
      cappedBy: 'ceiling',
    });
  });

  it('a fine far beyond 2⁵³ (MAX_MONEY a minute for a year) is held at MAX_MONEY, an exact integer', () => {
    const r = fineForOverdueMinutes(525_600, perMinute(MAX_MONEY));
    expect(r).toMatchObject({ amount: MAX_MONEY, uncapped: MAX_MONEY, cappedBy: 'ceiling' });
    expect(Number.isSafeInteger(r.amount)).toBe(true);
  });

  it('a lower cap wins over the ceiling: max fine or a known replacement cost', () => {
    expect(fineForOverdueMinutes(10, perMinute(MAX_MONEY, { maxFine: 2_000_000 }))).toMatchObject({
      amount: 2_000_000,
      uncapped: MAX_MONEY,
      cappedBy: 'max_fine',
    });
    expect(fineForOverdueMinutes(10, perMinute(MAX_MONEY, { maxFine: MAX_MONEY }))).toMatchObject({
      amount: MAX_MONEY,
      cappedBy: 'max_fine', // a max fine equal to the ceiling is still the cap that applied
    });
    expect(
      fineForOverdueMinutes(10, perMinute(MAX_MONEY, { capAtReplacementCost: true }), INT32_MAX),
    ).toMatchObject({ amount: INT32_MAX, cappedBy: 'replacement_cost' });
  });

  it('refuses amounts above MAX_MONEY (a programming error; the schemas refuse them first)', () => {
    expect(() => fineForOverdueMinutes(1, perMinute(2 ** 53))).toThrow(RangeError);
    expect(() => fineForOverdueMinutes(1, perMinute(1, { maxFine: 2 ** 53 }))).toThrow(RangeError);
    expect(() => fineForOverdueMinutes(1, perMinute(1), 2 ** 53)).toThrow(RangeError);
  });

  it('addMoney adds exactly and holds the sum at MAX_MONEY', () => {
    expect(addMoney(3_092_376_451_680, INT32_MAX)).toEqual({
      amount: 3_092_376_451_680 + INT32_MAX,
      cappedBy: null,
    });
    expect(addMoney(MAX_MONEY, 0)).toEqual({ amount: MAX_MONEY, cappedBy: null });
    expect(addMoney(MAX_MONEY, 1)).toEqual({ amount: MAX_MONEY, cappedBy: 'ceiling' });
    expect(addMoney(MAX_MONEY, MAX_MONEY)).toEqual({ amount: MAX_MONEY, cappedBy: 'ceiling' });
    expect(() => addMoney(-1)).toThrow(RangeError);
    expect(() => addMoney(0.5)).toThrow(RangeError);
  });
});

describe('fine calculator: an unknown replacement cost is not a cap (issue 11, Koha caps at a known price)', () => {
  const capped: FineRule = {
    fineAmount: 100_000,
    fineInterval: 'day',
    gracePeriodMinutes: 60,
    maxFine: 2_000_000,
    capAtReplacementCost: true,
  };
  const THIRTY_DAYS = 30 * 1440;

  it('unknown (null, or not given): only the max fine caps', () => {
    expect(fineForOverdueMinutes(THIRTY_DAYS, capped, null)).toMatchObject({
      amount: 2_000_000,
      cappedBy: 'max_fine',
    });
    expect(fineForOverdueMinutes(THIRTY_DAYS, capped)).toMatchObject({
      amount: 2_000_000,
      cappedBy: 'max_fine',
    });
    expect(fineForOverdueMinutes(THIRTY_DAYS, { ...capped, maxFine: 0 }, null)).toMatchObject({
      amount: 3_000_000,
      cappedBy: null,
    });
  });

  it('a known cost of 0 (a free copy) caps at 0; a known price caps at it', () => {
    expect(fineForOverdueMinutes(THIRTY_DAYS, capped, 0)).toMatchObject({
      amount: 0,
      uncapped: 3_000_000,
      cappedBy: 'replacement_cost',
    });
    expect(fineForOverdueMinutes(THIRTY_DAYS, capped, 1_500_000)).toMatchObject({
      amount: 1_500_000,
      cappedBy: 'replacement_cost',
    });
  });

  it('without capAtReplacementCost the cost is ignored, known or not', () => {
    const uncappedByCost = { ...capped, capAtReplacementCost: false };
    expect(fineForOverdueMinutes(THIRTY_DAYS, uncappedByCost, 0).amount).toBe(2_000_000);
    expect(fineForOverdueMinutes(THIRTY_DAYS, uncappedByCost, null).amount).toBe(2_000_000);
  });
});
