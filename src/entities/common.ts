import { p } from '@mikro-orm/core';
import { nowFor } from '../internal/clock-context.ts';

/**
 * Columns every mutable table carries: creation and last-update instants (UTC), taken from the
 * clock of the service command that writes the row (the system clock outside a command).
 * On SQLite MikroORM 7 stores them as millisecond integers, on PostgreSQL as `timestamptz`.
 * @internal
 */
export const timestamps = {
  createdAt: p.datetime().onCreate((_, em) => nowFor(em)),
  updatedAt: p
    .datetime()
    .onCreate((_, em) => nowFor(em))
    .onUpdate((_, em) => nowFor(em)),
};

/** Prefix of every table the package owns, so they never collide with a host's own tables. */
export const TABLE_PREFIX = 'swl_';
