/**
 * The terms a loan is approved under (docs/DESIGN.md §11 "Terms are fixed at approval"): copied from the
 * lending policy into the loan's `terms*` columns at approval, read back at renewal and return.
 *
 * @module
 */
import type { Loan } from '../entities/loan.entity.ts';
import type { LoanPolicy } from '../entities/loan-policy.entity.ts';
import type { LoanTerms } from './views.ts';

/**
 * Each term and the loan column that stores it (`loanPeriod` → `termsLoanPeriod`, …): the one list
 * the three functions below read, so a new term is added in one place.
 */
const TERM_COLUMNS = {
  loanPeriod: 'termsLoanPeriod',
  loanPeriodUnit: 'termsLoanPeriodUnit',
  maxRenewals: 'termsMaxRenewals',
  fineAmount: 'termsFineAmount',
  fineInterval: 'termsFineInterval',
  gracePeriodMinutes: 'termsGracePeriodMinutes',
  graceMode: 'termsGraceMode',
  intervalRounding: 'termsIntervalRounding',
  maxFine: 'termsMaxFine',
  capAtReplacementCost: 'termsCapAtReplacementCost',
} as const satisfies { [K in keyof LoanTerms]: keyof Loan };

const TERMS = Object.keys(TERM_COLUMNS) as Array<keyof LoanTerms>;

/** The terms a policy gives a loan approved under it (docs/DESIGN.md §11). @internal */
export function policyTerms(policy: LoanPolicy): LoanTerms {
  return Object.fromEntries(TERMS.map((term) => [term, policy[term]])) as unknown as LoanTerms;
}

/**
 * The terms stored on `loan` at approval, or null when it has none (not approved yet, or a legacy
 * row approved before the terms existed with no policy in force at the upgrade). All the `terms*`
 * columns are written together; a row missing any of them counts as having none. @internal
 */
export function loanTerms(loan: Loan): LoanTerms | null {
  const values = TERMS.map((term) => [term, loan[TERM_COLUMNS[term]]] as const);
  if (values.some(([, value]) => value == null)) return null;
  return Object.fromEntries(values) as unknown as LoanTerms;
}

/** Writes `terms` on `loan` (at approval). @internal */
export function fixLoanTerms(loan: Loan, terms: LoanTerms): void {
  const columns = loan as unknown as Record<string, unknown>;
  for (const term of TERMS) columns[TERM_COLUMNS[term]] = terms[term];
}

/** `termsLoanPeriod` → `terms_loan_period`: the `swl_loan` column of a terms property. */
const columnOf = (property: string) => property.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** The `swl_loan` columns and values that store `terms` (at approval), for a typed Kysely update. @internal */
export function termColumns(terms: LoanTerms): Record<string, unknown> {
  return Object.fromEntries(TERMS.map((term) => [columnOf(TERM_COLUMNS[term]), terms[term]]));
}

/**
 * The terms stored in a raw `swl_loan` row (snake_case columns as a driver returns them: numbers
 * possibly as text, booleans possibly as 0/1), or null as {@link loanTerms}. @internal
 */
export function termsFromRow(row: Record<string, unknown>): LoanTerms | null {
  const values = TERMS.map((term) => [term, row[columnOf(TERM_COLUMNS[term])]] as const);
  if (values.some(([, value]) => value == null)) return null;
  const decoded = values.map(([term, value]) => {
    if (term === 'capAtReplacementCost') return [term, value === true || value === 1 || value === '1'];
    return [term, typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value];
  });
  return Object.fromEntries(decoded) as unknown as LoanTerms;
}
