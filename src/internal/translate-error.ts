import {
  CheckConstraintViolationException,
  ConnectionException,
  DeadlockException,
  DriverException,
  type EntityManager,
  ForeignKeyConstraintViolationException,
  LockWaitTimeoutException,
  NotNullConstraintViolationException,
  OptimisticLockError,
  UniqueConstraintViolationException,
} from '@mikro-orm/core';
import { ZodError } from 'zod';
import { SwlError } from '../errors.ts';
import { capacityExceeded } from './id-ceiling.ts';

/** Unique constraints whose violation means "somebody else got the copy first". */
const APPROVAL_RACE_CONSTRAINTS = ['swl_loan_one_approved_per_instance'];

/** PostgreSQL SQLSTATE classes and codes that mean "the connection or statement was cut off". */
const PG_UNAVAILABLE = /^(08|53|57P0[1-3]|57014)/;

/** PostgreSQL `exclusion_violation`: a row overlaps another under an exclusion constraint. */
const PG_EXCLUSION_VIOLATION = '23P01';

/** PostgreSQL `lock_not_available` (lock_timeout, NOWAIT): another transaction holds the row. */
const PG_LOCK_NOT_AVAILABLE = '55P03';

/**
 * PostgreSQL `sequence_generator_limit_exceeded`: `nextval()` reached the sequence's maximum —
 * every `serial` id sequence stops at 2³¹ − 1 (`MAX_ID`).
 */
const PG_SEQUENCE_LIMIT = '2200H';

/** PostgreSQL class 28, invalid authorization (`28000`, `28P01` wrong password). */
const PG_BAD_CREDENTIALS = /^28/;

/**
 * `CONFIGURATION`: the package is set up wrongly; `details.fix` says what to change.
 * @internal
 */
export function configurationError(
  message: string,
  details: { fix: string } & Record<string, unknown>,
  cause?: unknown,
): SwlError {
  return new SwlError('CONFIGURATION', message, details, cause === undefined ? undefined : { cause });
}

/** PostgreSQL `numeric_value_out_of_range`. */
const PG_OUT_OF_RANGE = '22003';

/**
 * The server routine that raises "integer out of range" when a 64-bit value is stored into a
 * 32-bit column: what an id sequence widened to `bigint` (a database restored from PostgreSQL 9,
 * or altered by hand) does at 2³¹ inside `insert … default nextval(…)`. The error carries no
 * table, column or statement, and an over-large literal written into a 32-bit column raises the
 * same one; but no service writes such a literal: every 32-bit value a service writes is bounded
 * by 2³¹ − 1 (input schemas; copy numbers are checked before the bulk insert; versions are
 * incremented in SQL, which overflows in `int4pl`), money columns are `bigint`, and no query casts
 * to `int`. Other overflows come from other routines (`int4pl`, `int4mul`, `pg_strtoint32_safe`
 * for a quoted value too large for its column, `numeric_*`) and stay `INTERNAL`. Routine names are
 * not translated with `lc_messages`, unlike the message.
 */
const PG_BIGINT_TO_INT_ROUTINE = 'int84';

/** `swl_loan_id_seq` in `nextval: reached maximum value of sequence "swl_loan_id_seq" (…)`. */
const PG_SEQUENCE_NAME = /"(?:[\w$]+"\.")?([\w$]+)"/;

/** The table whose id sequence ran out, when the (English) message names an `…_id_seq`. */
function tableOfSequence(error: DriverException): string | undefined {
  const sequence = PG_SEQUENCE_NAME.exec(error.message)?.[1];
  return sequence?.endsWith('_id_seq') ? sequence.slice(0, -'_id_seq'.length) : undefined;
}

function constraintOf(error: DriverException): string {
  const e = error as DriverException & { constraint?: string };
  return e.constraint ?? /constraint(?: failed)?:?\s*"?([\w.]+)"?/i.exec(error.message)?.[1] ?? '';
}

/**
 * A raw error from the database client that reached the service without MikroORM's exception
 * converter — a query builder's `execute()` does not convert, unlike the unit of work and
 * `em.execute()` — as the `DriverException` subclass the unit of work would have thrown (unique,
 * check, foreign-key violations, …), so {@link toSwlError} sees the same thing on every path. Only
 * errors the database server reported are converted (PostgreSQL: a `severity` and a 5-character
 * SQLSTATE `code`; SQLite: a numeric `errcode` from `node:sqlite`, a `SQLITE_…` `code` from
 * `better-sqlite3`); anything else (a lost socket, a programming
 * error) is returned unchanged.
 * @internal
 */
export function convertDriverError(em: EntityManager, error: unknown): unknown {
  if (!(error instanceof Error) || error instanceof DriverException) return error;
  const e = error as Error & { code?: unknown; severity?: unknown; errcode?: unknown };
  const fromPostgres =
    typeof e.severity === 'string' && typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code);
  const fromSqlite =
    typeof e.errcode === 'number' || (typeof e.code === 'string' && e.code.startsWith('SQLITE_'));
  return fromPostgres || fromSqlite ? em.getDriver().convertException(error) : error;
}

/**
 * Turns whatever a command threw into an {@link SwlError}: zod issues → `VALIDATION_FAILED`;
 * optimistic-lock failures, lock time-outs, deadlocks and serialization failures → `CONFLICT`;
 * unique violations → `DUPLICATE` (or `COPY_UNAVAILABLE` for the one-approved-loan index);
 * check/not-null violations → `VALIDATION_FAILED`; restrict/foreign-key violations → `CONFLICT`;
 * lost connections and cancelled statements → `UNAVAILABLE`; an exhausted id sequence (PostgreSQL
 * SQLSTATE 2200H, or 22003 from storing a 64-bit sequence value into a 32-bit id) →
 * `CAPACITY_EXCEEDED`; any other driver error → `INTERNAL`.
 * `SwlError`s pass through. Errors that are not from the driver (programming errors) are wrapped
 * as `INTERNAL` too, so nothing raw reaches the host. The original error is kept as `cause`.
 * @internal
 */
export function toSwlError(error: unknown): SwlError {
  if (error instanceof SwlError) return error;
  if (error instanceof ZodError) {
    return new SwlError('VALIDATION_FAILED', 'input does not match the schema', {
      issues: error.issues.map((i) => ({ path: i.path.map(String), code: i.code, message: i.message })),
    });
  }
  if (error instanceof OptimisticLockError) {
    return new SwlError(
      'CONFLICT',
      'the record was changed by a concurrent command; try again',
      {},
      { cause: error },
    );
  }
  if (error instanceof DriverException) {
    const sqlState = String((error as DriverException & { code?: unknown }).code ?? '');
    if (error instanceof UniqueConstraintViolationException) {
      const constraint = constraintOf(error);
      if (
        APPROVAL_RACE_CONSTRAINTS.some(
          (c) => constraint.includes(c) || error.message.includes('swl_loan.instance_id'),
        )
      ) {
        return new SwlError(
          'COPY_UNAVAILABLE',
          'the copy was lent by a concurrent approval',
          {},
          { cause: error },
        );
      }
      return new SwlError(
        'DUPLICATE',
        'a record with the same unique value already exists',
        { constraint },
        { cause: error },
      );
    }
    if (sqlState === PG_EXCLUSION_VIOLATION) {
      // The only exclusion constraint is swl_reservation_copy_no_overlap (issue 16).
      return new SwlError(
        'COPY_UNAVAILABLE',
        'the copy was booked for an overlapping range by a concurrent command',
        { reason: 'booked', constraint: constraintOf(error) },
        { cause: error },
      );
    }
    if (
      error instanceof DeadlockException ||
      error instanceof LockWaitTimeoutException ||
      sqlState === PG_LOCK_NOT_AVAILABLE
    ) {
      return new SwlError(
        'CONFLICT',
        'a concurrent command holds the record; try again',
        {},
        { cause: error },
      );
    }
    if (error instanceof ForeignKeyConstraintViolationException || sqlState === '23001') {
      return new SwlError(
        'CONFLICT',
        'the record is referenced by, or refers to, a missing or protected record',
        {},
        {
          cause: error,
        },
      );
    }
    if (
      error instanceof CheckConstraintViolationException ||
      error instanceof NotNullConstraintViolationException
    ) {
      return new SwlError(
        'VALIDATION_FAILED',
        'the database refused a value',
        { constraint: constraintOf(error) },
        {
          cause: error,
        },
      );
    }
    if (error instanceof ConnectionException || PG_UNAVAILABLE.test(sqlState)) {
      return new SwlError(
        'UNAVAILABLE',
        'the database connection was lost or the statement was cancelled',
        {},
        {
          cause: error,
        },
      );
    }
    if (PG_BAD_CREDENTIALS.test(sqlState)) {
      return configurationError(
        'the database refused the user name or password',
        { sqlState, fix: 'check the user name and password in DATABASE_URL (or clientUrl)' },
        error,
      );
    }
    if (sqlState === PG_SEQUENCE_LIMIT) {
      return capacityExceeded(tableOfSequence(error), { cause: error });
    }
    if (
      sqlState === PG_OUT_OF_RANGE &&
      (error as DriverException & { routine?: unknown }).routine === PG_BIGINT_TO_INT_ROUTINE
    ) {
      return capacityExceeded(undefined, { cause: error });
    }
    return new SwlError('INTERNAL', 'unexpected database error', {}, { cause: error });
  }
  // SQLite BUSY (5) / LOCKED (6) raised while opening a transaction (BEGIN IMMEDIATE) bypasses
  // MikroORM's exception converter: the busy timeout ran out waiting for another writer.
  const sqliteCode = (error as { errcode?: unknown })?.errcode;
  if (
    error instanceof Error &&
    (sqliteCode === 5 || sqliteCode === 6 || /database (table )?is locked/i.test(error.message))
  ) {
    return new SwlError('CONFLICT', 'another writer holds the database; try again', {}, { cause: error });
  }
  if (error instanceof Error && /connection|terminat|ECONNRESET|ECONNREFUSED|timeout/i.test(error.message)) {
    return new SwlError('UNAVAILABLE', 'the database connection was lost', {}, { cause: error });
  }
  return new SwlError('INTERNAL', 'unexpected error', {}, { cause: error });
}
