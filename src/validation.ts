/**
 * zod building blocks shared by the command schemas: ids, bounded text, instants, pagination.
 * Every schema of the package is built from these, so every command refuses the same hostile
 * input the same way (`VALIDATION_FAILED`, nothing read or written).
 *
 * @module
 */
import { z } from 'zod';

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
