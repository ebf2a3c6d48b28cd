/**
 * The package's one error class and its stable codes. Source: docs/DESIGN.md §6.
 *
 * @module
 */

/**
 * Every error code a service can throw, with its meaning:
 *
 * | code | meaning |
 * |---|---|
 * | `VALIDATION_FAILED` | the input does not match the command's zod schema; nothing was read or written |
 * | `NOT_FOUND` | a named loan, user, catalog entry, copy or policy does not exist |
 * | `FORBIDDEN` | the acting user's role may not do this, or the loan is another borrower's |
 * | `INVALID_TRANSITION` | the loan/copy is not in a state this command applies to |
 * | `COPY_UNAVAILABLE` | the copy is on loan, lost or in maintenance, or no copy of the entry is available |
 * | `LOAN_LIMIT_REACHED` | the borrower already holds the policy's maximum of active loans (pending + approved) |
 * | `BORROWER_BLOCKED` | the borrower has an overdue loan or an unsettled penalty (`details.reasons`) |
 * | `BORROWER_INACTIVE` | the borrower (or acting user) is deactivated |
 * | `POLICY_FORBIDS` | no policy lets this role borrow this category |
 * | `ENVIRONMENT_REQUIRED` | the policy requires an environment (classroom) and the request names none |
 * | `RENEWAL_LIMIT_REACHED` | the loan has used all the renewals its policy allows |
 * | `LOAN_OVERDUE` | an overdue loan cannot be renewed |
 * | `HOLD_PENDING` | another borrower's request is waiting for this title, so the loan cannot be renewed |
 * | `CONFLICT` | a concurrent change won (optimistic lock, lock timeout, deadlock, serialization); retryable |
 * | `DUPLICATE` | a unique value (document id, email, copy code, policy) already exists |
 * | `AUTH_FAILED` | sign-in failed; the same code and message whatever the reason |
 * | `IDEMPOTENCY_KEY_REUSED` | the idempotency key was already used for a different command, acting user or input; nothing written |
 * | `CAPACITY_EXCEEDED` | a table has used every row id its 32-bit `id` column holds (`MAX_ID`, 2³¹ − 1): the PostgreSQL sequence reached its end, or SQLite handed out a larger id (or a catalog entry has used every copy number, also 2³¹ − 1); nothing was written, and repeating the command gives the same answer until an operator widens the ids — not retryable |
 * | `UNAVAILABLE` | the database could not be reached, the connection was lost, or the statement was cancelled; retryable. Nothing was written — except when the connection was lost after the commit was sent, which no client can tell apart: repeat a command with the same `idempotencyKey` to get its result without a second effect |
 * | `CONFIGURATION` | the package is set up wrongly: the database refused the credentials, a driver package is not installed, or Node is older than 22.17; `details.fix` says what to change — not retryable |
 * | `INTERNAL` | an unexpected database error; nothing was written (the transaction rolled back) |
 */
export const SWL_ERROR_CODES = [
  'VALIDATION_FAILED',
  'NOT_FOUND',
  'FORBIDDEN',
  'INVALID_TRANSITION',
  'COPY_UNAVAILABLE',
  'LOAN_LIMIT_REACHED',
  'BORROWER_BLOCKED',
  'BORROWER_INACTIVE',
  'POLICY_FORBIDS',
  'ENVIRONMENT_REQUIRED',
  'RENEWAL_LIMIT_REACHED',
  'LOAN_OVERDUE',
  'HOLD_PENDING',
  'CONFLICT',
  'DUPLICATE',
  'AUTH_FAILED',
  'IDEMPOTENCY_KEY_REUSED',
  'CAPACITY_EXCEEDED',
  'UNAVAILABLE',
  'CONFIGURATION',
  'INTERNAL',
] as const;

/** One of {@link SWL_ERROR_CODES}. */
export type SwlErrorCode = (typeof SWL_ERROR_CODES)[number];

/**
 * HTTP status for each error code, for transport layers:
 * `res.status(SWL_HTTP_STATUS[err.code]).json(err.toJSON())`.
 *
 * 400 bad input; 401 sign-in failed; 403 not allowed; 404 missing; 409 state conflicts (including
 * the retryable `CONFLICT`); 422 business-rule refusals; 503 database unreachable; 507 the
 * database cannot store another row of a table (`CAPACITY_EXCEEDED`: a server-side condition no
 * change to the request fixes and no retry cures — 507 Insufficient Storage, RFC 4918 §11.5, "unable
 * to store the representation needed to complete the request", keeps it apart from a 500 bug in
 * monitoring); 500 unexpected.
 */
export const SWL_HTTP_STATUS: Readonly<Record<SwlErrorCode, number>> = {
  VALIDATION_FAILED: 400,
  NOT_FOUND: 404,
  FORBIDDEN: 403,
  INVALID_TRANSITION: 409,
  COPY_UNAVAILABLE: 409,
  LOAN_LIMIT_REACHED: 422,
  BORROWER_BLOCKED: 422,
  BORROWER_INACTIVE: 422,
  POLICY_FORBIDS: 422,
  ENVIRONMENT_REQUIRED: 422,
  RENEWAL_LIMIT_REACHED: 422,
  LOAN_OVERDUE: 422,
  HOLD_PENDING: 409,
  CONFLICT: 409,
  DUPLICATE: 409,
  AUTH_FAILED: 401,
  IDEMPOTENCY_KEY_REUSED: 422,
  CAPACITY_EXCEEDED: 507,
  UNAVAILABLE: 503,
  CONFIGURATION: 500,
  INTERNAL: 500,
};

/** Codes after which the same command may simply be tried again. */
const RETRYABLE: ReadonlySet<SwlErrorCode> = new Set(['CONFLICT', 'UNAVAILABLE']);

/**
 * The only error the services throw. `code` is stable (part of the API); `message` is for humans
 * and may change; `details` is structured data safe to return to a client (never a password hash,
 * never raw SQL).
 *
 * @example
 * ```ts
 * try { await loans.approve(actor, { loanId }); }
 * catch (e) { if (e instanceof SwlError && e.retryable) retry(); else throw e; }
 * ```
 */
export class SwlError extends Error {
  override readonly name = 'SwlError';
  /** Stable code; see {@link SWL_ERROR_CODES}. */
  readonly code: SwlErrorCode;
  /** Structured, client-safe particulars (ids, states, limits, validation issues). */
  readonly details: Readonly<Record<string, unknown>>;

  /**
   * @param code - stable error code.
   * @param message - human-readable text.
   * @param details - client-safe structured particulars.
   * @param options - `cause`: the underlying error, kept for logs and never serialized.
   */
  constructor(
    code: SwlErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.code = code;
    this.details = Object.freeze({ ...details });
  }

  /**
   * HTTP status for {@link code}: `SWL_HTTP_STATUS[code]` ({@link SWL_HTTP_STATUS}), e.g. 404 for
   * `NOT_FOUND`. The same number as {@link statusCode}.
   */
  get httpStatus(): number {
    return SWL_HTTP_STATUS[this.code];
  }

  /**
   * The same number as {@link httpStatus}, under the name HTTP frameworks read from a thrown error
   * (Fastify's default error handler, Express's `finalhandler`, `http-errors`): an `SwlError` that
   * reaches one of them unhandled is answered with its own status instead of 500. The body those
   * defaults send is theirs; `swl-library/http` sends an RFC 9457 problem instead.
   */
  get statusCode(): number {
    return this.httpStatus;
  }

  /** True when trying the same command again may succeed (`CONFLICT`, `UNAVAILABLE`). */
  get retryable(): boolean {
    return RETRYABLE.has(this.code);
  }

  /** `{ code, message, details }`, for a response body. The cause is never included. */
  toJSON(): { code: SwlErrorCode; message: string; details: Readonly<Record<string, unknown>> } {
    return { code: this.code, message: this.message, details: this.details };
  }

  /** `NOT_FOUND` for an entity kind and id. */
  static notFound(entity: string, id: unknown): SwlError {
    return new SwlError('NOT_FOUND', `${entity} ${String(id)} not found`, { entity, id });
  }

  /** `FORBIDDEN` for a capability the acting role lacks, or another borrower's record. */
  static forbidden(message: string, details: Record<string, unknown> = {}): SwlError {
    return new SwlError('FORBIDDEN', message, details);
  }

  /** `INVALID_TRANSITION` from a state to a state (or a command name when there is no target). */
  static invalidTransition(
    entity: string,
    from: string,
    to: string,
    details: Record<string, unknown> = {},
  ): SwlError {
    return new SwlError('INVALID_TRANSITION', `${entity} cannot go from ${from} to ${to}`, {
      entity,
      from,
      to,
      ...details,
    });
  }
}

/** True when `error` is an {@link SwlError}, optionally with the given code. */
export function isSwlError(error: unknown, code?: SwlErrorCode): error is SwlError {
  return error instanceof SwlError && (code === undefined || error.code === code);
}
