import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { CATEGORIES } from '../domain/vocabulary.ts';
import { timestamps } from './common.ts';

/**
 * Schema of {@link CatalogEntry} (table `swl_catalog`).
 *
 * Columns from `docs/legacy/000_266b31aaf8610e4d.txt` Catalog Table (title_or_name, category,
 * author_or_brand) plus docs/DESIGN.md §2: `identifier` (ISBN, model number) and `replacementCost`
 * in integer minor units (COP centavos by default; the package never stores money as floating
 * point). `searchText` is a derived, lower-cased, accent-free copy of the searchable fields, kept
 * by the catalog service so that searches are case- and accent-insensitive on both dialects.
 */
export const CatalogEntrySchema = defineEntity({
  name: 'CatalogEntry',
  tableName: 'swl_catalog',
  properties: {
    id: p.integer().primary().autoincrement(),
    titleOrName: p.string().length(150),
    category: p.enum(CATEGORIES).index('swl_catalog_category_index'),
    authorOrBrand: p.string().length(100).nullable(),
    identifier: p.string().length(50).nullable(),
    /**
     * Replacement cost in minor units (≥ 0, 64-bit); charged when a copy is returned `lost`, and
     * the cap of a policy with `capAtReplacementCost`. `null` = unknown (not charged, not a cap);
     * `0` = the copy costs nothing to replace.
     */
    replacementCost: p.bigint('number').nullable().check('replacement_cost >= 0'),
    /** Normalized (lower case, no accents) title + author + identifier, for search; never cut. */
    searchText: p.text().default(''),
    /**
     * When the entry was withdrawn from circulation (FOLIO *Withdrawn*, Koha `withdrawn`): kept
     * with its history, its copies `retirado`, never requested or lent again. Null while in use.
     */
    withdrawnAt: p.datetime().nullable(),
    ...timestamps,
  },
});

/** A title (book) or a model (equipment) that the desk lends copies of. */
export class CatalogEntry extends CatalogEntrySchema.class {}
CatalogEntrySchema.setClass(CatalogEntry);
/** Plain shape of a {@link CatalogEntry} row. */
export type ICatalogEntry = InferEntity<typeof CatalogEntrySchema>;
