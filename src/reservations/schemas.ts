/**
 * Input schemas of the {@link ReservationService} commands and reads (strict: unknown keys are
 * refused). The commands that book or move a booking (`reserve`, `confirm`, `cancel`, `pickUp`)
 * take an optional `idempotencyKey`; the sweep and the policy upsert are safe to repeat without
 * one. Instants are UTC. Source: issue 16.
 *
 * @module
 */
import { z } from 'zod';
import { CATEGORIES, RESERVATION_STATUSES, ROLES } from '../domain/vocabulary.ts';
import { IdempotencyKeyInput } from '../internal/idempotency.ts';
import { IdSchema, InstantSchema, optionalText, PageSchema } from '../validation.ts';

/** Longest range an availability read covers: 366 days, in milliseconds. */
export const MAX_AVAILABILITY_RANGE_MS = 366 * 24 * 60 * 60 * 1000;

/**
 * `reserve`: a booking of `quantity` copies of an entry (`catalogEntryId`) or of one named copy
 * (`copyId`, quantity 1) — exactly one of the two — for `[startsAt, endsAt)` (UTC, `endsAt` after
 * `startsAt`).
 * - `borrowerId`: for whom; default the acting user (staff may book for anyone).
 * - `quantity`: 1..1000, default 1; must be 1 with `copyId`.
 * - `environment`: classroom/place of use, ≤ 50 chars; `note` ≤ 2000 chars.
 */
export const ReserveInput = z
  .strictObject({
    borrowerId: IdSchema.optional(),
    catalogEntryId: IdSchema.optional(),
    copyId: IdSchema.optional(),
    quantity: z.number().int().min(1).max(1000).default(1),
    startsAt: InstantSchema,
    endsAt: InstantSchema,
    environment: optionalText(50),
    note: optionalText(2000),
    idempotencyKey: IdempotencyKeyInput.optional(),
  })
  .refine((v) => (v.copyId === undefined) !== (v.catalogEntryId === undefined), {
    message: 'name exactly one of copyId or catalogEntryId',
    path: ['copyId'],
  })
  .refine((v) => v.copyId === undefined || v.quantity === 1, {
    message: 'a booking of a named copy has quantity 1',
    path: ['quantity'],
  })
  .refine((v) => v.endsAt.getTime() > v.startsAt.getTime(), {
    message: 'must be after startsAt',
    path: ['endsAt'],
  });
/** Input of `ReservationService.reserve`. */
export type ReserveInput = z.input<typeof ReserveInput>;

/** `confirm`: staff confirm a `solicitada` booking. */
export const ConfirmReservationInput = z.strictObject({
  reservationId: IdSchema,
  idempotencyKey: IdempotencyKeyInput.optional(),
});
/** Input of `ReservationService.confirm`. */
export type ConfirmReservationInput = z.input<typeof ConfirmReservationInput>;

/** `cancel`: the borrower (own) or staff (any) cancel a holding booking; `reason` ≤ 500 chars. */
export const CancelReservationInput = z.strictObject({
  reservationId: IdSchema,
  reason: optionalText(500),
  idempotencyKey: IdempotencyKeyInput.optional(),
});
/** Input of `ReservationService.cancel`. */
export type CancelReservationInput = z.input<typeof CancelReservationInput>;

/** `pickUp`: staff hand out a confirmed booking; `copyIds` chooses the copies of an entry booking (as many as booked). */
export const PickUpReservationInput = z.strictObject({
  reservationId: IdSchema,
  copyIds: z.array(IdSchema).min(1).max(1000).optional(),
  idempotencyKey: IdempotencyKeyInput.optional(),
});
/** Input of `ReservationService.pickUp`. */
export type PickUpReservationInput = z.input<typeof PickUpReservationInput>;

/** `recordNoShows`: mark every holding booking whose pickup deadline has passed as `no_recogida`; at most `limit` (1..1000, default 500) per call. */
export const RecordNoShowsInput = z.strictObject({
  limit: z.number().int().min(1).max(1000).default(500),
});
/** Input of `ReservationService.recordNoShows`. */
export type RecordNoShowsInput = z.input<typeof RecordNoShowsInput>;

/** `availability`: the free quantity of an entry over `[from, to)` (UTC; at most 366 days). */
export const AvailabilityInput = z
  .strictObject({ catalogEntryId: IdSchema, from: InstantSchema, to: InstantSchema })
  .refine((v) => v.to.getTime() > v.from.getTime(), { message: 'must be after from', path: ['to'] })
  .refine((v) => v.to.getTime() - v.from.getTime() <= MAX_AVAILABILITY_RANGE_MS, {
    message: 'the range is longer than 366 days',
    path: ['to'],
  });
/** Input of `ReservationService.availability`. */
export type AvailabilityInput = z.input<typeof AvailabilityInput>;

/** `getReservation`: one booking with its history. */
export const GetReservationInput = z.strictObject({ reservationId: IdSchema });
/** Input of `ReservationService.getReservation`. */
export type GetReservationInput = z.input<typeof GetReservationInput>;

/**
 * `listReservations`: bookings, earliest start first. `borrowerId` defaults to the acting user;
 * staff may pass `catalogEntryId` to see an entry's bookings (any borrower). `statuses` filters
 * (default the holding ones, `solicitada` and `confirmada`).
 */
export const ListReservationsInput = PageSchema.extend({
  borrowerId: IdSchema.optional(),
  catalogEntryId: IdSchema.optional(),
  statuses: z.array(z.enum(RESERVATION_STATUSES)).min(1).max(5).optional(),
});
/** Input of `ReservationService.listReservations`. */
export type ListReservationsInput = z.input<typeof ListReservationsInput>;

/**
 * `upsertPolicy`: the booking rules for one category × role. `maxAdvanceDays` 0..3660,
 * `maxDurationMinutes` 1..527 040 (366 days), `bufferMinutes` 0..10 080 (a week),
 * `pickupWindowMinutes` 1..10 080, `approvalRequired` default false.
 */
export const UpsertReservationPolicyInput = z.strictObject({
  category: z.enum(CATEGORIES),
  role: z.enum(ROLES),
  maxAdvanceDays: z.number().int().min(0).max(3660),
  maxDurationMinutes: z.number().int().min(1).max(527_040),
  bufferMinutes: z.number().int().min(0).max(10_080).default(0),
  pickupWindowMinutes: z.number().int().min(1).max(10_080),
  approvalRequired: z.boolean().default(false),
});
/** Input of `ReservationService.upsertPolicy`. */
export type UpsertReservationPolicyInput = z.input<typeof UpsertReservationPolicyInput>;
/** A reservation policy's rules, parsed. */
export type ReservationPolicyRule = z.output<typeof UpsertReservationPolicyInput>;

/** `listPolicies`: the booking rules (all, or of one category/role). */
export const ListReservationPoliciesInput = z.strictObject({
  category: z.enum(CATEGORIES).optional(),
  role: z.enum(ROLES).optional(),
});
/** Input of `ReservationService.listPolicies`. */
export type ListReservationPoliciesInput = z.input<typeof ListReservationPoliciesInput>;
