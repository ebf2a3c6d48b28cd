/**
 * Express error middleware sending RFC 9457 problems. Typed structurally: no import of Express.
 *
 * @module
 */
import { problemForHandler } from './problem.ts';

/** The part of an Express response {@link swlExpressErrorHandler} uses. */
export interface SwlExpressResponse {
  /** True once the response's headers were sent: the problem can no longer be. */
  headersSent: boolean;
  /** Sets the status code (`res.status(404)`). */
  status(code: number): unknown;
  /** Sets several headers (`res.set({ ... })`). */
  set(fields: Record<string, string>): unknown;
  /** Sends the body, here a JSON string. */
  send(body: string): unknown;
}

/**
 * An Express error middleware (tested with Express 5): register it after the routes with
 * `app.use(swlExpressErrorHandler)`. It declares Express's four parameters, which is how Express
 * tells error middleware apart. Answers every error with an RFC 9457 problem
 * (`content-type: application/problem+json`): an `SwlError` with its status, code and details,
 * `Retry-After` (seconds) when retryable — see `toProblemDetails`. Client errors raised before the
 * route (an error that is not an `SwlError` but has a `statusCode` from 400 to 499, e.g.
 * `express.json()`'s 400 for a body that is not valid JSON) keep their status with a generic
 * `about:blank` problem whose `code` is `null`; anything else is a 500 `INTERNAL` problem with a
 * generic detail, never the error's message, stack or cause.
 *
 * If the response has already started (`res.headersSent`), it calls `next(err)` so Express closes
 * the connection. It logs nothing: put a logging error middleware before it (one that calls
 * `next(err)`).
 *
 * @param err - the error passed to `next(err)` or thrown (or rejected, in Express 5) by a handler.
 * @param _req - the request (unused).
 * @param res - the Express response; the problem is sent on it.
 * @param next - Express's `next`, called only when the headers were already sent.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { swlExpressErrorHandler } from 'swl-library/http';
 * const app = express();
 * app.use(express.json());
 * // … routes …
 * app.use(swlExpressErrorHandler);
 * ```
 */
export function swlExpressErrorHandler(
  err: unknown,
  _req: unknown,
  res: SwlExpressResponse,
  next: (err?: unknown) => void,
): void {
  if (res.headersSent) {
    next(err);
    return;
  }
  const problem = problemForHandler(err);
  res.status(problem.status);
  res.set(problem.headers);
  res.send(JSON.stringify(problem.body));
}
