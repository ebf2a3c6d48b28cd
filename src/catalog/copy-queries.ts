/**
 * The reads of the catalog commands that move copies (the direct staff operations and the
 * withdrawal of an entry), as typed Kysely queries on the command's transaction
 * (`src/kernel/db.ts`), each decoded into plain values. On PostgreSQL the copy reads lock their
 * rows (`FOR UPDATE`, several in id order, so two commands never wait on each other's rows in
 * opposite orders); SQLite serializes writers with `BEGIN IMMEDIATE` instead.
 *
 * Source: `docs/DESIGN.md` §4 (copy states), §7 (locks).
 *
 * @module
 */
import { LoanStatus } from '../domain/vocabulary.ts';
import { type StoredInstant, type SwlKysely, toInstant, toInt } from '../kernel/db.ts';
import type { CopyView } from './views.ts';

const copyColumns = [
  'id',
  'catalog_entry_id',
  'sequence',
  'code',
  'status',
  'condition',
  'version',
  'created_at',
  'updated_at',
] as const;

/** A `swl_item_instance` row as the drivers return it. */
interface CopyRow {
  id: number | string;
  catalog_entry_id: number | string;
  sequence: number | string;
  code: string;
  status: CopyView['status'];
  condition: string | null;
  version: number | string;
  created_at: StoredInstant;
  updated_at: StoredInstant;
}

/** Decodes a `swl_item_instance` row into its public view. */
function copyFromRow(row: CopyRow): CopyView {
  return {
    id: toInt(row.id),
    catalogEntryId: toInt(row.catalog_entry_id),
    sequence: toInt(row.sequence),
    code: row.code,
    status: row.status,
    condition: row.condition ?? null,
    version: toInt(row.version),
    createdAt: toInstant(row.created_at),
    updatedAt: toInstant(row.updated_at),
  };
}

/**
 * The copy `copyId` as a {@link CopyView}, or undefined. `lock`: `FOR UPDATE` (PostgreSQL only).
 * @internal
 */
export async function readCopyView(
  db: SwlKysely,
  copyId: number,
  lock: boolean,
): Promise<CopyView | undefined> {
  let query = db.selectFrom('swl_item_instance').select(copyColumns).where('id', '=', copyId);
  if (lock) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  return row ? copyFromRow(row) : undefined;
}

/**
 * Every copy of the entry `catalogEntryId`, withdrawn ones included, by id. `lock`: `FOR UPDATE`
 * (PostgreSQL only), taken in id order.
 * @internal
 */
export async function readEntryCopyViews(
  db: SwlKysely,
  catalogEntryId: number,
  lock: boolean,
): Promise<CopyView[]> {
  let query = db
    .selectFrom('swl_item_instance')
    .select(copyColumns)
    .where('catalog_entry_id', '=', catalogEntryId)
    .orderBy('id', 'asc');
  if (lock) query = query.forUpdate();
  return (await query.execute()).map(copyFromRow);
}

/**
 * How many requests for the entry `catalogEntryId` are still pending (`pendiente`).
 * @internal
 */
export async function countPendingRequests(db: SwlKysely, catalogEntryId: number): Promise<number> {
  const row = await db
    .selectFrom('swl_loan')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('catalog_entry_id', '=', catalogEntryId)
    .where('status', '=', LoanStatus.Pending)
    .executeTakeFirstOrThrow();
  return toInt(row.n);
}
