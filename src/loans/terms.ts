/**
 * The terms a loan is approved under (DESIGN §11 "Terms are fixed at approval"): copied from the
 * lending policy into the loan's `terms*` columns at approval, read back at renewal and return.
 *
 * @module
 */
import type { Loan } from '../entities/loan.entity.ts';
import type { LoanPolicy } from '../entities/loan-policy.entity.ts';
import type { LoanTerms } from './views.ts';

/** The terms a policy gives a loan approved under it (DESIGN §11). @internal */
export function policyTerms(policy: LoanPolicy): LoanTerms {
  return {
    loanPeriod: policy.loanPeriod,
    loanPeriodUnit: policy.loanPeriodUnit,
    maxRenewals: policy.maxRenewals,
    fineAmount: policy.fineAmount,
    fineInterval: policy.fineInterval,
    gracePeriodMinutes: policy.gracePeriodMinutes,
    graceMode: policy.graceMode,
    intervalRounding: policy.intervalRounding,
    maxFine: policy.maxFine,
    capAtReplacementCost: policy.capAtReplacementCost,
  };
}

/**
 * The terms stored on `loan` at approval, or null when it has none (not approved yet, or a legacy
 * row approved before the terms existed with no policy in force at the upgrade). All the `terms*`
 * columns are written together; a row missing any of them counts as having none. @internal
 */
export function loanTerms(loan: Loan): LoanTerms | null {
  const {
    termsLoanPeriod: loanPeriod,
    termsLoanPeriodUnit: loanPeriodUnit,
    termsMaxRenewals: maxRenewals,
    termsFineAmount: fineAmount,
    termsFineInterval: fineInterval,
    termsGracePeriodMinutes: gracePeriodMinutes,
    termsGraceMode: graceMode,
    termsIntervalRounding: intervalRounding,
    termsMaxFine: maxFine,
    termsCapAtReplacementCost: capAtReplacementCost,
  } = loan;
  if (
    loanPeriod == null ||
    loanPeriodUnit == null ||
    maxRenewals == null ||
    fineAmount == null ||
    fineInterval == null ||
    gracePeriodMinutes == null ||
    graceMode == null ||
    intervalRounding == null ||
    maxFine == null ||
    capAtReplacementCost == null
  ) {
    return null;
  }
  return {
    loanPeriod,
    loanPeriodUnit,
    maxRenewals,
    fineAmount,
    fineInterval,
    gracePeriodMinutes,
    graceMode,
    intervalRounding,
    maxFine,
    capAtReplacementCost,
  };
}

/** Writes `terms` on `loan` (at approval). @internal */
export function fixLoanTerms(loan: Loan, terms: LoanTerms): void {
  loan.termsLoanPeriod = terms.loanPeriod;
  loan.termsLoanPeriodUnit = terms.loanPeriodUnit;
  loan.termsMaxRenewals = terms.maxRenewals;
  loan.termsFineAmount = terms.fineAmount;
  loan.termsFineInterval = terms.fineInterval;
  loan.termsGracePeriodMinutes = terms.gracePeriodMinutes;
  loan.termsGraceMode = terms.graceMode;
  loan.termsIntervalRounding = terms.intervalRounding;
  loan.termsMaxFine = terms.maxFine;
  loan.termsCapAtReplacementCost = terms.capAtReplacementCost;
}
