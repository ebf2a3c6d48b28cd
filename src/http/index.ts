/**
 * `swl-library/http`: the package's errors as RFC 9457 problem details
 * (`application/problem+json`), and ready error handlers for Fastify and Express. Neither
 * framework is imported: the handlers are typed by the few members they use.
 *
 * @module
 */
export { type SwlExpressResponse, swlExpressErrorHandler } from './express.ts';
export { type SwlFastifyReply, type SwlFastifyRequest, swlFastifyErrorHandler } from './fastify.ts';
export {
  PROBLEM_CONTENT_TYPE,
  type Problem,
  type ProblemDetails,
  RETRY_AFTER_SECONDS,
  SWL_PROBLEM_TITLES,
  SWL_PROBLEM_TYPES,
  toProblemDetails,
} from './problem.ts';
