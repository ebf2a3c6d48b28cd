import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { COPY_STATUSES, CopyStatus } from '../domain/vocabulary.ts';
import { CatalogEntry } from './catalog-entry.entity.ts';
import { timestamps } from './common.ts';

/**
 * Schema of {@link ItemInstance} (table `swl_item_instance`).
 *
 * Columns from `docs/legacy/000_266b31aaf8610e4d.txt` ItemInstance Table (catalog_id, unique_code,
 * status, condition) plus docs/DESIGN.md §2: `sequence` (the `n` of the code
 * `XXX-{catalog_id}-{n}`, unique per entry) and `version` (optimistic lock). A catalog entry with
 * copies cannot be deleted (`restrict`).
 */
export const ItemInstanceSchema = defineEntity({
  name: 'ItemInstance',
  tableName: 'swl_item_instance',
  properties: {
    id: p.integer().primary().autoincrement(),
    catalogEntry: () => p.manyToOne(CatalogEntry).ref().deleteRule('restrict').updateRule('cascade'),
    /** Copy number within its catalog entry, from 1. */
    sequence: p.integer().check('sequence >= 1'),
    /** Barcode-like code `XXX-{catalogId}-{sequence}`, unique. Max 50 chars. */
    code: p.string().length(50).unique('swl_item_instance_code_unique'),
    status: p.enum(COPY_STATUSES).default(CopyStatus.Available),
    /** Free description of the physical condition. */
    condition: p.string().length(100).nullable(),
    version: p.integer().version(),
    ...timestamps,
  },
  uniques: [{ name: 'swl_item_instance_entry_sequence_unique', properties: ['catalogEntry', 'sequence'] }],
  indexes: [{ name: 'swl_item_instance_entry_status_index', properties: ['catalogEntry', 'status'] }],
});

/** One physical copy or unit of a {@link CatalogEntry}. */
export class ItemInstance extends ItemInstanceSchema.class {}
ItemInstanceSchema.setClass(ItemInstance);
/** Plain shape of an {@link ItemInstance} row. */
export type IItemInstance = InferEntity<typeof ItemInstanceSchema>;
