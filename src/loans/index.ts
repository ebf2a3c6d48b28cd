export * from './fines.ts';
export { LoanService } from './loan.service.ts';
export {
  blockReasons,
  chargesAtReturn,
  dueDateAtApproval,
  loanPeriodMs,
  NO_FINE,
  REQUESTABLE_COPY_STATUSES,
  type ReturnCharges,
  renewalRefusal,
  renewedDueDate,
  type StandingFigures,
} from './rules.ts';
export * from './schemas.ts';
export * from './transitions.ts';
export type {
  ApprovedLoanView,
  BlockReason,
  BorrowerStanding,
  LoanDetails,
  LoanEventView,
  LoanTerms,
  LoanView,
  OverdueLoanView,
  ReturnedLoanView,
} from './views.ts';
