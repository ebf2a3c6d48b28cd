/**
 * The overdue fine calculator: one pure function with FOLIO's and Koha's semantics as options.
 * Source: docs/DESIGN.md §5 "Fine rule"; FOLIO mod-circulation (`OverdueFineService`,
 * `OverduePeriodCalculatorService`; Koha `C4/Overdues.pm::CalcFine`).
 *
 * @module
 */
import type { FineInterval, GraceMode, IntervalRounding } from '../domain/vocabulary.ts';
import { MAX_MONEY } from '../entities/common.ts';

/** The largest amount of money the package stores or computes (2⁵³ − 1 minor units); re-exported here. */
export { MAX_MONEY };

/** Length of each fine interval in minutes (FOLIO `OverdueFineService`: minute 1, hour 60, day 1440, week 10080). */
export const FINE_INTERVAL_MINUTES: Readonly<Record<FineInterval, number>> = {
  minute: 1,
  hour: 60,
  day: 1440,
  week: 10080,
};

/**
 * The fine-related fields of a `LoanPolicy` (or of the terms a loan was approved under). Money in
 * integer minor units, 0 ..= {@link MAX_MONEY}.
 */
export interface FineRule {
  /** Amount per interval, minor units (0 ..= `MAX_MONEY`). */
  fineAmount: number;
  fineInterval: FineInterval;
  /** Grace period, minutes (≥ 0). */
  gracePeriodMinutes: number;
  /** `threshold` (default): past grace, all overdue minutes count. `deduct`: only minutes after grace. */
  graceMode?: GraceMode;
  /** `up` (default): a started interval counts. `down`: only whole intervals. */
  intervalRounding?: IntervalRounding;
  /** Cap per loan, minor units (0 ..= `MAX_MONEY`); 0 = no cap. */
  maxFine?: number;
  /**
   * Also cap at the replacement cost (the lower cap wins) — only at a **known** cost: an unknown
   * cost (`null`) is no cap; a known cost of 0 (a free copy) caps the fine at 0, as Koha caps at
   * a known price only.
   */
  capAtReplacementCost?: boolean;
}

/**
 * Which cap lowered the fine:
 * - `max_fine`: the rule's `maxFine`;
 * - `replacement_cost`: the entry's known replacement cost (`capAtReplacementCost`);
 * - `ceiling`: {@link MAX_MONEY}, the largest amount the package stores — reached only when no
 *   lower cap applies (e.g. no `maxFine` and a huge per-minute fine over a long time);
 * - `null`: not capped.
 */
export type FineCap = 'max_fine' | 'replacement_cost' | 'ceiling';

/** What the calculator found, with every intermediate figure for display and audit. */
export interface FineBreakdown {
  /** Whole minutes from the due date to the return (0 when returned on time). */
  overdueMinutes: number;
  /** Minutes that count after the grace rule. */
  chargedMinutes: number;
  /** Intervals charged after rounding. */
  intervals: number;
  /**
   * `intervals × fineAmount` before `maxFine` and the replacement cost, minor units, computed
   * exactly and held at {@link MAX_MONEY} when the product is larger.
   */
  uncapped: number;
  /** The fine, minor units: an integer, 0 ..= {@link MAX_MONEY}. */
  amount: number;
  /** Which cap lowered the amount, if any ({@link FineCap}). */
  cappedBy: FineCap | null;
}

const MINUTE_MS = 60_000;

/**
 * Whole minutes a return at `returnedAt` is past `dueAt`: both instants are truncated to the
 * minute, as FOLIO does, and a return at or before the due minute is 0 minutes late.
 *
 * @param dueAt - due instant (UTC).
 * @param returnedAt - return (or "as of") instant (UTC).
 * @returns minutes ≥ 0.
 */
export function overdueMinutes(dueAt: Date, returnedAt: Date): number {
  const due = Math.floor(dueAt.getTime() / MINUTE_MS);
  const back = Math.floor(returnedAt.getTime() / MINUTE_MS);
  return Math.max(0, back - due);
}

const BIG_MAX_MONEY = BigInt(MAX_MONEY);

/** `value` held at {@link MAX_MONEY}. */
function ceiling(value: bigint): { amount: number; held: boolean } {
  return value > BIG_MAX_MONEY ? { amount: MAX_MONEY, held: true } : { amount: Number(value), held: false };
}

/**
 * Adds amounts of money exactly (BigInt) and holds the sum at {@link MAX_MONEY}, e.g. a loan's
 * `finalPenalty = overdueFine + replacementCharge`.
 *
 * @param amounts - integer minor units, each 0 ..= `MAX_MONEY`.
 * @returns the sum in minor units (0 ..= `MAX_MONEY`) and whether it was held at the ceiling.
 * @throws RangeError for a negative, fractional or unsafe amount (a programming error).
 */
export function addMoney(...amounts: number[]): { amount: number; cappedBy: 'ceiling' | null } {
  let sum = 0n;
  for (const value of amounts) {
    if (!Number.isSafeInteger(value) || value < 0)
      throw new RangeError('amounts must be non-negative integers');
    sum += BigInt(value);
  }
  const { amount, held } = ceiling(sum);
  return { amount, cappedBy: held ? 'ceiling' : null };
}

/**
 * The fine for a number of overdue minutes under `rule`:
 *
 * 1. minutes ≤ grace → 0. Otherwise `threshold` counts all minutes, `deduct` only those after grace;
 * 2. intervals = counted minutes ÷ interval length, rounded up (`up`) or down (`down`);
 * 3. amount = intervals × fine per interval (exact integer arithmetic: the product may exceed 2⁵³),
 *    then capped by `maxFine` (when > 0) and, with `capAtReplacementCost`, by a **known**
 *    `replacementCost` — the lower cap wins; an unknown cost (`null`) is no cap;
 * 4. an amount still above {@link MAX_MONEY} is held at it (`cappedBy: 'ceiling'`).
 *
 * @param minutes - whole overdue minutes (≥ 0).
 * @param rule - the fine fields of a policy or of a loan's terms (minor units, minutes).
 * @param replacementCost - the catalog entry's replacement cost, minor units, or `null` when it is
 *   unknown (the default); used only with `capAtReplacementCost`.
 * @throws RangeError for negative, non-integer or unsafe (> `MAX_MONEY`) minutes or amounts (a
 *   programming error; the services validate first).
 */
export function fineForOverdueMinutes(
  minutes: number,
  rule: FineRule,
  replacementCost: number | null = null,
): FineBreakdown {
  for (const [name, value] of [
    ['minutes', minutes],
    ['fineAmount', rule.fineAmount],
    ['gracePeriodMinutes', rule.gracePeriodMinutes],
    ['maxFine', rule.maxFine ?? 0],
    ['replacementCost', replacementCost ?? 0],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0)
      throw new RangeError(`${name} must be a non-negative integer`);
  }
  const grace = rule.gracePeriodMinutes;
  const none: FineBreakdown = {
    overdueMinutes: minutes,
    chargedMinutes: 0,
    intervals: 0,
    uncapped: 0,
    amount: 0,
    cappedBy: null,
  };
  if (minutes <= grace) return none;
  const chargedMinutes = (rule.graceMode ?? 'threshold') === 'deduct' ? minutes - grace : minutes;
  const length = FINE_INTERVAL_MINUTES[rule.fineInterval];
  const intervals =
    (rule.intervalRounding ?? 'up') === 'down'
      ? Math.floor(chargedMinutes / length)
      : Math.ceil(chargedMinutes / length);
  const exact = BigInt(intervals) * BigInt(rule.fineAmount);
  let amount = exact;
  let cappedBy: FineCap | null = null;
  const maxFine = BigInt(rule.maxFine ?? 0);
  if (maxFine > 0n && amount > maxFine) {
    amount = maxFine;
    cappedBy = 'max_fine';
  }
  if (rule.capAtReplacementCost && replacementCost !== null && amount > BigInt(replacementCost)) {
    amount = BigInt(replacementCost);
    cappedBy = 'replacement_cost';
  }
  const held = ceiling(amount);
  if (held.held) cappedBy = 'ceiling';
  return {
    overdueMinutes: minutes,
    chargedMinutes,
    intervals,
    uncapped: ceiling(exact).amount,
    amount: held.amount,
    cappedBy,
  };
}

/**
 * The overdue fine for a loan due at `dueAt` and returned (or looked at) at `returnedAt`:
 * {@link overdueMinutes} then {@link fineForOverdueMinutes} (same parameters; `replacementCost` is
 * minor units or `null` = unknown, no cap).
 *
 * @example
 * ```ts
 * // 1,000 COP (100,000 centavos) a day, 60 min grace, cap 20,000 COP: returned 2 days 3 hours late
 * calculateFine(due, new Date(due.getTime() + 51 * 3600_000),
 *   { fineAmount: 100_000, fineInterval: 'day', gracePeriodMinutes: 60, maxFine: 2_000_000 }).amount; // 300_000
 * ```
 */
export function calculateFine(
  dueAt: Date,
  returnedAt: Date,
  rule: FineRule,
  replacementCost: number | null = null,
): FineBreakdown {
  return fineForOverdueMinutes(overdueMinutes(dueAt, returnedAt), rule, replacementCost);
}
