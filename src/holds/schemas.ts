/**
 * Input schemas of the {@link HoldService} commands and reads (strict: unknown keys are refused).
 * `placeHold`, `cancelHold` and `fulfillHold` take an optional `idempotencyKey`; the expiry sweep is
 * safe to repeat without one. Source: issue 16.
 *
 * @module
 */
import { z } from 'zod';
import { HOLD_STATUSES } from '../domain/vocabulary.ts';
import { IdempotencyKeyInput } from '../internal/idempotency.ts';
import { IdSchema, optionalText, PageSchema } from '../validation.ts';

/** `placeHold`: join the queue for a title when no copy is available; `borrowerId` defaults to the acting user (staff may place for anyone). */
export const PlaceHoldInput = z.strictObject({
  catalogEntryId: IdSchema,
  borrowerId: IdSchema.optional(),
  idempotencyKey: IdempotencyKeyInput.optional(),
});
/** Input of `HoldService.placeHold`. */
export type PlaceHoldInput = z.input<typeof PlaceHoldInput>;

/** `cancelHold`: the borrower (own) or staff (any) leave the queue; `reason` ≤ 500 chars. */
export const CancelHoldInput = z.strictObject({
  holdId: IdSchema,
  reason: optionalText(500),
  idempotencyKey: IdempotencyKeyInput.optional(),
});
/** Input of `HoldService.cancelHold`. */
export type CancelHoldInput = z.input<typeof CancelHoldInput>;

/** `fulfillHold`: staff check out the copy set aside for a `lista` hold. */
export const FulfillHoldInput = z.strictObject({
  holdId: IdSchema,
  idempotencyKey: IdempotencyKeyInput.optional(),
});
/** Input of `HoldService.fulfillHold`. */
export type FulfillHoldInput = z.input<typeof FulfillHoldInput>;

/** `expireHolds`: every `lista` hold past its pickup deadline expires (at most `limit`, 1..1000, default 500, per call). */
export const ExpireHoldsInput = z.strictObject({
  limit: z.number().int().min(1).max(1000).default(500),
});
/** Input of `HoldService.expireHolds`. */
export type ExpireHoldsInput = z.input<typeof ExpireHoldsInput>;

/** `holdQueue`: an entry's queue (waiting holds with their positions, and those awaiting pickup). */
export const HoldQueueInput = z.strictObject({ catalogEntryId: IdSchema });
/** Input of `HoldService.holdQueue`. */
export type HoldQueueInput = z.input<typeof HoldQueueInput>;

/** `getHold`: one hold with its history. */
export const GetHoldInput = z.strictObject({ holdId: IdSchema });
/** Input of `HoldService.getHold`. */
export type GetHoldInput = z.input<typeof GetHoldInput>;

/** `listHolds`: a borrower's holds (default the acting user's), newest first; `statuses` default the active ones. */
export const ListHoldsInput = PageSchema.extend({
  borrowerId: IdSchema.optional(),
  statuses: z.array(z.enum(HOLD_STATUSES)).min(1).max(5).optional(),
});
/** Input of `HoldService.listHolds`. */
export type ListHoldsInput = z.input<typeof ListHoldsInput>;
