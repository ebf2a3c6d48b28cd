/**
 * Typed Kysely access to the package's tables on a command's own transaction, for the commands
 * that run at the speed of hand-written SQL (the loan lifecycle). The table and column types are
 * derived from the entity definitions (`src/entities/`) with MikroORM's `InferKyselyDB`, so a
 * renamed column breaks the build; what the drivers really return is then spelled out: an instant
 * is a `Date`, epoch milliseconds (SQLite, as MikroORM 7 stores dates there) or a string
 * (PostgreSQL `timestamptz`, which MikroORM's connection leaves unparsed), a 64-bit integer may
 * come back as a string (PostgreSQL `bigint`), a boolean as 0/1 (SQLite). The decoders below turn
 * those into `Date`, `number` and `boolean`; {@link instantParam} encodes an instant the way the
 * entities store it.
 *
 * Source: MikroORM 7 `SqlEntityManager.getKysely()` and `InferKyselyDB`
 * (`@mikro-orm/sql/SqlEntityManager.d.ts`, `typings.d.ts`).
 *
 * @module
 */
import type { EntityManager, Logger } from '@mikro-orm/core';
import type { InferKyselyDB, SqlEntityManager } from '@mikro-orm/sql';
import {
  type ColumnType,
  type Kysely,
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryExecutor,
  type QueryResult,
  type RawBuilder,
  type RootOperationNode,
  sql,
  type UnknownRow,
} from 'kysely';
import type { CatalogEntrySchema } from '../entities/catalog-entry.entity.ts';
import { PG_CURRENT_TX_ID } from '../entities/common.ts';
import type { CopyEventSchema } from '../entities/copy-event.entity.ts';
import type { HoldSchema } from '../entities/hold.entity.ts';
import type { HoldEventSchema } from '../entities/hold-event.entity.ts';
import type { IdempotencyKeySchema } from '../entities/idempotency-key.entity.ts';
import type { ItemInstanceSchema } from '../entities/item-instance.entity.ts';
import type { LoanSchema } from '../entities/loan.entity.ts';
import type { LoanEventSchema } from '../entities/loan-event.entity.ts';
import type { LoanPolicySchema } from '../entities/loan-policy.entity.ts';
import type { NoticeSchema } from '../entities/notice.entity.ts';
import type { NoticeRuleSchema } from '../entities/notice-rule.entity.ts';
import type { ReservationSchema } from '../entities/reservation.entity.ts';
import type { ReservationEventSchema } from '../entities/reservation-event.entity.ts';
import type { ReservationPolicySchema } from '../entities/reservation-policy.entity.ts';
import type { UserSchema } from '../entities/user.entity.ts';
import { compiledQueryOf } from './compiled.ts';

/** An instant as a driver returns it: `Date`, epoch milliseconds (SQLite) or text (PostgreSQL). */
export type StoredInstant = Date | number | string;

/** A column value as the drivers return it (see the module comment). */
type Stored<T> = T extends Date
  ? StoredInstant
  : T extends boolean
    ? boolean | number
    : T extends number
      ? number | string
      : T extends string
        ? T
        : T extends null
          ? null
          : T extends undefined
            ? undefined
            : unknown;

type StoredColumn<T> =
  T extends ColumnType<infer S, infer I, infer U> ? ColumnType<Stored<S>, Stored<I>, Stored<U>> : Stored<T>;

type Inferred = InferKyselyDB<
  | typeof UserSchema
  | typeof CatalogEntrySchema
  | typeof ItemInstanceSchema
  | typeof LoanSchema
  | typeof LoanEventSchema
  | typeof CopyEventSchema
  | typeof LoanPolicySchema
  | typeof IdempotencyKeySchema
  | typeof ReservationSchema
  | typeof ReservationEventSchema
  | typeof ReservationPolicySchema
  | typeof HoldSchema
  | typeof HoldEventSchema
  | typeof NoticeRuleSchema
  | typeof NoticeSchema
>;

/** The package's tables as Kysely sees them: names and columns from the entities, values as stored. */
export type SwlDB = {
  [Table in keyof Inferred]: { [Column in keyof Inferred[Table]]: StoredColumn<Inferred[Table][Column]> };
};

/** A Kysely instance (or transaction) over {@link SwlDB}. */
export type SwlKysely = Kysely<SwlDB>;

/**
 * The Kysely instance bound to `em`'s transaction (inside `em.transactional()`), or to its
 * connection pool outside one. When the ORM's logger has the `query` namespace enabled (MikroORM's
 * `debug` option), every statement is also logged through it, as MikroORM logs its own.
 */
export function kyselyOf(em: EntityManager): SwlKysely {
  const kysely = (em as SqlEntityManager).getKysely<SwlDB>();
  const logger = em.config.getLogger();
  return logger.isEnabled('query') ? kysely.withPlugin(new QueryLog(logger, kysely.getExecutor())) : kysely;
}

/** Logs each statement through MikroORM's logger once it has run (compiled again only when logging). */
class QueryLog implements KyselyPlugin {
  readonly #logger: Logger;
  readonly #executor: QueryExecutor;
  readonly #started = new WeakMap<object, { node: RootOperationNode; at: number }>();

  constructor(logger: Logger, executor: QueryExecutor) {
    this.#logger = logger;
    this.#executor = executor;
  }

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    this.#started.set(args.queryId, { node: args.node, at: performance.now() });
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    const started = this.#started.get(args.queryId);
    const prebuilt = started ? undefined : compiledQueryOf(args.queryId);
    if (prebuilt) {
      this.#logger.logQuery({
        query: prebuilt.sql,
        params: [...prebuilt.parameters],
        results: args.result.rows.length,
        ...(args.result.numAffectedRows === undefined
          ? {}
          : { affected: Number(args.result.numAffectedRows) }),
      });
    } else if (started) {
      const compiled = this.#executor.compileQuery(started.node, args.queryId);
      this.#logger.logQuery({
        query: compiled.sql,
        params: [...compiled.parameters],
        took: Math.round(performance.now() - started.at),
        results: args.result.rows.length,
        ...(args.result.numAffectedRows === undefined
          ? {}
          : { affected: Number(args.result.numAffectedRows) }),
      });
    }
    return args.result;
  }
}

/** An instant as the entities store it: a `Date` on PostgreSQL, epoch milliseconds on SQLite. */
export function instantParam(postgres: boolean, at: Date): Date | number {
  return postgres ? at : at.getTime();
}

/** The current PostgreSQL transaction id for an event row's `tx_id` (null on SQLite); see `src/outbox.ts`. */
export function txIdParam(postgres: boolean): RawBuilder<number> | null {
  return postgres ? sql<number>`${sql.raw(PG_CURRENT_TX_ID)}` : null;
}

/** Decodes a stored instant (see {@link StoredInstant}). */
export function toInstant(value: StoredInstant): Date;
export function toInstant(value: StoredInstant | null | undefined): Date | null;
export function toInstant(value: StoredInstant | null | undefined): Date | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value;
  if (typeof value === 'number') return new Date(value);
  if (/^-?\d+$/.test(value)) return new Date(Number(value));
  // PostgreSQL text output: `2026-12-01 15:04:05.123+00` (ISO 8601 needs `T` and `+00:00`).
  return new Date(value.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00'));
}

/** Decodes a stored integer (PostgreSQL `bigint` and `count(*)` come back as text). */
export function toInt(value: number | string | bigint): number;
export function toInt(value: number | string | bigint | null | undefined): number | null;
export function toInt(value: number | string | bigint | null | undefined): number | null {
  return value === null || value === undefined ? null : Number(value);
}

/** Decodes a stored boolean (SQLite: 0/1). */
export function toBool(value: boolean | number | string): boolean;
export function toBool(value: boolean | number | string | null | undefined): boolean | null;
export function toBool(value: boolean | number | string | null | undefined): boolean | null {
  if (value === null || value === undefined) return null;
  return value === true || value === 1 || value === '1' || value === 't' || value === 'true';
}
