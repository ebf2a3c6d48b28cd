/**
 * The overdue fine calculator: one pure function with FOLIO's and Koha's semantics as options.
 * Source: DESIGN §5 "Fine rule"; `research/domain_anchors.md` §2 (FOLIO `OverdueFineService`,
 * `OverduePeriodCalculatorService`; Koha `C4/Overdues.pm::CalcFine`).
 *
 * @module
 */
import type { FineInterval, GraceMode, IntervalRounding } from '../domain/vocabulary.ts';

/** Length of each fine interval in minutes (FOLIO `OverdueFineService`: minute 1, hour 60, day 1440, week 10080). */
export const FINE_INTERVAL_MINUTES: Readonly<Record<FineInterval, number>> = {
  minute: 1,
  hour: 60,
  day: 1440,
  week: 10080,
};

/** The fine-related fields of a `LoanPolicy`. Money in integer minor units. */
export interface FineRule {
  /** Amount per interval, minor units (≥ 0). */
  fineAmount: number;
  fineInterval: FineInterval;
  /** Grace period, minutes (≥ 0). */
  gracePeriodMinutes: number;
  /** `threshold` (default): past grace, all overdue minutes count. `deduct`: only minutes after grace. */
  graceMode?: GraceMode;
  /** `up` (default): a started interval counts. `down`: only whole intervals. */
  intervalRounding?: IntervalRounding;
  /** Cap per loan, minor units; 0 = no cap. */
  maxFine?: number;
  /** Also cap at the replacement cost (the lower cap wins). */
  capAtReplacementCost?: boolean;
}

/** What the calculator found, with every intermediate figure for display and audit. */
export interface FineBreakdown {
  /** Whole minutes from the due date to the return (0 when returned on time). */
  overdueMinutes: number;
  /** Minutes that count after the grace rule. */
  chargedMinutes: number;
  /** Intervals charged after rounding. */
  intervals: number;
  /** `intervals × fineAmount`, before caps, minor units. */
  uncapped: number;
  /** The fine, minor units (≥ 0, an integer). */
  amount: number;
  /** Which cap lowered the amount, if any. */
  cappedBy: 'max_fine' | 'replacement_cost' | null;
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

/**
 * The fine for a number of overdue minutes under `rule`:
 *
 * 1. minutes ≤ grace → 0. Otherwise `threshold` counts all minutes, `deduct` only those after grace;
 * 2. intervals = counted minutes ÷ interval length, rounded up (`up`) or down (`down`);
 * 3. amount = intervals × fine per interval, then capped by `maxFine` (when > 0) and, with
 *    `capAtReplacementCost`, by `replacementCost` — the lower cap wins.
 *
 * @param minutes - whole overdue minutes (≥ 0).
 * @param rule - the policy's fine fields (minor units, minutes).
 * @param replacementCost - the catalog entry's replacement cost, minor units (used only with `capAtReplacementCost`).
 * @throws RangeError for negative or non-integer minutes or amounts (a programming error; the services validate first).
 */
export function fineForOverdueMinutes(minutes: number, rule: FineRule, replacementCost = 0): FineBreakdown {
  for (const [name, value] of [
    ['minutes', minutes],
    ['fineAmount', rule.fineAmount],
    ['gracePeriodMinutes', rule.gracePeriodMinutes],
    ['maxFine', rule.maxFine ?? 0],
    ['replacementCost', replacementCost],
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
  const uncapped = intervals * rule.fineAmount;
  let amount = uncapped;
  let cappedBy: FineBreakdown['cappedBy'] = null;
  const maxFine = rule.maxFine ?? 0;
  if (maxFine > 0 && amount > maxFine) {
    amount = maxFine;
    cappedBy = 'max_fine';
  }
  if (rule.capAtReplacementCost && amount > replacementCost) {
    amount = replacementCost;
    cappedBy = 'replacement_cost';
  }
  return { overdueMinutes: minutes, chargedMinutes, intervals, uncapped, amount, cappedBy };
}

/**
 * The overdue fine for a loan due at `dueAt` and returned (or looked at) at `returnedAt`:
 * {@link overdueMinutes} then {@link fineForOverdueMinutes}.
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
  replacementCost = 0,
): FineBreakdown {
  return fineForOverdueMinutes(overdueMinutes(dueAt, returnedAt), rule, replacementCost);
}
