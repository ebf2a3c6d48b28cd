export * from './fines.ts';
export { LoanService } from './loan.service.ts';
export * from './schemas.ts';
export { loanPeriodMs } from './standing.ts';
export * from './transitions.ts';
export type {
  BlockReason,
  BorrowerStanding,
  LoanDetails,
  LoanEventView,
  LoanTerms,
  LoanView,
  OverdueLoanView,
  ReturnedLoanView,
} from './views.ts';
