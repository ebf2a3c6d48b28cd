/**
 * Input schemas of the {@link VisitorLogService}. Exported so hosts validate request bodies with
 * the same rules. Every schema is strict: unknown keys are refused (`VALIDATION_FAILED`). Instants
 * are `Date`s or ISO 8601 strings with an offset, stored in UTC. Source:
 * `docs/legacy/000_266b31aaf8610e4d.txt` LibraryLog Table and "Cleaning Up Old Data";
 * docs/DESIGN.md §2 (LibraryLog).
 *
 * @module
 */
import { z } from 'zod';
import { VISITOR_ROLES } from '../domain/vocabulary.ts';
import { IdempotencyKeyInput } from '../internal/idempotency.ts';
import { IdSchema, InstantSchema, PageSchema, requiredText } from '../validation.ts';

/**
 * `recordVisit`: one person entering the library.
 * - `visitorName` (1..100 chars), `visitorId` (their document number, 1..20 chars).
 * - `role`: `admin` | `staff` | `teacher` | `student` | `visitor` (outside the institution).
 * - `activity`: what the visit is for (study, consultation, loan pick-up…), 1..50 chars.
 * - `entryTime`: when they came in; default the service clock's now; never in the future.
 * - `userId`: the registered user, when the visitor is one (must exist).
 * - `idempotencyKey`: optional; repeated with the same key, the visit is recorded once and the
 *   first result returned.
 */
export const RecordVisitInput = z.strictObject({
  visitorName: requiredText(100),
  visitorId: requiredText(20),
  role: z.enum(VISITOR_ROLES),
  activity: requiredText(50),
  entryTime: InstantSchema.optional(),
  userId: IdSchema.optional(),
  idempotencyKey: IdempotencyKeyInput.optional(),
});
/** Input of `VisitorLogService.recordVisit` (before parsing). */
export type RecordVisitInput = z.input<typeof RecordVisitInput>;

const fromBeforeTo = {
  // zod runs this object check even when `from` or `to` failed to parse (then it sees the raw
  // input); those fields already carry their own issue, so only compare two instants.
  check: (v: { from: unknown; to: unknown }) =>
    !(v.from instanceof Date && v.to instanceof Date) || v.from.getTime() < v.to.getTime(),
  params: { message: '`from` must be before `to`', path: ['to'] },
};

/**
 * `list`: visits with `from <= entryTime < to` (UTC instants), optionally of one `role`,
 * `activity` (exact) or `visitorId` (exact); newest first (`entryTime` desc, then `id` desc);
 * `limit` 1..500 (default 50), `offset` ≥ 0.
 */
export const ListVisitsInput = PageSchema.extend({
  from: InstantSchema,
  to: InstantSchema,
  role: z.enum(VISITOR_ROLES).optional(),
  activity: requiredText(50).optional(),
  visitorId: requiredText(20).optional(),
}).refine(fromBeforeTo.check, fromBeforeTo.params);
/** Input of `VisitorLogService.list`. */
export type ListVisitsInput = z.input<typeof ListVisitsInput>;

/** How `statistics` groups visits: by UTC calendar day (`YYYY-MM-DD`), by role, or by activity. */
export const VISIT_GROUPINGS = ['day', 'role', 'activity'] as const;
/** One of {@link VISIT_GROUPINGS}. */
export type VisitGrouping = (typeof VISIT_GROUPINGS)[number];

/** `statistics`: visit counts with `from <= entryTime < to`, grouped by `groupBy`. */
export const VisitStatisticsInput = z
  .strictObject({
    from: InstantSchema,
    to: InstantSchema,
    groupBy: z.enum(VISIT_GROUPINGS),
  })
  .refine(fromBeforeTo.check, fromBeforeTo.params);
/** Input of `VisitorLogService.statistics`. */
export type VisitStatisticsInput = z.input<typeof VisitStatisticsInput>;

/**
 * `purge`: delete visits older than `olderThanDays` whole days (1..36 500) before the service
 * clock's now — `entryTime < now − olderThanDays × 24 h`. The seed's maintenance example uses 365.
 */
export const PurgeVisitsInput = z.strictObject({
  olderThanDays: z.number().int().min(1).max(36_500),
});
/** Input of `VisitorLogService.purge`. */
export type PurgeVisitsInput = z.input<typeof PurgeVisitsInput>;
