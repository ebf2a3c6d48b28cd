/**
 * Input schemas of the {@link LoanService} commands and reads. Exported so hosts validate request
 * bodies with the same rules (`RequestLoanInput.parse(req.body)`). Each schema is strict: unknown
 * keys are refused. Every command takes an optional `idempotencyKey` ({@link IdempotencyKeyInput}):
 * repeated with the same key, the command returns its first result and writes nothing.
 * Source: docs/DESIGN.md §3, §6; issue 10 (idempotency keys).
 *
 * @module
 */
import { z } from 'zod';
import { PENALTY_SETTLEMENTS, RETURN_OUTCOMES } from '../domain/vocabulary.ts';
import { IdempotencyKeyInput } from '../internal/idempotency.ts';
import { IdSchema, InstantSchema, optionalText, PageSchema, requiredText } from '../validation.ts';

/**
 * `request`: a loan request for one copy (`copyId`) or for any copy of a title/model
 * (`catalogEntryId`) — exactly one of the two.
 * - `borrowerId`: who borrows; default the acting user (staff may request for others).
 * - `environment`: classroom/place of use, ≤ 50 chars (required by some policies).
 * - `requestedDueDate`: optional; the approved due date is never later than the policy's.
 * - `observation`: free note, ≤ 2000 chars.
 */
export const RequestLoanInput = z
  .strictObject({
    borrowerId: IdSchema.optional(),
    copyId: IdSchema.optional(),
    catalogEntryId: IdSchema.optional(),
    environment: optionalText(50),
    requestedDueDate: InstantSchema.optional(),
    observation: optionalText(2000),
    idempotencyKey: IdempotencyKeyInput.optional(),
  })
  .refine((v) => (v.copyId === undefined) !== (v.catalogEntryId === undefined), {
    message: 'name exactly one of copyId or catalogEntryId',
    path: ['copyId'],
  });
/** Input of `LoanService.request` (before parsing). */
export type RequestLoanInput = z.input<typeof RequestLoanInput>;

/**
 * `approve`: approve a pending request. `copyId` picks the copy when the request named only
 * the title; `dueDate` shortens (never extends) the policy's loan period.
 */
export const ApproveLoanInput = z.strictObject({
  loanId: IdSchema,
  copyId: IdSchema.optional(),
  dueDate: InstantSchema.optional(),
  idempotencyKey: IdempotencyKeyInput.optional(),
});
/** Input of `LoanService.approve`. */
export type ApproveLoanInput = z.input<typeof ApproveLoanInput>;

/** `reject`: reject a pending request; `reason` (1..500 chars) is required and shown to the borrower. */
export const RejectLoanInput = z.strictObject({
  loanId: IdSchema,
  reason: requiredText(500),
  idempotencyKey: IdempotencyKeyInput.optional(),
});
/** Input of `LoanService.reject`. */
export type RejectLoanInput = z.input<typeof RejectLoanInput>;

/** `cancel`: the borrower withdraws their own pending request; `reason` optional (≤ 500 chars). */
export const CancelLoanInput = z.strictObject({
  loanId: IdSchema,
  reason: optionalText(500),
  idempotencyKey: IdempotencyKeyInput.optional(),
});
/** Input of `LoanService.cancel`. */
export type CancelLoanInput = z.input<typeof CancelLoanInput>;

/** `renew`: extend an approved loan by one policy period from its current due date. */
export const RenewLoanInput = z.strictObject({
  loanId: IdSchema,
  idempotencyKey: IdempotencyKeyInput.optional(),
});
/** Input of `LoanService.renew`. */
export type RenewLoanInput = z.input<typeof RenewLoanInput>;

/**
 * `return` (check-in): `outcome` `ok` | `damaged` | `lost` (default `ok`); `condition` (≤ 100 chars)
 * is written to the copy; `observation` (≤ 2000 chars) to the loan.
 */
export const ReturnLoanInput = z.strictObject({
  loanId: IdSchema,
  outcome: z.enum(RETURN_OUTCOMES).default('ok'),
  condition: optionalText(100),
  observation: optionalText(2000),
  idempotencyKey: IdempotencyKeyInput.optional(),
});
/** Input of `LoanService.return`. */
export type ReturnLoanInput = z.input<typeof ReturnLoanInput>;

/** `settlePenalty`: mark a returned loan's penalty `paid` or `waived`; `note` ≤ 500 chars. */
export const SettlePenaltyInput = z.strictObject({
  loanId: IdSchema,
  settlement: z.enum(PENALTY_SETTLEMENTS),
  note: optionalText(500),
  idempotencyKey: IdempotencyKeyInput.optional(),
});
/** Input of `LoanService.settlePenalty`. */
export type SettlePenaltyInput = z.input<typeof SettlePenaltyInput>;

/** `getLoan`: one loan with its history. */
export const GetLoanInput = z.strictObject({ loanId: IdSchema });
/** Input of `LoanService.getLoan`. */
export type GetLoanInput = z.input<typeof GetLoanInput>;

/**
 * `listBorrowerLoans`: a borrower's loans. `scope` `active` (pendiente + aprobado), `past`
 * (devuelto + rechazado) or `all`; newest first. `borrowerId` defaults to the acting user.
 */
export const ListBorrowerLoansInput = PageSchema.extend({
  borrowerId: IdSchema.optional(),
  scope: z.enum(['active', 'past', 'all']).default('active'),
});
/** Input of `LoanService.listBorrowerLoans`. */
export type ListBorrowerLoansInput = z.input<typeof ListBorrowerLoansInput>;

/** `pendingQueue`: pending requests, oldest first (the desk's work queue). */
export const PendingQueueInput = PageSchema;
/** Input of `LoanService.pendingQueue`. */
export type PendingQueueInput = z.input<typeof PendingQueueInput>;

/** `overdueLoans`: approved loans whose due date is before `asOf` (default now), most overdue first. */
export const OverdueLoansInput = PageSchema.extend({ asOf: InstantSchema.optional() });
/** Input of `LoanService.overdueLoans`. */
export type OverdueLoansInput = z.input<typeof OverdueLoansInput>;

/** `borrowerStanding`: whether a borrower may borrow now, and why not. */
export const BorrowerStandingInput = z.strictObject({ borrowerId: IdSchema.optional() });
/** Input of `LoanService.borrowerStanding`. */
export type BorrowerStandingInput = z.input<typeof BorrowerStandingInput>;
