/**
 * The row-id ceiling: every `id` column is a 32-bit `integer`, so no row may get an id above
 * {@link MAX_ID} (2³¹ − 1). PostgreSQL enforces it itself (a `serial` sequence stops there;
 * `translate-error.ts` turns that into `CAPACITY_EXCEEDED`). SQLite's row ids are 64-bit and
 * `AUTOINCREMENT` happily hands out 2³¹, a row no command could name again (`IdSchema` stops at
 * 2³¹ − 1); so on both databases the services refuse such a row here, in the command's
 * transaction, which then rolls back: `CAPACITY_EXCEEDED`, nothing written.
 *
 * @internal
 * @module
 */
import type { EntityManager, EventArgs, EventSubscriber } from '@mikro-orm/core';
import { TABLE_PREFIX } from '../entities/common.ts';
import { swlEntities } from '../entities/index.ts';
import { SwlError } from '../errors.ts';
import { MAX_ID } from '../validation.ts';

/**
 * The `CAPACITY_EXCEEDED` error for `table` (when known).
 * @internal
 */
export function capacityExceeded(table?: string, options?: ErrorOptions): SwlError {
  return new SwlError(
    'CAPACITY_EXCEEDED',
    `${table ?? 'a table'} has used every row id (the largest is ${MAX_ID}); nothing was written`,
    table === undefined ? { maxId: MAX_ID } : { table, maxId: MAX_ID },
    options,
  );
}

/**
 * Throws `CAPACITY_EXCEEDED` when any of `ids` (just inserted into `table`) is above
 * {@link MAX_ID}; for the multi-row inserts that bypass the unit of work.
 * @internal
 */
export function assertRowIds(table: string, ids: readonly number[]): void {
  if (ids.some((id) => id > MAX_ID)) throw capacityExceeded(table);
}

/**
 * Refuses, right after its insert, a row of the package's tables whose new id is above
 * {@link MAX_ID}. Throwing from `afterCreate` aborts the flush, and with it the command's
 * transaction. Host entities sharing the event manager are not watched.
 */
const subscriber: EventSubscriber = {
  getSubscribedEntities: () => [...swlEntities],
  afterCreate(args: EventArgs<unknown>) {
    const id = (args.entity as { id?: unknown }).id;
    if (typeof id === 'number' && id > MAX_ID) {
      throw capacityExceeded(args.meta.tableName ?? `${TABLE_PREFIX}?`);
    }
  },
};

const registered = new WeakSet<object>();

/**
 * Makes sure the id-ceiling subscriber listens on `em`'s event manager (once per event manager;
 * forks made afterwards inherit it), like `watchTransactions`.
 * @internal
 */
export function watchRowIds(em: EntityManager): void {
  const events = em.getEventManager();
  if (registered.has(events)) return;
  registered.add(events);
  events.registerSubscriber(subscriber);
}
