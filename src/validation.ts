/**
 * zod building blocks shared by the command schemas: ids, bounded text, instants, pagination —
 * and {@link parseInput}, the one way the services (and hosts, for their own route inputs) turn a
 * schema's refusal into an `SwlError` `VALIDATION_FAILED`. Every schema of the package is built
 * from these, so every command refuses the same hostile input the same way (`VALIDATION_FAILED`,
 * nothing read or written). Source: docs/DESIGN.md §6; issue 13 (what a transport layer needs).
 *
 * @module
 */
import { z } from 'zod';
import { SwlError } from './errors.ts';

/** Largest id an `integer` column holds (2³¹ − 1). */
export const MAX_ID = 2_147_483_647;

/** A row id: a positive 32-bit integer. */
export const IdSchema = z.number().int().positive().max(MAX_ID);

/** No NUL characters: PostgreSQL text cannot store them, so they are refused on both databases. */
const noNul = (s: string) => !s.includes('\u0000');

/**
 * No lone UTF-16 surrogates: such a string is not Unicode text, and both databases would silently
 * store U+FFFD in its place (so what is read back differs from what was written).
 */
const wellFormed = (s: string) => !/\p{Cs}/u.test(s);
const WELL_FORMED = { message: 'must be well-formed Unicode (no lone surrogates)' };

/**
 * Required text: trimmed, 1..`max` characters (UTF-16 code units), no NUL character, no lone
 * surrogate.
 * @param max - maximum length after trimming.
 */
export function requiredText(max: number) {
  return z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine(noNul, { message: 'must not contain NUL characters' })
    .refine(wellFormed, WELL_FORMED);
}

/**
 * Optional text: like {@link requiredText}, but `undefined`, `null` and blank strings mean "none"
 * (→ `null`).
 */
export function optionalText(max: number) {
  return z
    .string()
    .nullish()
    .transform((s) => (typeof s === 'string' && s.trim() !== '' ? s.trim() : null))
    .pipe(
      z
        .string()
        .max(max)
        .refine(noNul, { message: 'must not contain NUL characters' })
        .refine(wellFormed, WELL_FORMED)
        .nullable(),
    );
}

/** Earliest and latest instants the package accepts (1970-01-01 .. 9999-12-31, UTC). */
const MIN_MS = 0;
const MAX_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * An instant: a valid `Date`, or an ISO 8601 date-time string with an offset or `Z`
 * (`2026-03-02T15:00:00Z`), between 1970 and 9999. Output is a `Date` (UTC).
 */
export const InstantSchema = z
  .union([z.date(), z.iso.datetime({ offset: true })])
  .transform((v) => new Date(v))
  .refine((d) => !Number.isNaN(d.getTime()) && d.getTime() >= MIN_MS && d.getTime() <= MAX_MS, {
    message: 'must be a valid instant between 1970 and 9999',
  });

/**
 * A date-only string `YYYY-MM-DD` (a real calendar day: `2030-02-30` is refused), read as the
 * start of that day in UTC (`'2030-03-01'` → `2030-03-01T00:00:00.000Z`); or anything
 * {@link InstantSchema} accepts (a `Date`, or an ISO 8601 date-time with an offset or `Z`).
 * Between 1970 and 9999. Output is a `Date` (UTC).
 *
 * Opt-in: {@link InstantSchema} itself still refuses a string without a time and zone, because a
 * bare date is ambiguous about the time zone the borrower meant; use this schema for fields where
 * "the start of that day, UTC" is the documented meaning (e.g. a host's own due-date field).
 * Refusals are `VALIDATION_FAILED` through {@link parseInput}.
 */
export const DateOrInstantSchema = z
  .union([z.iso.date().transform((d) => `${d}T00:00:00.000Z`), z.date(), z.iso.datetime({ offset: true })])
  .pipe(InstantSchema);

/** Pagination: `limit` 1..500 (default 50), `offset` ≥ 0 (default 0). */
export const PageSchema = z.strictObject({
  limit: z.number().int().min(1).max(500).default(50),
  offset: z.number().int().min(0).max(MAX_ID).default(0),
});

/** A page of results with the total count of matches. */
export interface Page<T> {
  items: T[];
  /** Number of matches over all pages. */
  total: number;
  limit: number;
  offset: number;
}

/**
 * Parses `value` with `schema` and returns zod's output (defaults applied, text trimmed, instants
 * as `Date`). Anything that goes wrong is an {@link SwlError} — never a raw `ZodError` or
 * `TypeError`:
 *
 * - the value does not match: `VALIDATION_FAILED` with `details.issues`, an array of
 *   `{ path: string[], code: string, message: string }` (zod's issues, paths as strings);
 * - reading the value threw (a getter or a `Proxy` trap that throws, e.g. a hostile request body):
 *   `VALIDATION_FAILED` with `details.issues` `[]` and the thrown error as `cause`.
 *
 * The services validate every command and query input with it; hosts use it for their own route
 * inputs (path and query parameters, headers) so that those fail exactly as a service's input does
 * (`SWL_HTTP_STATUS.VALIDATION_FAILED` is 400). Source: src/internal/service-base.ts (moved here,
 * issue 13).
 *
 * @param schema - any zod 4 schema.
 * @param value - the untrusted input.
 * @returns the parsed value, `z.output<typeof schema>`.
 * @throws SwlError `VALIDATION_FAILED`
 *
 * @example
 * ```ts
 * const { loanId } = parseInput(z.strictObject({ loanId: IdSchema }), { loanId: Number(req.params.id) });
 * ```
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  let parsed: ReturnType<S['safeParse']>;
  try {
    parsed = schema.safeParse(value) as ReturnType<S['safeParse']>;
  } catch (error) {
    throw new SwlError('VALIDATION_FAILED', 'the input could not be read', { issues: [] }, { cause: error });
  }
  if (!parsed.success) {
    // The same shape as `toSwlError` (src/internal/translate-error.ts) gives a ZodError; written out
    // here so this module does not import the driver-error translation (an import cycle through
    // id-ceiling.ts, which imports MAX_ID from here).
    throw new SwlError('VALIDATION_FAILED', 'input does not match the schema', {
      issues: parsed.error.issues.map((i) => ({
        path: i.path.map(String),
        code: i.code,
        message: i.message,
      })),
    });
  }
  return parsed.data as z.output<S>;
}
