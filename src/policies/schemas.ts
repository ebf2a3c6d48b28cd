/**
 * Input schemas of the {@link PolicyService}. Exported so hosts validate request bodies with the
 * same rules. Every schema is strict: unknown keys are refused (`VALIDATION_FAILED`). Money is
 * integer minor units; durations in the stated units. Source: docs/DESIGN.md §5.
 *
 * @module
 */
import { z } from 'zod';
import {
  CATEGORIES,
  FINE_INTERVALS,
  GRACE_MODES,
  INTERVAL_ROUNDINGS,
  PERIOD_UNITS,
  ROLES,
} from '../domain/vocabulary.ts';
import { MAX_MONEY } from '../entities/common.ts';
import { MAX_ID } from '../validation.ts';

/**
 * Money: integer minor units, 0 ..= `MAX_MONEY` (2⁵³ − 1; COP centavos in the defaults: 1 COP =
 * 100). Money columns are 64-bit on both databases, and the fine calculator holds any fine at
 * `MAX_MONEY`, so every accepted amount is stored exactly.
 */
const MinorUnits = z.number().int().min(0).max(MAX_MONEY);

/** The key of a policy: a category and a borrower role. */
const key = {
  category: z.enum(CATEGORIES),
  role: z.enum(ROLES),
};

/** The rule fields of a policy, required unless they have a default. */
const rule = {
  /** Loan period length in `loanPeriodUnit`, 1..100 000. */
  loanPeriod: z.number().int().min(1).max(100_000),
  loanPeriodUnit: z.enum(PERIOD_UNITS),
  /** Pending + approved loans a borrower may hold in the category, 0..1000. */
  maxActiveLoans: z.number().int().min(0).max(1000),
  /** Renewals per loan, 0..100. */
  maxRenewals: z.number().int().min(0).max(100),
  environmentRequired: z.boolean().default(false),
  /** Fine per interval, minor units, 0 ..= `MAX_MONEY`. */
  fineAmount: MinorUnits,
  fineInterval: z.enum(FINE_INTERVALS),
  /** Grace period, minutes, 0..525 600 (a year). */
  gracePeriodMinutes: z.number().int().min(0).max(525_600).default(0),
  graceMode: z.enum(GRACE_MODES).default('threshold'),
  intervalRounding: z.enum(INTERVAL_ROUNDINGS).default('up'),
  /** Cap per loan, minor units, 0 ..= `MAX_MONEY`; 0 = no cap. */
  maxFine: MinorUnits.default(0),
  capAtReplacementCost: z.boolean().default(false),
};

/**
 * `upsert`: the whole policy for (`category`, `role`) — created, or replaced when it exists.
 * Required: `loanPeriod` (> 0) + `loanPeriodUnit` (`minutes` | `hours` | `days`),
 * `maxActiveLoans` (≥ 0), `maxRenewals` (≥ 0), `fineAmount` (minor units, 0 ..= `MAX_MONEY`) +
 * `fineInterval` (`minute` | `hour` | `day` | `week`). Defaults: `environmentRequired` false,
 * `gracePeriodMinutes` 0, `graceMode` `threshold`, `intervalRounding` `up`, `maxFine` 0 (no cap),
 * `capAtReplacementCost` false. Loans already approved keep the terms they were approved under.
 */
export const UpsertLoanPolicyInput = z.strictObject({ ...key, ...rule });
/** Input of `PolicyService.upsert` (before parsing). */
export type UpsertLoanPolicyInput = z.input<typeof UpsertLoanPolicyInput>;

/** A complete lending rule for one (category, role), as stored (the parsed {@link UpsertLoanPolicyInput}). */
export type LoanPolicyRule = z.output<typeof UpsertLoanPolicyInput>;

const ruleFields = Object.keys(rule) as Array<keyof typeof rule>;

/**
 * `update`: change some fields of the existing policy for (`category`, `role`); absent fields
 * stay. At least one field is required. `expectedVersion`: refuse with `CONFLICT` unless the
 * policy still has this version.
 */
export const UpdateLoanPolicyInput = z
  .strictObject({
    ...key,
    loanPeriod: rule.loanPeriod.optional(),
    loanPeriodUnit: rule.loanPeriodUnit.optional(),
    maxActiveLoans: rule.maxActiveLoans.optional(),
    maxRenewals: rule.maxRenewals.optional(),
    environmentRequired: z.boolean().optional(),
    fineAmount: rule.fineAmount.optional(),
    fineInterval: rule.fineInterval.optional(),
    gracePeriodMinutes: z.number().int().min(0).max(525_600).optional(),
    graceMode: z.enum(GRACE_MODES).optional(),
    intervalRounding: z.enum(INTERVAL_ROUNDINGS).optional(),
    maxFine: MinorUnits.optional(),
    capAtReplacementCost: z.boolean().optional(),
    expectedVersion: z.number().int().min(1).max(MAX_ID).optional(),
  })
  .refine((v) => ruleFields.some((k) => v[k] !== undefined), {
    message: 'name at least one field to change',
  });
/** Input of `PolicyService.update`. */
export type UpdateLoanPolicyInput = z.input<typeof UpdateLoanPolicyInput>;

/** `get` / `delete`: one policy by (`category`, `role`). */
export const LoanPolicyKeyInput = z.strictObject(key);
/** Input of `PolicyService.get` and `PolicyService.delete`. */
export type LoanPolicyKeyInput = z.input<typeof LoanPolicyKeyInput>;

/** `list`: every policy, optionally of one `category` and/or `role`. */
export const ListLoanPoliciesInput = z.strictObject({
  category: z.enum(CATEGORIES).optional(),
  role: z.enum(ROLES).optional(),
});
/** Input of `PolicyService.list`. */
export type ListLoanPoliciesInput = z.input<typeof ListLoanPoliciesInput>;
