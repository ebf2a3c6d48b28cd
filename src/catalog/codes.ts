/**
 * Copy codes and the catalog's search text. Source: `docs/legacy/000_266b31aaf8610e4d.txt` "Initial
 * Inventory Data" (codes `XXX-{catalog_id}-{number}`); docs/DESIGN.md §2 (`XXX` = first three
 * letters of the name, upper-cased, accents removed).
 *
 * @module
 */
import type { EntityManager } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/sql';
import { SwlError } from '../errors.ts';
import { foldText } from '../internal/text.ts';
import { toSwlError } from '../internal/translate-error.ts';

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

/**
 * The value kept in `CatalogEntry.searchText`: `titleOrName authorOrBrand identifier`, lower
 * case, accents removed (NFD, combining marks stripped), white space collapsed. Queries are
 * folded the same way, so search is case- and accent-insensitive on both databases. Never cut:
 * the column is `text` on both databases, and NFD may make the folded text several times longer
 * than the input (a Hangul syllable becomes two or three jamo), so a cut would hide the author and
 * identifier of a long title from search.
 */
export function catalogSearchText(entry: {
  titleOrName: string;
  authorOrBrand?: string | null;
  identifier?: string | null;
}): string {
  return foldText([entry.titleOrName, entry.authorOrBrand ?? '', entry.identifier ?? ''].join(' '));
}

/**
 * Runs one SQL statement with `?` placeholders and returns its rows: a migration's
 * `(sql, params) => this.execute(sql, params)`, or `em.execute` of a `SqlEntityManager`.
 */
export type SqlStatementRunner = (sql: string, params: unknown[]) => Promise<readonly unknown[]>;

/** Options of {@link refreshCatalogSearchText}. */
export interface RefreshSearchTextOptions {
  /** Entries read and rewritten per batch (default 500; each batch is one transaction with an EntityManager). */
  batchSize?: number;
}

/** What {@link refreshCatalogSearchText} did. */
export interface RefreshSearchTextResult {
  /** Catalog entries read. */
  scanned: number;
  /** Entries whose stored search text differed from {@link catalogSearchText} and was rewritten. */
  updated: number;
}

/** Default batch of {@link refreshCatalogSearchText}. */
const REFRESH_BATCH_SIZE = 500;

interface SearchTextRow {
  id: number | string;
  title_or_name: string;
  author_or_brand: string | null;
  identifier: string | null;
  search_text: string;
}

/**
 * Recomputes every catalog entry's stored search text with {@link catalogSearchText} and rewrites
 * the rows where it differs — e.g. entries written while the search text was still cut at 320
 * characters, whose long title hid their author or identifier from search. Maintenance for
 * upgraded databases; the services keep the text current on every write.
 *
 * Reads the entries in batches of `batchSize` in id order (keyset: `id > last`), so memory stays
 * flat on any catalog. Given an EntityManager, each batch is one transaction (a savepoint inside a
 * host transaction); given a statement runner (a migration's `this.execute`), statements run in
 * the runner's transaction. A row is rewritten only if its search text is still the value read
 * (`where id = ? and search_text = ?`), so running it while the desk is open never overwrites a
 * concurrent `updateEntry`. Idempotent: a second run updates nothing. Does not touch `updatedAt`
 * (the entry itself did not change).
 *
 * Source: issue 11 ("Search finds what was stored"); migration
 * `Swl20261201134500_search_text_refresh` runs it on upgrade.
 *
 * @param target - an EntityManager of the package's database, or a {@link SqlStatementRunner}.
 * @param options - {@link RefreshSearchTextOptions}.
 * @returns how many entries were read and how many rewritten.
 * @throws SwlError `VALIDATION_FAILED` (a `batchSize` that is not a positive integer); driver
 *   errors translated as everywhere (`UNAVAILABLE`, `CONFLICT`, `INTERNAL`).
 *
 * @example
 * ```ts
 * await refreshCatalogSearchText(orm.em.fork()); // { scanned: 12034, updated: 17 }
 * // in a migration's up():
 * await refreshCatalogSearchText((sql, params) => this.execute(sql, params));
 * ```
 */
export async function refreshCatalogSearchText(
  target: EntityManager | SqlStatementRunner,
  options: RefreshSearchTextOptions = {},
): Promise<RefreshSearchTextResult> {
  const batchSize = options.batchSize ?? REFRESH_BATCH_SIZE;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new SwlError('VALIDATION_FAILED', `batchSize must be a positive integer, got ${batchSize}`, {
      issues: [{ path: ['batchSize'], code: 'custom', message: 'must be a positive integer' }],
    });
  }
  const inBatch = <T>(work: (run: SqlStatementRunner) => Promise<T>): Promise<T> =>
    typeof target === 'function'
      ? work(target)
      : target.transactional((em) => work((sql, params) => (em as SqlEntityManager).execute(sql, params)));
  const result: RefreshSearchTextResult = { scanned: 0, updated: 0 };
  let after = 0;
  try {
    return await refreshAll();
  } catch (error) {
    throw toSwlError(error);
  }

  async function refreshAll(): Promise<RefreshSearchTextResult> {
    for (;;) {
      const rows = await inBatch(async (run) => {
        const batch = (await run(
          'select id, title_or_name, author_or_brand, identifier, search_text from swl_catalog ' +
            'where id > ? order by id limit ?',
          [after, batchSize],
        )) as readonly SearchTextRow[];
        for (const row of batch) {
          const text = catalogSearchText({
            titleOrName: row.title_or_name,
            authorOrBrand: row.author_or_brand,
            identifier: row.identifier,
          });
          if (text === row.search_text) continue;
          const changed = await run(
            'update swl_catalog set search_text = ? where id = ? and search_text = ? returning id',
            [text, Number(row.id), row.search_text],
          );
          result.updated += changed.length;
        }
        return batch;
      });
      result.scanned += rows.length;
      const last = rows.at(-1);
      if (!last || rows.length < batchSize) return result;
      after = Number(last.id);
    }
  }
}
