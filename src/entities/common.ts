import { type EntityManager, p, raw } from '@mikro-orm/core';
import { nowFor } from '../db/clock-context.ts';
import { isPostgres } from '../db/dialect.ts';

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

/**
 * Largest amount of money the package stores or computes, in minor units: 2⁵³ − 1
 * (`Number.MAX_SAFE_INTEGER`, e.g. 90 trillion COP in centavos). Money columns are 64-bit
 * (`bigint`) on both databases, so every amount up to it is stored exactly; a computed fine or
 * penalty that would exceed it is held at it (`cappedBy: 'ceiling'`).
 */
export const MAX_MONEY = Number.MAX_SAFE_INTEGER;

/** A money column: minor units, 64-bit, never negative. @internal */
export const moneyColumn = (column: string) => p.bigint('number').check(`${column} >= 0`);

/** Prefix of every table the package owns, so they never collide with a host's own tables. */
export const TABLE_PREFIX = 'swl_';

/** SQL for the id of the current transaction on PostgreSQL, as a 64-bit integer. @internal */
export const PG_CURRENT_TX_ID = 'pg_current_xact_id()::text::bigint';

/**
 * Value of an event row's `txId` when it is inserted: on PostgreSQL, the id of the transaction
 * writing it (`pg_current_xact_id()`, evaluated by the database inside the insert); null on SQLite.
 * The outbox reader (`SwlOutbox`, src/outbox.ts) uses it as its commit-order-safe watermark.
 * @internal
 */
export function currentTransactionId(em: EntityManager): number {
  // The property is nullable; the typed builder wants its base type here.
  if (!isPostgres(em)) return null as unknown as number;
  return raw(PG_CURRENT_TX_ID) as unknown as number;
}
