/**
 * The booking rules `initializeDatabase` seeds. Source: issue 16 (a teacher books VideoBeams for a
 * classroom); durations follow the premium lending policy of docs/DESIGN.md §5 (8-hour loans).
 *
 * @module
 */
import type { ReservationPolicyRule } from './schemas.ts';

const PREMIUM = {
  category: 'premium',
  maxAdvanceDays: 30,
  maxDurationMinutes: 8 * 60,
  bufferMinutes: 15,
  pickupWindowMinutes: 30,
} as const;

/**
 * The seeded booking policies:
 *
 * | category | role | advance | longest | buffer after | pickup window | staff confirmation |
 * |---|---|---|---|---|---|---|
 * | premium | teacher | 30 days | 8 hours | 15 min | 30 min | required |
 * | premium | staff, admin | 30 days | 8 hours | 15 min | 30 min | no |
 *
 * No row for students (they may not borrow premium items) nor for `general` items (books are not
 * booked by the hour). Hosts change them with `ReservationService.upsertPolicy`.
 */
export const DEFAULT_RESERVATION_POLICIES: readonly ReservationPolicyRule[] = Object.freeze([
  { ...PREMIUM, role: 'teacher', approvalRequired: true },
  { ...PREMIUM, role: 'staff', approvalRequired: false },
  { ...PREMIUM, role: 'admin', approvalRequired: false },
] satisfies ReservationPolicyRule[]);
