/**
 * Fastify error handler sending RFC 9457 problems. Typed structurally: no import of Fastify.
 *
 * @module
 */
import { SwlError } from '../errors.ts';
import { type Problem, problemForHandler } from './problem.ts';

/**
 * The part of a Fastify request {@link swlFastifyErrorHandler} uses: its logger (Fastify's
 * `request.log`, pino-compatible).
 */
export interface SwlFastifyRequest {
  /** Request-bound logger; the handler logs every error it answers, as Fastify's default does. */
  log?: {
    /** Logs at `error` level: used for a 5xx. */
    error(obj: object, msg: string): void;
    /** Logs at `info` level: used for a 4xx. */
    info(obj: object, msg: string): void;
  };
}

/** The part of a Fastify reply {@link swlFastifyErrorHandler} uses. */
export interface SwlFastifyReply {
  /** Sets the status code (`reply.code(404)`). */
  code(statusCode: number): unknown;
  /** Sets several headers (`reply.headers({ ... })`). */
  headers(values: Record<string, string>): unknown;
  /** Sends the payload, here a JSON string. */
  send(payload: string): unknown;
}

/**
 * A Fastify error handler (tested with Fastify 5): `app.setErrorHandler(swlFastifyErrorHandler)`.
 * Answers every error with an RFC 9457 problem (`content-type: application/problem+json`): an
 * {@link SwlError} with its status, code and details, `Retry-After` (seconds) when retryable —
 * see `toProblemDetails`. Fastify's own client errors (an error that is not an `SwlError` but has a
 * `statusCode` from 400 to 499, e.g. a body that is not valid JSON, `FST_ERR_CTP_*`) keep their
 * status with a generic `about:blank` problem whose `code` is `null`; anything else is a 500
 * `INTERNAL` problem with a generic detail, never the error's message, stack or cause.
 *
 * Like Fastify's default handler, it logs the original error (`{ err }`, for the logger's error
 * serializer) on `request.log`: at `error` level for a 5xx, `info` otherwise. Only the server's log
 * sees it.
 *
 * @param error - what the route, hook or Fastify threw.
 * @param request - the Fastify request (its `log`).
 * @param reply - the Fastify reply; the problem is sent on it.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { swlFastifyErrorHandler } from 'swl-library/http';
 * const app = Fastify({ logger: true });
 * app.setErrorHandler(swlFastifyErrorHandler);
 * ```
 */
export function swlFastifyErrorHandler(
  error: unknown,
  request: SwlFastifyRequest,
  reply: SwlFastifyReply,
): void {
  const problem = problemForHandler(error);
  logProblem(request, error, problem);
  reply.code(problem.status);
  reply.headers(problem.headers);
  reply.send(JSON.stringify(problem.body));
}

function logProblem(request: SwlFastifyRequest, error: unknown, problem: Problem): void {
  if (!request.log) return;
  const msg =
    error instanceof SwlError
      ? `${error.code}: ${error.message}`
      : error instanceof Error
        ? error.message
        : 'a non-Error value was thrown';
  if (problem.status >= 500) request.log.error({ err: error }, msg);
  else request.log.info({ err: error }, msg);
}
