/**
 * Plain objects the {@link PolicyService} returns (never entities). Money in integer minor units;
 * instants as UTC `Date`s.
 *
 * @module
 */
import type {
  Category,
  FineInterval,
  GraceMode,
  IntervalRounding,
  PeriodUnit,
  Role,
} from '../domain/vocabulary.ts';
import type { LoanPolicy } from '../entities/loan-policy.entity.ts';

/** A lending policy for one (category, role). */
export interface LoanPolicyView {
  id: number;
  category: Category;
  role: Role;
  /** Loan period length, in `loanPeriodUnit`. */
  loanPeriod: number;
  loanPeriodUnit: PeriodUnit;
  /** Pending + approved loans a borrower may hold in this category. */
  maxActiveLoans: number;
  maxRenewals: number;
  environmentRequired: boolean;
  /** Fine per interval, minor units (0 ..= `MAX_MONEY`). */
  fineAmount: number;
  fineInterval: FineInterval;
  /** Minutes. */
  gracePeriodMinutes: number;
  graceMode: GraceMode;
  intervalRounding: IntervalRounding;
  /** Cap per loan, minor units (0 ..= `MAX_MONEY`); 0 = no cap. */
  maxFine: number;
  capAtReplacementCost: boolean;
  /** Optimistic-lock version; pass it back as `expectedVersion`. */
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/** @internal */
export function toLoanPolicyView(p: LoanPolicy): LoanPolicyView {
  return {
    id: p.id,
    category: p.category,
    role: p.role,
    loanPeriod: p.loanPeriod,
    loanPeriodUnit: p.loanPeriodUnit,
    maxActiveLoans: p.maxActiveLoans,
    maxRenewals: p.maxRenewals,
    environmentRequired: p.environmentRequired,
    fineAmount: p.fineAmount,
    fineInterval: p.fineInterval,
    gracePeriodMinutes: p.gracePeriodMinutes,
    graceMode: p.graceMode,
    intervalRounding: p.intervalRounding,
    maxFine: p.maxFine,
    capAtReplacementCost: p.capAtReplacementCost,
    version: p.version,
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
  };
}
