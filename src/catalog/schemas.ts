/**
 * Input schemas of the {@link CatalogService} commands and reads. Exported so hosts validate
 * request bodies with the same rules (`CreateCatalogEntryInput.parse(req.body)`). Every schema is
 * strict: unknown keys are refused (`VALIDATION_FAILED`). Text is trimmed; optional text that is
 * blank means "none". Money is integer minor units. The commands that create or move things
 * (`createEntry`, `addCopies`, the copy status changes) take an optional `idempotencyKey`: repeated
 * with the same key, the command returns its first result and writes nothing. Source: docs/DESIGN.md §2,
 * §4, §6; issue 10 (idempotency keys).
 *
 * @module
 */
import { z } from 'zod';
import { CATEGORIES, COPY_STATUSES } from '../domain/vocabulary.ts';
import { MAX_MONEY } from '../entities/common.ts';
import { IdempotencyKeyInput } from '../internal/idempotency.ts';
import { IdSchema, MAX_ID, optionalText, PageSchema, requiredText } from '../validation.ts';

/** Most copies one `createEntry`/`addCopies` call may create. */
export const MAX_COPIES_PER_CALL = 1000;

/**
 * Money: integer minor units, 0 ..= `MAX_MONEY` (2⁵³ − 1; 64-bit columns on both databases, so
 * every accepted amount is stored exactly).
 */
export const MinorUnitsSchema = z.number().int().min(0).max(MAX_MONEY);

/**
 * `createEntry`: a title (book) or model (equipment) and, optionally, its first copies.
 * - `titleOrName`: 1..150 chars (required). Its first three letters give the copy code prefix.
 * - `category`: `general` | `premium`.
 * - `authorOrBrand`: ≤ 100 chars; `identifier` (ISBN, model number): ≤ 50 chars.
 * - `replacementCost`: integer minor units, 0 ..= `MAX_MONEY`, or `null` = unknown (the default).
 *   A lost copy is charged its known cost; an unknown cost is charged nothing (the return reports
 *   it) and never caps a fine; `0` means the copy is known to cost nothing to replace.
 * - `copies`: 0..1000 copies to create now (default 0), all `disponible`.
 * - `condition`: ≤ 100 chars, written to every new copy.
 */
export const CreateCatalogEntryInput = z.strictObject({
  titleOrName: requiredText(150),
  category: z.enum(CATEGORIES),
  authorOrBrand: optionalText(100).optional(),
  identifier: optionalText(50).optional(),
  replacementCost: MinorUnitsSchema.nullable().default(null),
  copies: z.number().int().min(0).max(MAX_COPIES_PER_CALL).default(0),
  condition: optionalText(100).optional(),
  idempotencyKey: IdempotencyKeyInput.optional(),
});
/** Input of `CatalogService.createEntry` (before parsing). */
export type CreateCatalogEntryInput = z.input<typeof CreateCatalogEntryInput>;

/** `addCopies`: `count` (1..1000) more copies of an entry, numbered after its highest copy number. */
export const AddCopiesInput = z.strictObject({
  catalogEntryId: IdSchema,
  count: z.number().int().min(1).max(MAX_COPIES_PER_CALL),
  condition: optionalText(100).optional(),
  idempotencyKey: IdempotencyKeyInput.optional(),
});
/** Input of `CatalogService.addCopies`. */
export type AddCopiesInput = z.input<typeof AddCopiesInput>;

/**
 * `updateEntry`: change some fields of an entry. Absent fields stay as they are; `null` or a
 * blank string clears `authorOrBrand`/`identifier`; `replacementCost: null` marks the cost
 * unknown (minor units otherwise, 0 ..= `MAX_MONEY`). At least one field besides
 * `catalogEntryId` is required. Existing copy codes never change.
 */
export const UpdateCatalogEntryInput = z
  .strictObject({
    catalogEntryId: IdSchema,
    titleOrName: requiredText(150).optional(),
    category: z.enum(CATEGORIES).optional(),
    authorOrBrand: optionalText(100).optional(),
    identifier: optionalText(50).optional(),
    replacementCost: MinorUnitsSchema.nullable().optional(),
  })
  .refine((v) => Object.keys(v).some((k) => k !== 'catalogEntryId' && v[k as keyof typeof v] !== undefined), {
    message: 'name at least one field to change',
  });
/** Input of `CatalogService.updateEntry`. */
export type UpdateCatalogEntryInput = z.input<typeof UpdateCatalogEntryInput>;

/**
 * `search`: entries whose title, author/brand or identifier contain every word of `text`
 * (case- and accent-insensitive, partial; `%` and `_` match literally), optionally of one
 * `category`; `limit` 1..500 (default 50), `offset` ≥ 0. `text` ≤ 200 chars; blank = all.
 */
export const SearchCatalogInput = PageSchema.extend({
  text: optionalText(200).optional(),
  category: z.enum(CATEGORIES).optional(),
});
/** Input of `CatalogService.search`. */
export type SearchCatalogInput = z.input<typeof SearchCatalogInput>;

/** `getEntry`: one entry with its availability counts. */
export const GetCatalogEntryInput = z.strictObject({ catalogEntryId: IdSchema });
/** Input of `CatalogService.getEntry`. */
export type GetCatalogEntryInput = z.input<typeof GetCatalogEntryInput>;

/** `listCopies`: an entry's copies by copy number, optionally of one `status`; paginated. */
export const ListCopiesInput = PageSchema.extend({
  catalogEntryId: IdSchema,
  status: z.enum(COPY_STATUSES).optional(),
});
/** Input of `CatalogService.listCopies`. */
export type ListCopiesInput = z.input<typeof ListCopiesInput>;

/** `getCopyByCode`: a copy by its code (`MOU-12-7`; trimmed, case-insensitive), ≤ 50 chars. */
export const GetCopyByCodeInput = z.strictObject({
  code: requiredText(50).transform((c) => c.toUpperCase()),
});
/** Input of `CatalogService.getCopyByCode`. */
export type GetCopyByCodeInput = z.input<typeof GetCopyByCodeInput>;

/**
 * A direct status change of one copy (`sendToMaintenance`, `repair`, `markLost`, `markFound`,
 * `withdrawCopy`; the moves each makes are the rows of `COPY_TRANSITIONS`).
 * - `note`: ≤ 500 chars, stored on the `CopyEvent`.
 * - `condition`: ≤ 100 chars; when given, replaces the copy's condition.
 * - `expectedVersion`: when given, the change is refused with `CONFLICT` unless the copy still has
 *   this version (the one the caller displayed).
 */
export const ChangeCopyStatusInput = z.strictObject({
  copyId: IdSchema,
  note: optionalText(500).optional(),
  condition: optionalText(100).optional(),
  expectedVersion: z.number().int().min(1).max(MAX_ID).optional(),
  idempotencyKey: IdempotencyKeyInput.optional(),
});
/** Input of the direct copy operations of `CatalogService`. */
export type ChangeCopyStatusInput = z.input<typeof ChangeCopyStatusInput>;

/**
 * `withdrawEntry`: withdraw a title/model from circulation (FOLIO *Withdrawn*, Koha `withdrawn`):
 * the entry is kept with its history and all its copies become `retirado`; it can never be
 * requested or lent again. `note` (≤ 500 chars) is stored on each copy's `withdrawn` event.
 */
export const WithdrawEntryInput = z.strictObject({
  catalogEntryId: IdSchema,
  note: optionalText(500).optional(),
  idempotencyKey: IdempotencyKeyInput.optional(),
});
/** Input of `CatalogService.withdrawEntry`. */
export type WithdrawEntryInput = z.input<typeof WithdrawEntryInput>;

/** `copyHistory`: a copy's status changes, oldest first. */
export const CopyHistoryInput = z.strictObject({ copyId: IdSchema });
/** Input of `CatalogService.copyHistory`. */
export type CopyHistoryInput = z.input<typeof CopyHistoryInput>;
