/**
 * Input schemas of the {@link ReportService}. Exported so hosts validate request bodies with the
 * same rules. Every schema is strict: unknown keys are refused (`VALIDATION_FAILED`). Instants are
 * `Date`s or ISO 8601 strings with an offset, read as UTC; periods are half-open `[from, to)`.
 * The visit report takes `VisitStatisticsInput` (src/visitors/schemas.ts) unchanged. Source:
 * issue 17 ("Reports as typed reads").
 *
 * @module
 */
import { z } from 'zod';
import { CATEGORIES } from '../domain/vocabulary.ts';
import { MAX_AVAILABILITY_RANGE_MS } from '../reservations/schemas.ts';
import { IdSchema, InstantSchema, PageSchema } from '../validation.ts';

const fromBeforeTo = {
  // zod runs this object check even when `from` or `to` failed to parse (then it sees the raw
  // input); those fields already carry their own issue, so only compare two instants.
  check: (v: { from: unknown; to: unknown }) =>
    !(v.from instanceof Date && v.to instanceof Date) || v.from.getTime() < v.to.getTime(),
  params: { message: '`from` must be before `to`', path: ['to'] },
};

/** The copy statuses {@link CopiesOutOfServiceInput} reports: in maintenance or lost. */
export const OUT_OF_SERVICE_STATUSES = ['mantenimiento', 'perdido'] as const;
/** One of {@link OUT_OF_SERVICE_STATUSES}. */
export type OutOfServiceStatus = (typeof OUT_OF_SERVICE_STATUSES)[number];

/**
 * `overdueByBorrower`: borrowers with approved loans whose due date is before `asOf` (default the
 * service clock's now), most overdue first; `limit` 1..500 (default 50) and `offset` ≥ 0 count
 * borrowers, not loans.
 */
export const OverdueByBorrowerInput = PageSchema.extend({ asOf: InstantSchema.optional() });
/** Input of `ReportService.overdueByBorrower` (before parsing). */
export type OverdueByBorrowerInput = z.input<typeof OverdueByBorrowerInput>;

/**
 * `availability` (report): the free copies of catalog entries over `[from, to)` (at most 366
 * days, as `ReservationService.availability`). Optionally only the entries `catalogEntryIds`
 * (1..50 ids) and/or of one `category`. Paginated over entries: `limit` 1..50 (default 20; each
 * entry is one statement of the reservation engine), `offset` ≥ 0.
 */
export const AvailabilityReportInput = z
  .strictObject({
    from: InstantSchema,
    to: InstantSchema,
    catalogEntryIds: z.array(IdSchema).min(1).max(50).optional(),
    category: z.enum(CATEGORIES).optional(),
    limit: z.number().int().min(1).max(50).default(20),
    offset: PageSchema.shape.offset,
  })
  .refine(fromBeforeTo.check, fromBeforeTo.params)
  .refine(
    (v) =>
      !(v.from instanceof Date && v.to instanceof Date) ||
      v.to.getTime() - v.from.getTime() <= MAX_AVAILABILITY_RANGE_MS,
    { message: 'the range is longer than 366 days', path: ['to'] },
  );
/** Input of `ReportService.availability` (before parsing). */
export type AvailabilityReportInput = z.input<typeof AvailabilityReportInput>;

/**
 * `loansPerMonth`: loans lent (approved) with `from <= approvalDate < to`, counted per UTC month ×
 * the entry's category × the borrower's role.
 */
export const LoansPerMonthInput = z
  .strictObject({ from: InstantSchema, to: InstantSchema })
  .refine(fromBeforeTo.check, fromBeforeTo.params);
/** Input of `ReportService.loansPerMonth` (before parsing). */
export type LoansPerMonthInput = z.input<typeof LoansPerMonthInput>;

/**
 * `topBorrowed`: the `limit` (1..100, default 10) catalog entries with the most loans lent with
 * `from <= approvalDate < to`, optionally of one `category`.
 */
export const TopBorrowedInput = z
  .strictObject({
    from: InstantSchema,
    to: InstantSchema,
    category: z.enum(CATEGORIES).optional(),
    limit: z.number().int().min(1).max(100).default(10),
  })
  .refine(fromBeforeTo.check, fromBeforeTo.params);
/** Input of `ReportService.topBorrowed` (before parsing). */
export type TopBorrowedInput = z.input<typeof TopBorrowedInput>;

/**
 * `copiesOutOfService`: copies in `mantenimiento` or `perdido` (or only `status`), optionally of
 * one `category`; `limit` 1..500 (default 50), `offset` ≥ 0.
 */
export const CopiesOutOfServiceInput = PageSchema.extend({
  status: z.enum(OUT_OF_SERVICE_STATUSES).optional(),
  category: z.enum(CATEGORIES).optional(),
});
/** Input of `ReportService.copiesOutOfService` (before parsing). */
export type CopiesOutOfServiceInput = z.input<typeof CopiesOutOfServiceInput>;
