import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { CATEGORIES, ROLES } from '../domain/vocabulary.ts';
import { timestamps } from './common.ts';

/**
 * Schema of {@link ReservationPolicy} (table `swl_reservation_policy`).
 *
 * Booking rules for one (category × role), as `swl_loan_policy` holds the lending rules: a missing
 * row means that role may not reserve that category. Durations in minutes, advance in days.
 * Source: issue 16 (may reserve, maximum advance, maximum duration, buffer after each booking,
 * pickup window; staff approval where the policy requires it).
 */
export const ReservationPolicySchema = defineEntity({
  name: 'ReservationPolicy',
  tableName: 'swl_reservation_policy',
  properties: {
    id: p.integer().primary().autoincrement(),
    category: p.enum(CATEGORIES),
    role: p.enum(ROLES),
    /** How far ahead a booking may start, days (≥ 0). */
    maxAdvanceDays: p.integer().check('max_advance_days >= 0'),
    /** Longest booking, minutes (> 0). */
    maxDurationMinutes: p.integer().check('max_duration_minutes > 0'),
    /** Time the stock stays blocked after each booking and each loan of the category (checking, cleaning), minutes (≥ 0). */
    bufferMinutes: p.integer().default(0).check('buffer_minutes >= 0'),
    /** How long after its start a booking waits for pickup before it is a no-show, minutes (> 0). */
    pickupWindowMinutes: p.integer().check('pickup_window_minutes > 0'),
    /** Whether a booking waits for staff confirmation (`solicitada`) before it is `confirmada`. */
    approvalRequired: p.boolean().default(false),
    version: p.integer().version(),
    ...timestamps,
  },
  uniques: [{ name: 'swl_reservation_policy_category_role_unique', properties: ['category', 'role'] }],
});

/** Booking rules for one category and one role. */
export class ReservationPolicy extends ReservationPolicySchema.class {}
ReservationPolicySchema.setClass(ReservationPolicy);
/** Plain shape of a {@link ReservationPolicy} row. */
export type IReservationPolicy = InferEntity<typeof ReservationPolicySchema>;
