/**
 * The lending policies a new installation starts with. Source: docs/DESIGN.md §5 "Seeded defaults".
 *
 * @module
 */
import type { LoanPolicyRule } from './schemas.ts';

/** 1 COP in minor units (centavos). */
const COP = 100;

const GENERAL = {
  category: 'general',
  environmentRequired: false,
  fineAmount: 1_000 * COP, // 1,000 COP per day = 100_000 minor units
  fineInterval: 'day',
  gracePeriodMinutes: 60,
  graceMode: 'threshold',
  intervalRounding: 'up',
  maxFine: 20_000 * COP, // 20,000 COP = 2_000_000 minor units
  capAtReplacementCost: false,
} as const;

const PREMIUM = {
  category: 'premium',
  loanPeriod: 8,
  loanPeriodUnit: 'hours',
  maxActiveLoans: 2,
  maxRenewals: 0,
  environmentRequired: true,
  fineAmount: 2_000 * COP, // 2,000 COP per hour = 200_000 minor units
  fineInterval: 'hour',
  gracePeriodMinutes: 15,
  graceMode: 'threshold',
  intervalRounding: 'up',
  maxFine: 50_000 * COP, // 50,000 COP = 5_000_000 minor units
  capAtReplacementCost: false,
} as const;

const STAFF_LIKE = { loanPeriod: 7, loanPeriodUnit: 'days', maxActiveLoans: 5, maxRenewals: 2 } as const;

/**
 * The seeded lending policies of docs/DESIGN.md §5. Amounts are **COP minor units** (1 COP = 100):
 *
 * | category | roles | period | max active | renewals | fine | grace | max fine | environment |
 * |---|---|---|---|---|---|---|---|---|
 * | general | student | 3 days | 3 | 1 | 100 000 (1,000 COP) / day | 60 min | 2 000 000 (20,000 COP) | no |
 * | general | teacher, staff, admin | 7 days | 5 | 2 | 100 000 / day | 60 min | 2 000 000 | no |
 * | premium | teacher, staff, admin | 8 hours | 2 | 0 | 200 000 (2,000 COP) / hour | 15 min | 5 000 000 (50,000 COP) | required |
 *
 * There is deliberately **no premium × student row**: a missing policy means that role may not
 * borrow that category. All rows use grace mode `threshold`, interval rounding `up` and no cap at
 * the replacement cost. Hosts change them with `PolicyService.upsert`/`update`.
 */
export const DEFAULT_LOAN_POLICIES: readonly LoanPolicyRule[] = Object.freeze([
  { ...GENERAL, role: 'student', loanPeriod: 3, loanPeriodUnit: 'days', maxActiveLoans: 3, maxRenewals: 1 },
  { ...GENERAL, role: 'teacher', ...STAFF_LIKE },
  { ...GENERAL, role: 'staff', ...STAFF_LIKE },
  { ...GENERAL, role: 'admin', ...STAFF_LIKE },
  { ...PREMIUM, role: 'teacher' },
  { ...PREMIUM, role: 'staff' },
  { ...PREMIUM, role: 'admin' },
] satisfies LoanPolicyRule[]);
