import {
  CheckConstraintViolationException,
  ConnectionException,
  DeadlockException,
  DriverException,
  ForeignKeyConstraintViolationException,
  LockWaitTimeoutException,
  NotNullConstraintViolationException,
  OptimisticLockError,
  UniqueConstraintViolationException,
} from '@mikro-orm/core';
import { ZodError } from 'zod';
import { SwlError } from '../errors.ts';

/** Unique constraints whose violation means "somebody else got the copy first". */
const APPROVAL_RACE_CONSTRAINTS = ['swl_loan_one_approved_per_instance'];

/** PostgreSQL SQLSTATE classes and codes that mean "the connection or statement was cut off". */
const PG_UNAVAILABLE = /^(08|53|57P0[1-3]|57014)/;

/** PostgreSQL `lock_not_available` (lock_timeout, NOWAIT): another transaction holds the row. */
const PG_LOCK_NOT_AVAILABLE = '55P03';

function constraintOf(error: DriverException): string {
  const e = error as DriverException & { constraint?: string };
  return e.constraint ?? /constraint(?: failed)?:?\s*"?([\w.]+)"?/i.exec(error.message)?.[1] ?? '';
}

/**
 * Turns whatever a command threw into an {@link SwlError}: zod issues → `VALIDATION_FAILED`;
 * optimistic-lock failures, lock time-outs, deadlocks and serialization failures → `CONFLICT`;
 * unique violations → `DUPLICATE` (or `INSTANCE_UNAVAILABLE` for the one-approved-loan index);
 * check/not-null violations → `VALIDATION_FAILED`; restrict/foreign-key violations → `CONFLICT`;
 * lost connections and cancelled statements → `UNAVAILABLE`; any other driver error → `INTERNAL`.
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
          'INSTANCE_UNAVAILABLE',
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
