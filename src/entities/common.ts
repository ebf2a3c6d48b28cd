import { p } from '@mikro-orm/core';

/**
 * Columns every mutable table carries: creation and last-update instants (UTC).
 * On SQLite MikroORM 7 stores them as millisecond integers, on PostgreSQL as `timestamptz`.
 * @internal
 */
export const timestamps = {
  createdAt: p.datetime().onCreate(() => new Date()),
  updatedAt: p
    .datetime()
    .onCreate(() => new Date())
    .onUpdate(() => new Date()),
};

/** Prefix of every table the package owns, so they never collide with a host's own tables. */
export const TABLE_PREFIX = 'swl_';
