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

/** Each term and its `swl_loan` column (`loanPeriod` → `terms_loan_period`), from {@link TERM_COLUMNS}. */
const SQL_COLUMNS = TERMS.map(
  (term) => [term, TERM_COLUMNS[term].replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] as const,
);

/** The `swl_loan` columns and values that store `terms` (at approval), for a typed Kysely update. @internal */
export function termColumns(terms: LoanTerms): Record<string, unknown> {
  const columns: Record<string, unknown> = {};
  for (const [term, column] of SQL_COLUMNS) columns[column] = terms[term];
  return columns;
}

/**
 * The terms stored in a raw `swl_loan` row (snake_case columns as a driver returns them: numbers
 * possibly as text, booleans possibly as 0/1), or null as {@link loanTerms}. @internal
 */
export function termsFromRow(row: Record<string, unknown>): LoanTerms | null {
  const terms: Record<string, unknown> = {};
  for (const [term, column] of SQL_COLUMNS) {
    const value = row[column];
    if (value == null) return null;
    terms[term] =
      term === 'capAtReplacementCost'
        ? value === true || value === 1 || value === '1'
        : typeof value === 'string' && /^\d+$/.test(value)
          ? Number(value)
          : value;
  }
  return terms as unknown as LoanTerms;
}
