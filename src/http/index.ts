/**
 * `swl-library/http`: the package's errors as RFC 9457 problem details
 * (`application/problem+json`), and ready error handlers for Fastify and Express; and every desk
 * command as an HTTP route (`SWL_ROUTES`: method, path, the path/query/body split of its input,
 * coercing schemas and JSON Schemas, `parseRouteInput`, `swlOpenApiPaths`). Neither framework is
 * imported: the handlers are typed by the few members they use.
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
export {
  callRoute,
  parseRouteInput,
  SWL_ROUTE_BY_NAME,
  SWL_ROUTES,
  type SwlOpenApiPaths,
  type SwlRoute,
  type SwlRouteLocation,
  type SwlRouteRequest,
  type SwlRouteService,
  type SwlRouteVerb,
  swlOpenApiPaths,
} from './routes.ts';
