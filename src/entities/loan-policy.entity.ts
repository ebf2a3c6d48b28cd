import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import {
  CATEGORIES,
  FINE_INTERVALS,
  GRACE_MODES,
  INTERVAL_ROUNDINGS,
  PERIOD_UNITS,
  ROLES,
} from '../domain/vocabulary.ts';
import { moneyColumn, timestamps } from './common.ts';

/**
 * Schema of {@link LoanPolicy} (table `swl_loan_policy`).
 *
 * Lending rules for one (category × role), docs/DESIGN.md §5. A missing row means that role may not
 * borrow that category. Money in integer minor units; durations in the stated units.
 */
export const LoanPolicySchema = defineEntity({
  name: 'LoanPolicy',
  tableName: 'swl_loan_policy',
  properties: {
    id: p.integer().primary().autoincrement(),
    category: p.enum(CATEGORIES),
    role: p.enum(ROLES),
    /** Loan period length, in `loanPeriodUnit` (> 0). */
    loanPeriod: p.integer().check('loan_period > 0'),
    loanPeriodUnit: p.enum(PERIOD_UNITS),
    /** Most loans a borrower of this role may hold in this category, pending + approved (≥ 0). */
    maxActiveLoans: p.integer().check('max_active_loans >= 0'),
    /** Renewals allowed per loan (≥ 0). */
    maxRenewals: p.integer().check('max_renewals >= 0'),
    /** Whether a request must name the environment (classroom) where the item will be used. */
    environmentRequired: p.boolean().default(false),
    /** Fine per started (or whole, see `intervalRounding`) interval, minor units (≥ 0). */
    fineAmount: moneyColumn('fine_amount'),
    fineInterval: p.enum(FINE_INTERVALS),
    /** Grace period in minutes (≥ 0). */
    gracePeriodMinutes: p.integer().default(0).check('grace_period_minutes >= 0'),
    graceMode: p.enum(GRACE_MODES).default('threshold'),
    intervalRounding: p.enum(INTERVAL_ROUNDINGS).default('up'),
    /** Cap per loan, minor units; 0 = no cap. */
    maxFine: moneyColumn('max_fine').default(0),
    /** Also cap the fine at the catalog entry's replacement cost (the lower cap wins). */
    capAtReplacementCost: p.boolean().default(false),
    version: p.integer().version(),
    ...timestamps,
  },
  uniques: [{ name: 'swl_loan_policy_category_role_unique', properties: ['category', 'role'] }],
});

/** Lending rules for one category and one role. */
export class LoanPolicy extends LoanPolicySchema.class {}
LoanPolicySchema.setClass(LoanPolicy);
/** Plain shape of a {@link LoanPolicy} row. */
export type ILoanPolicy = InferEntity<typeof LoanPolicySchema>;
