/**
 * {@link SwlError} → RFC 9457 problem details (`application/problem+json`), framework-free.
 *
 * @module
 */
import { STATUS_CODES } from 'node:http';
import { SWL_ERROR_CODES, SWL_HTTP_STATUS, SwlError, type SwlErrorCode } from '../errors.ts';

/** The media type of every problem this module builds (RFC 9457, JSON problem details). */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/**
 * Seconds sent in the `Retry-After` header (RFC 9110 §10.2.3, delay-seconds) with a retryable
 * error (`CONFLICT`, `UNAVAILABLE`; {@link SwlError.retryable}): 1 second. Both are short-lived —
 * a concurrent command that won, a database connection being re-established — so a client may
 * repeat the same command (with the same `idempotencyKey`) after this delay, backing off further on
 * its own if the answer repeats.
 */
export const RETRY_AFTER_SECONDS = 1;

const typeOf = (code: SwlErrorCode) => `urn:swl-library:problem:${code.toLowerCase().replaceAll('_', '-')}`;

/**
 * The problem type URI (RFC 9457 §3.1.1, the `type` member) of each error code: a URN,
 * `urn:swl-library:problem:` followed by the code in lower case with `-` for `_` — `NOT_FOUND` →
 * `urn:swl-library:problem:not-found`. Stable, like the codes themselves. A URN because it names
 * the problem type without promising a web page: RFC 9457 makes `type` the problem type's primary
 * identifier and tells consumers not to dereference it automatically. The meaning of each type is
 * the meaning of its code ({@link SWL_ERROR_CODES}).
 */
export const SWL_PROBLEM_TYPES: Readonly<Record<SwlErrorCode, string>> = Object.freeze(
  Object.fromEntries(SWL_ERROR_CODES.map((code) => [code, typeOf(code)])) as Record<SwlErrorCode, string>,
);

/**
 * The `title` of each error code's problem (RFC 9457 §3.1.3): a short summary of the problem type
 * that does not change from occurrence to occurrence (the occurrence is told by `detail`).
 */
export const SWL_PROBLEM_TITLES: Readonly<Record<SwlErrorCode, string>> = Object.freeze({
  VALIDATION_FAILED: 'Validation failed',
  NOT_FOUND: 'Not found',
  FORBIDDEN: 'Forbidden',
  INVALID_TRANSITION: 'Invalid state transition',
  COPY_UNAVAILABLE: 'Copy unavailable',
  LOAN_LIMIT_REACHED: 'Loan limit reached',
  BORROWER_BLOCKED: 'Borrower blocked',
  BORROWER_INACTIVE: 'Borrower inactive',
  POLICY_FORBIDS: 'No lending policy allows this',
  ENVIRONMENT_REQUIRED: 'Environment required',
  RENEWAL_LIMIT_REACHED: 'Renewal limit reached',
  LOAN_OVERDUE: 'Loan overdue',
  HOLD_PENDING: 'Hold pending',
  CONFLICT: 'Concurrent change',
  DUPLICATE: 'Duplicate',
  AUTH_FAILED: 'Authentication failed',
  IDEMPOTENCY_KEY_REUSED: 'Idempotency key reused',
  CAPACITY_EXCEEDED: 'Capacity exceeded',
  UNAVAILABLE: 'Service unavailable',
  CONFIGURATION: 'Server misconfigured',
  INTERNAL: 'Internal error',
});

/** The `detail` of the problem built from an error that is not an {@link SwlError}. */
const INTERNAL_DETAIL = 'an unexpected error occurred';

/** The `detail` of a framework's own client error (a body that is not JSON, too large, …). */
const REJECTED_DETAIL = 'the request was rejected before it reached the application';

/**
 * An RFC 9457 problem details object, as sent with `content-type: application/problem+json`:
 * the standard members `type`, `title`, `status` and `detail`, and two extension members (§3.2),
 * `code` and `details`, that carry the {@link SwlError}'s own. `instance` is not sent.
 *
 * @example
 * ```json
 * {
 *   "type": "urn:swl-library:problem:not-found",
 *   "title": "Not found",
 *   "status": 404,
 *   "detail": "loan 1 not found",
 *   "code": "NOT_FOUND",
 *   "details": { "entity": "loan", "id": 1 }
 * }
 * ```
 */
export interface ProblemDetails {
  /**
   * Problem type URI: {@link SWL_PROBLEM_TYPES}`[code]`; `about:blank` (RFC 9457 §4.2.1) only for a
   * framework's own client error, whose `code` is `null`.
   */
  type: string;
  /**
   * Short summary of the type: {@link SWL_PROBLEM_TITLES}`[code]`; for `about:blank`, the HTTP
   * reason phrase of `status` (e.g. `Bad Request`).
   */
  title: string;
  /** HTTP status code, the same as the response's: `SWL_HTTP_STATUS[code]` for an `SwlError`. */
  status: number;
  /**
   * Human-readable explanation of this occurrence: the `SwlError`'s `message` (which may change
   * between versions; switch on `code`). For anything else a fixed generic sentence — never the
   * error's own message, stack or cause.
   */
  detail: string;
  /**
   * The stable error code ({@link SWL_ERROR_CODES}); `INTERNAL` for an error that is not an
   * `SwlError`. `null` only for a framework's own client error (type `about:blank`).
   */
  code: SwlErrorCode | null;
  /**
   * The `SwlError`'s client-safe `details` (ids, states, limits, `issues` of a `VALIDATION_FAILED`);
   * `{}` for anything else. Never the error's `cause`.
   */
  details: Readonly<Record<string, unknown>>;
}

/** A problem ready to send: status, headers and body. */
export interface Problem {
  /** HTTP status code (`body.status`). */
  status: number;
  /**
   * Response headers, names in lower case: `content-type: application/problem+json` always, and
   * `retry-after` (in seconds, {@link RETRY_AFTER_SECONDS}) for a retryable error.
   */
  headers: Record<string, string>;
  /** The JSON body; send it with `JSON.stringify`. */
  body: ProblemDetails;
}

/**
 * Turns any thrown value into an RFC 9457 problem (RFC 9457: "Problem Details for HTTP APIs").
 *
 * - An {@link SwlError}: status {@link SWL_HTTP_STATUS}`[code]`, `type`
 *   {@link SWL_PROBLEM_TYPES}`[code]`, `title` {@link SWL_PROBLEM_TITLES}`[code]`, `detail` its
 *   message, `code`, and its `details`; its `cause` is never read. A retryable one (`CONFLICT`,
 *   `UNAVAILABLE`) also gets `retry-after: 1` ({@link RETRY_AFTER_SECONDS}, seconds).
 * - Anything else (a programming error, a raw driver error, a non-`Error` value): 500, code
 *   `INTERNAL`, a generic `detail` and empty `details` — nothing of the value itself (message,
 *   stack, SQL text, driver text) reaches the body. Log the original on the server.
 *
 * @param error - whatever was thrown.
 * @returns status, headers (`content-type` included) and body.
 *
 * @example
 * ```ts
 * const { status, headers, body } = toProblemDetails(err);
 * res.writeHead(status, headers).end(JSON.stringify(body));
 * ```
 */
export function toProblemDetails(error: unknown): Problem {
  if (!(error instanceof SwlError)) return problemOf('INTERNAL', INTERNAL_DETAIL, {}, false);
  return problemOf(error.code, error.message, error.details, error.retryable);
}

function problemOf(
  code: SwlErrorCode,
  detail: string,
  details: Readonly<Record<string, unknown>>,
  retryable: boolean,
): Problem {
  const status = SWL_HTTP_STATUS[code];
  const headers: Record<string, string> = { 'content-type': PROBLEM_CONTENT_TYPE };
  if (retryable) headers['retry-after'] = String(RETRY_AFTER_SECONDS);
  return {
    status,
    headers,
    body: { type: SWL_PROBLEM_TYPES[code], title: SWL_PROBLEM_TITLES[code], status, detail, code, details },
  };
}

/**
 * The problem a framework error handler sends: {@link toProblemDetails}, except for an error that
 * is not an `SwlError` but carries the framework's own client-error `statusCode` (400–499: a body
 * that is not JSON, too large, of an unsupported media type): that status is kept, with a generic
 * `about:blank` problem (RFC 9457 §4.2.1) whose `code` is `null`.
 * @internal
 */
export function problemForHandler(error: unknown): Problem {
  if (error instanceof SwlError) return toProblemDetails(error);
  const status = clientStatusOf(error);
  if (status === undefined) return toProblemDetails(error);
  return {
    status,
    headers: { 'content-type': PROBLEM_CONTENT_TYPE },
    body: {
      type: 'about:blank',
      title: STATUS_CODES[status] ?? 'Client Error',
      status,
      detail: REJECTED_DETAIL,
      code: null,
      details: {},
    },
  };
}

function clientStatusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const status = (error as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' && Number.isInteger(status) && status >= 400 && status < 500
    ? status
    : undefined;
}
