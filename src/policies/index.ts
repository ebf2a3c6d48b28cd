/**
 * Lending policies: {@link PolicyService}, its input schemas and views, and the seeded
 * {@link DEFAULT_LOAN_POLICIES}. Source: docs/DESIGN.md §5.
 *
 * @module
 */
export { DEFAULT_LOAN_POLICIES } from './defaults.ts';
export { PolicyService, type UpsertLoanPolicyResult } from './policy.service.ts';
export * from './schemas.ts';
export type { LoanPolicyView } from './views.ts';
