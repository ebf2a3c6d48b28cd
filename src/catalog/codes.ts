/**
 * Copy codes and the catalog's search text. Source: `seeds/000` "Initial Inventory Data"
 * (codes `XXX-{catalog_id}-{number}`); DESIGN §2 (`XXX` = first three letters of the name,
 * upper-cased, accents removed).
 *
 * @module
 */
import { foldText } from '../internal/text.ts';

/** Length of a code prefix (`MOU` in `MOU-12-7`). */
export const CODE_PREFIX_LENGTH = 3;

/** Filler for names with fewer than three Latin letters (`"TV"` → `TVX`, `"42"` → `XXX`). */
export const CODE_PREFIX_FILLER = 'X';

/**
 * The three-letter prefix of a catalog entry's copy codes: the first three Latin letters A–Z of
 * the name after removing accents, upper-cased. Everything else is skipped — spaces, digits,
 * punctuation, and letters that have no A–Z base (`Ø`, `Ł`, Greek, Cyrillic, CJK). A name with
 * fewer than three such letters is padded on the right with `X`.
 *
 * @example
 * ```ts
 * codePrefix('Mouse USB');          // 'MOU'
 * codePrefix('Kit LEGO Education'); // 'KIT'
 * codePrefix('Cámara');             // 'CAM'
 * codePrefix('3D Printer');         // 'DPR'
 * codePrefix('TV');                 // 'TVX'
 * codePrefix('42');                 // 'XXX'
 * ```
 */
export function codePrefix(name: string): string {
  const letters = name
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toUpperCase()
    .replace(/[^A-Z]/g, '');
  return letters.slice(0, CODE_PREFIX_LENGTH).padEnd(CODE_PREFIX_LENGTH, CODE_PREFIX_FILLER);
}

/**
 * The code of copy number `sequence` of entry `catalogEntryId`: `XXX-{catalogEntryId}-{sequence}`
 * (`MOU-12-7`). At most 3 + 1 + 10 + 1 + 10 = 25 characters, within the column's 50.
 */
export function copyCode(prefix: string, catalogEntryId: number, sequence: number): string {
  return `${prefix}-${catalogEntryId}-${sequence}`;
}

/**
 * The prefix of an existing code (`'MOU-12-7'` → `'MOU'`), or null when the code does not start
 * with three letters A–Z and a dash. New copies of an entry continue with the prefix its copies
 * already have, even after the entry was renamed.
 */
export function prefixOfCode(code: string): string | null {
  const prefix = code.split('-', 1)[0] ?? '';
  return /^[A-Z]{3}$/.test(prefix) ? prefix : null;
}

/** Longest stored search text (`swl_catalog.search_text` is 320 characters). */
export const SEARCH_TEXT_MAX = 320;

/**
 * The value kept in `CatalogEntry.searchText`: `titleOrName authorOrBrand identifier`, lower
 * case, accents removed (NFD, combining marks stripped), white space collapsed. Queries are
 * folded the same way, so search is case- and accent-insensitive on both databases.
 */
export function catalogSearchText(entry: {
  titleOrName: string;
  authorOrBrand?: string | null;
  identifier?: string | null;
}): string {
  return foldText([entry.titleOrName, entry.authorOrBrand ?? '', entry.identifier ?? ''].join(' ')).slice(
    0,
    SEARCH_TEXT_MAX,
  );
}
