/**
 * Every desk command and query as an HTTP route, as data: method, path, which input fields come
 * from the path, the query string or the JSON body, and the zod schemas that turn those wire forms
 * (strings in paths and query strings, date-only days) into a service input. A host registers the
 * rows generically and publishes their JSON Schemas (or {@link swlOpenApiPaths}) as OpenAPI.
 * Framework-free: no import of Fastify or Express. Source: issue 13 (input as it arrives over HTTP;
 * an HTTP example host).
 *
 * @module
 */
import { z } from 'zod';
import type { DeskServices } from '../desk.ts';
import type { Actor } from '../permissions.ts';
import { INPUT_SCHEMAS, type InputJsonSchema, type InputSchemaName } from '../schemas.ts';
import { DateOrInstantSchema, InstantSchema, parseInput } from '../validation.ts';
import { PROBLEM_CONTENT_TYPE } from './problem.ts';

/** The services of {@link DeskServices} that routes call, by their key in it. */
export type SwlRouteService = keyof DeskServices;

/** The HTTP methods the routes use. */
export type SwlRouteVerb = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Where a field of a route's input comes from. */
export type SwlRouteLocation = 'params' | 'query' | 'body';

/**
 * One route of {@link SWL_ROUTES}: a service method (`service`, `method`) reached by `http` on
 * `path`, its input ({@link INPUT_SCHEMAS}`[input]`) split over the path parameters and either the
 * query string (`GET`, `DELETE`) or the JSON body (`POST`, `PUT`, `PATCH`).
 *
 * The three schemas read the wire forms (see {@link parseRouteInput} for the rules) and are strict:
 * an unknown key is `VALIDATION_FAILED`. They check each field on its own; the rules across
 * fields (e.g. "exactly one of `copyId`/`catalogEntryId`", `from` before `to`) are the input
 * schema's, applied by {@link parseRouteInput} after merging.
 */
export interface SwlRoute {
  /** `service.method`, e.g. `'loans.approve'`; unique; also the OpenAPI `operationId`. */
  readonly name: string;
  /** The key of the service in {@link DeskServices} (`deskServices(orm)`), e.g. `'loans'`. */
  readonly service: SwlRouteService;
  /** The method of that service, called as `service[method](actor, input)`. */
  readonly method: string;
  /** HTTP method. */
  readonly http: SwlRouteVerb;
  /** Path in the `:name` syntax of Fastify and Express, e.g. `'/loans/:loanId/approve'`. */
  readonly path: string;
  /** Names of the path parameters, in path order (each is a field of the input). */
  readonly params: readonly string[];
  /** The name of the service's input schema in {@link INPUT_SCHEMAS}, e.g. `'ApproveLoanInput'`. */
  readonly input: InputSchemaName;
  /**
   * Status of a success: 201 for a command that creates a record (a catalog entry, a loan request,
   * a user, a visit, a booking, a hold), 200 otherwise. The body is the service's result as JSON.
   */
  readonly status: 200 | 201;
  /** Strict zod schema of the path parameters (strings, as routers give them). */
  readonly paramsSchema: z.ZodType;
  /**
   * Strict zod schema of the query string (strings): the input's other fields for `GET` and
   * `DELETE`; no key at all for the other methods.
   */
  readonly querySchema: z.ZodType;
  /**
   * Strict zod schema of the JSON body: the input's other fields for `POST`, `PUT` and `PATCH`; no
   * key at all for `GET` and `DELETE` (an absent body counts as `{}`).
   */
  readonly bodySchema: z.ZodType;
  /**
   * JSON Schemas (draft 2020-12, `io: 'input'`: what a client sends) of the path parameters, the
   * query string and the body, each an object schema with `additionalProperties: false`; deep-frozen.
   * Looser than the zod schemas in the same ways as `INPUT_JSON_SCHEMAS`.
   */
  readonly jsonSchemas: Readonly<Record<SwlRouteLocation, InputJsonSchema>>;
}

/**
 * The route table, as data: `[name, http, path, input, status]`. A path parameter is named like
 * the input field it carries. `users.authenticate` has no row: it takes no actor (sign-in is the
 * host's own route, e.g. `POST /session` in examples/http-host.ts).
 */
const TABLE: ReadonlyArray<readonly [string, SwlRouteVerb, string, InputSchemaName, (200 | 201)?]> = [
  // catalog (CatalogService)
  ['catalog.createEntry', 'POST', '/catalog/entries', 'CreateCatalogEntryInput', 201],
  ['catalog.search', 'GET', '/catalog/entries', 'SearchCatalogInput'],
  ['catalog.getEntry', 'GET', '/catalog/entries/:catalogEntryId', 'GetCatalogEntryInput'],
  ['catalog.updateEntry', 'PATCH', '/catalog/entries/:catalogEntryId', 'UpdateCatalogEntryInput'],
  ['catalog.withdrawEntry', 'POST', '/catalog/entries/:catalogEntryId/withdraw', 'WithdrawEntryInput'],
  ['catalog.addCopies', 'POST', '/catalog/entries/:catalogEntryId/copies', 'AddCopiesInput'],
  ['catalog.listCopies', 'GET', '/catalog/entries/:catalogEntryId/copies', 'ListCopiesInput'],
  ['catalog.getCopyByCode', 'GET', '/catalog/copies/by-code/:code', 'GetCopyByCodeInput'],
  ['catalog.copyHistory', 'GET', '/catalog/copies/:copyId/history', 'CopyHistoryInput'],
  ['catalog.sendToMaintenance', 'POST', '/catalog/copies/:copyId/maintenance', 'ChangeCopyStatusInput'],
  ['catalog.repair', 'POST', '/catalog/copies/:copyId/repair', 'ChangeCopyStatusInput'],
  ['catalog.markLost', 'POST', '/catalog/copies/:copyId/lost', 'ChangeCopyStatusInput'],
  ['catalog.markFound', 'POST', '/catalog/copies/:copyId/found', 'ChangeCopyStatusInput'],
  ['catalog.withdrawCopy', 'POST', '/catalog/copies/:copyId/withdraw', 'ChangeCopyStatusInput'],
  // loans (LoanService)
  ['loans.request', 'POST', '/loans', 'RequestLoanInput', 201],
  ['loans.listBorrowerLoans', 'GET', '/loans', 'ListBorrowerLoansInput'],
  ['loans.pendingQueue', 'GET', '/loans/pending', 'PendingQueueInput'],
  ['loans.overdueLoans', 'GET', '/loans/overdue', 'OverdueLoansInput'],
  ['loans.borrowerStanding', 'GET', '/loans/standing', 'BorrowerStandingInput'],
  ['loans.getLoan', 'GET', '/loans/:loanId', 'GetLoanInput'],
  ['loans.approve', 'POST', '/loans/:loanId/approve', 'ApproveLoanInput'],
  ['loans.reject', 'POST', '/loans/:loanId/reject', 'RejectLoanInput'],
  ['loans.cancel', 'POST', '/loans/:loanId/cancel', 'CancelLoanInput'],
  ['loans.renew', 'POST', '/loans/:loanId/renew', 'RenewLoanInput'],
  ['loans.return', 'POST', '/loans/:loanId/return', 'ReturnLoanInput'],
  ['loans.settlePenalty', 'POST', '/loans/:loanId/settle-penalty', 'SettlePenaltyInput'],
  // users (UserService)
  ['users.createUser', 'POST', '/users', 'CreateUserInput', 201],
  ['users.listUsers', 'GET', '/users', 'ListUsersInput'],
  ['users.changePassword', 'POST', '/users/password', 'ChangePasswordInput'],
  ['users.getUser', 'GET', '/users/:userId', 'UserIdInput'],
  ['users.updateUser', 'PATCH', '/users/:userId', 'UpdateUserInput'],
  ['users.changeRole', 'POST', '/users/:userId/role', 'ChangeRoleInput'],
  ['users.deactivate', 'POST', '/users/:userId/deactivate', 'UserIdInput'],
  ['users.reactivate', 'POST', '/users/:userId/reactivate', 'UserIdInput'],
  // visitor log (VisitorLogService)
  ['visitors.recordVisit', 'POST', '/visits', 'RecordVisitInput', 201],
  ['visitors.list', 'GET', '/visits', 'ListVisitsInput'],
  ['visitors.statistics', 'GET', '/visits/statistics', 'VisitStatisticsInput'],
  ['visitors.purge', 'POST', '/visits/purge', 'PurgeVisitsInput'],
  // lending policies (PolicyService)
  ['policies.list', 'GET', '/policies', 'ListLoanPoliciesInput'],
  ['policies.get', 'GET', '/policies/:category/:role', 'LoanPolicyKeyInput'],
  ['policies.upsert', 'PUT', '/policies/:category/:role', 'UpsertLoanPolicyInput'],
  ['policies.update', 'PATCH', '/policies/:category/:role', 'UpdateLoanPolicyInput'],
  ['policies.delete', 'DELETE', '/policies/:category/:role', 'LoanPolicyKeyInput'],
  // reservations (ReservationService); the static paths before `/reservations/:reservationId`
  ['reservations.reserve', 'POST', '/reservations', 'ReserveInput', 201],
  ['reservations.listReservations', 'GET', '/reservations', 'ListReservationsInput'],
  ['reservations.recordNoShows', 'POST', '/reservations/no-shows', 'RecordNoShowsInput'],
  ['reservations.getReservation', 'GET', '/reservations/:reservationId', 'GetReservationInput'],
  ['reservations.confirm', 'POST', '/reservations/:reservationId/confirm', 'ConfirmReservationInput'],
  ['reservations.cancel', 'POST', '/reservations/:reservationId/cancel', 'CancelReservationInput'],
  ['reservations.pickUp', 'POST', '/reservations/:reservationId/pick-up', 'PickUpReservationInput'],
  ['reservations.availability', 'GET', '/catalog/entries/:catalogEntryId/availability', 'AvailabilityInput'],
  ['reservations.listPolicies', 'GET', '/reservation-policies', 'ListReservationPoliciesInput'],
  [
    'reservations.upsertPolicy',
    'PUT',
    '/reservation-policies/:category/:role',
    'UpsertReservationPolicyInput',
  ],
  // holds (HoldService); the static paths before `/holds/:holdId`
  ['holds.placeHold', 'POST', '/holds', 'PlaceHoldInput', 201],
  ['holds.listHolds', 'GET', '/holds', 'ListHoldsInput'],
  ['holds.expireHolds', 'POST', '/holds/expiries', 'ExpireHoldsInput'],
  ['holds.getHold', 'GET', '/holds/:holdId', 'GetHoldInput'],
  ['holds.cancelHold', 'POST', '/holds/:holdId/cancel', 'CancelHoldInput'],
  ['holds.fulfillHold', 'POST', '/holds/:holdId/fulfill', 'FulfillHoldInput'],
  ['holds.holdQueue', 'GET', '/catalog/entries/:catalogEntryId/holds', 'HoldQueueInput'],
  // reports (ReportService), read-only
  ['reports.overdueByBorrower', 'GET', '/reports/overdue', 'OverdueByBorrowerInput'],
  ['reports.availability', 'GET', '/reports/availability', 'AvailabilityReportInput'],
  ['reports.loansPerMonth', 'GET', '/reports/loans-per-month', 'LoansPerMonthInput'],
  ['reports.visits', 'GET', '/reports/visits', 'VisitStatisticsInput'],
  ['reports.topBorrowed', 'GET', '/reports/top-borrowed', 'TopBorrowedInput'],
  ['reports.copiesOutOfService', 'GET', '/reports/copies-out-of-service', 'CopiesOutOfServiceInput'],
  // notices (NoticeService)
  ['notices.listRules', 'GET', '/notice-rules', 'ListNoticeRulesInput'],
  ['notices.upsertRule', 'PUT', '/notice-rules', 'UpsertNoticeRuleInput'],
  ['notices.removeRule', 'DELETE', '/notice-rules/:ruleId', 'RemoveNoticeRuleInput'],
  ['notices.due', 'GET', '/notices/due', 'DueNoticesInput'],
  ['notices.claim', 'POST', '/notices/claim', 'ClaimNoticesInput'],
  ['notices.markSent', 'POST', '/notices/digests/:digestId/sent', 'MarkSentInput'],
  ['notices.markFailed', 'POST', '/notices/digests/:digestId/failed', 'MarkFailedInput'],
  ['notices.listNotices', 'GET', '/notices', 'ListNoticesInput'],
];

// ---------------------------------------------------------------------------------------------
// Wire forms of a field
// ---------------------------------------------------------------------------------------------

/** Digits only, no sign, no leading zero, no blank, no exponent or decimal point. */
const INTEGER_TEXT = /^(?:0|[1-9][0-9]*)$/;

/**
 * An instant as a string: a date-only `YYYY-MM-DD` (the start of that day, UTC) or an ISO 8601
 * date-time with an offset or `Z`; output a `Date` ({@link DateOrInstantSchema}).
 */
const WireInstant = z
  .union([z.iso.date(), z.iso.datetime({ offset: true })])
  .pipe(DateOrInstantSchema as z.ZodType<Date, string>);

/** `field`, typed as taking the values a wire conversion outputs (zod checks them at run time). */
const taking = <T>(field: z.ZodType) => field as z.ZodType<unknown, T>;

/** What a field's values are, under its `optional`/`nullable`/`default` wrappers. */
type FieldKind = 'integer' | 'boolean' | 'instant' | 'array' | 'other';

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'nonoptional', 'catch']);

function kindOf(field: z.ZodType): FieldKind {
  let schema: z.ZodType = field;
  for (;;) {
    if (schema === InstantSchema) return 'instant';
    const def = schema._zod.def as { type: string; innerType?: z.ZodType };
    if (def.type === 'number') return 'integer';
    if (def.type === 'boolean') return 'boolean';
    if (def.type === 'array') return 'array';
    if (!WRAPPERS.has(def.type) || !def.innerType) return 'other';
    schema = def.innerType;
  }
}

/** The schema of an array field's items, under its wrappers (the field is of kind `'array'`). */
function itemOf(field: z.ZodType): z.ZodType {
  let schema: z.ZodType = field;
  for (;;) {
    const def = schema._zod.def as { type: string; innerType?: z.ZodType; element?: z.ZodType };
    if (def.type === 'array') return def.element as z.ZodType;
    schema = def.innerType as z.ZodType;
  }
}

/** Whether the field may be left out (`undefined` passes it: optional, nullish or defaulted). */
const omittable = (field: z.ZodType) => field.safeParse(undefined).success;

/**
 * The field as it comes in a path or a query string: a string converted to the field's type, then
 * checked by the field's own schema (so its bounds and messages apply, at the field's path). A list
 * field (e.g. `statuses`) takes one value or a repeated key (`?statuses=a&statuses=b`, which
 * routers give as an array of strings), each item converted like a field of the item's type.
 */
function fromText(field: z.ZodType): z.ZodType {
  const kind = kindOf(field);
  const wire =
    kind === 'integer'
      ? z
          .string()
          .regex(INTEGER_TEXT, {
            message: 'must be an integer written in digits (no sign, spaces or exponent)',
          })
          .transform(Number)
          .pipe(taking<number>(field))
      : kind === 'boolean'
        ? z
            .enum(['true', 'false'], { message: "must be 'true' or 'false'" })
            .transform((v) => v === 'true')
            .pipe(taking<boolean>(field))
        : kind === 'instant'
          ? WireInstant.pipe(taking<Date>(field))
          : kind === 'array'
            ? z
                .union([z.string(), z.array(z.string())])
                .transform((v) => (typeof v === 'string' ? [v] : v))
                .pipe(taking<string[]>(z.array(fromText(itemOf(field)))))
                .pipe(taking<unknown[]>(field))
            : field;
  return wire === field || !omittable(field) ? wire : wire.optional();
}

/** The field as it comes in a JSON body: as is, except that an instant may also be date-only. */
function fromJson(field: z.ZodType): z.ZodType {
  if (kindOf(field) !== 'instant') return field;
  const wire = WireInstant.pipe(taking<Date>(field));
  return omittable(field) ? wire.optional() : wire;
}

// ---------------------------------------------------------------------------------------------
// Deriving the rows
// ---------------------------------------------------------------------------------------------

/** The fields of an input schema (every input is a zod object, refined or not). */
function shapeOf(input: InputSchemaName): Record<string, z.ZodType> {
  const schema = INPUT_SCHEMAS[input] as unknown as { shape?: Record<string, z.ZodType> };
  if (!schema.shape) throw new Error(`${input} is not an object schema`);
  return schema.shape;
}

function pick(
  shape: Record<string, z.ZodType>,
  keys: readonly string[],
  wire: (field: z.ZodType) => z.ZodType,
): z.ZodType {
  const picked: Record<string, z.ZodType> = {};
  for (const key of keys) {
    const field = shape[key];
    if (!field) throw new Error(`no field ${key}`);
    picked[key] = wire(field);
  }
  return z.strictObject(picked);
}

/** Deep-freezes a generated schema, so one host module cannot change what another reads. */
function frozen<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) frozen(inner);
    Object.freeze(value);
  }
  return value;
}

const jsonSchemaOf = (schema: z.ZodType): InputJsonSchema =>
  z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });

const NONE = z.strictObject({});

function route([name, http, path, input, status = 200]: (typeof TABLE)[number]): SwlRoute {
  const [service, method] = name.split('.') as [SwlRouteService, string];
  const params = [...path.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1] as string);
  const shape = shapeOf(input);
  const rest = Object.keys(shape).filter((key) => !params.includes(key));
  const inQuery = http === 'GET' || http === 'DELETE';
  const paramsSchema = pick(shape, params, fromText);
  const querySchema = inQuery ? pick(shape, rest, fromText) : NONE;
  const bodySchema = inQuery ? NONE : pick(shape, rest, fromJson);
  return Object.freeze({
    name,
    service,
    method,
    http,
    path,
    params: Object.freeze(params),
    input,
    status,
    paramsSchema,
    querySchema,
    bodySchema,
    jsonSchemas: frozen({
      params: jsonSchemaOf(paramsSchema),
      query: jsonSchemaOf(querySchema),
      body: jsonSchemaOf(bodySchema),
    }),
  });
}

/**
 * Every service method a desk transport exposes, one row each ({@link SwlRoute}): the methods of
 * `CatalogService`, `LoanService`, `UserService`, `VisitorLogService`, `PolicyService`,
 * `ReservationService`, `HoldService` and `ReportService` that take an actor and an input (all but
 * `UserService.authenticate`, which is the host's sign-in).
 *
 * Paths are resource-shaped (`/catalog/entries`, `/catalog/copies/:copyId/…`, `/loans`,
 * `/loans/:loanId/approve`, `/users`, `/visits`, `/policies/:category/:role`, `/reservations`,
 * `/reservations/:reservationId/confirm`, `/catalog/entries/:catalogEntryId/availability`,
 * `/reservation-policies/:category/:role`, `/holds`, `/holds/:holdId/fulfill`,
 * `/catalog/entries/:catalogEntryId/holds`, `/reports/overdue`); a field named in the path is a path parameter, and the
 * input's other fields are the query string of a `GET` or `DELETE` and the JSON body of a `POST`,
 * `PUT` or `PATCH`. Rows with a static path come before a parameter in the same place
 * (`/loans/pending` before `/loans/:loanId`), for routers that match in
 * registration order (Express). Every field keeps its service
 * meaning and units: ids are positive 32-bit integers (1..2³¹−1), money is in minor units,
 * instants are UTC.
 *
 * A host registers each row on its router, reads the actor from its own authentication, turns the
 * request into the input with {@link parseRouteInput}, calls {@link callRoute} and answers
 * `route.status` with the result as JSON; errors go to `swlFastifyErrorHandler` /
 * `swlExpressErrorHandler` (RFC 9457 problems). See examples/http-host.ts. Frozen. Source: issue 13.
 */
export const SWL_ROUTES: readonly SwlRoute[] = Object.freeze(TABLE.map(route));

/** The rows of {@link SWL_ROUTES} by name, e.g. `SWL_ROUTE_BY_NAME['loans.approve']`. */
export const SWL_ROUTE_BY_NAME: Readonly<Record<string, SwlRoute>> = Object.freeze(
  Object.fromEntries(SWL_ROUTES.map((r) => [r.name, r])),
);

// ---------------------------------------------------------------------------------------------
// Parsing a request
// ---------------------------------------------------------------------------------------------

/** The parts of an HTTP request that {@link parseRouteInput} reads, as a router hands them over. */
export interface SwlRouteRequest {
  /** Path parameters by name (strings); `undefined` counts as `{}`. */
  params?: unknown;
  /**
   * The parsed query string (strings; a repeated key's array is refused, except for a list field
   * such as `statuses`); `undefined` counts as `{}`.
   */
  query?: unknown;
  /** The parsed JSON body; `undefined` or `null` (no body) counts as `{}`. */
  body?: unknown;
}

/** The whole request of a route, checked part by part, then merged and checked by the input schema. */
function requestSchemaOf(route: SwlRoute): z.ZodType {
  const shape = shapeOf(route.input);
  const input = INPUT_SCHEMAS[route.input];
  const located = (key: PropertyKey | undefined): SwlRouteLocation =>
    typeof key === 'string' && route.params.includes(key)
      ? 'params'
      : route.querySchema === NONE
        ? 'body'
        : 'query';
  // A body may repeat a path parameter (a client that sends the whole input): read here with the
  // field's own schema, compared with the path's value below.
  const body =
    route.bodySchema === NONE
      ? NONE
      : (route.bodySchema as z.ZodObject).extend(
          Object.fromEntries(route.params.map((key) => [key, (shape[key] as z.ZodType).optional()])),
        );
  return z
    .strictObject({
      params: route.paramsSchema,
      query: route.querySchema,
      body: z.preprocess((value) => value ?? {}, body),
    })
    .transform((parts, ctx) => {
      const params = parts.params as Record<string, unknown>;
      const fields: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(parts.body as Record<string, unknown>)) {
        if (!route.params.includes(key)) fields[key] = value;
        else if (value !== undefined && value !== params[key]) {
          ctx.issues.push({
            code: 'custom',
            message: `must be left out or equal the path parameter ${key}`,
            path: ['body', key],
            input: value,
          });
        }
      }
      if (ctx.issues.length > 0) return z.NEVER;
      const merged = { ...(parts.query as object), ...fields, ...params };
      const checked = input.safeParse(merged);
      if (checked.success) return checked.data as Record<string, unknown>;
      for (const issue of checked.error.issues) {
        const path = issue.path.length === 0 ? [] : [located(issue.path[0]), ...issue.path];
        ctx.issues.push({ ...issue, path, input: undefined });
      }
      return z.NEVER;
    });
}

const REQUEST_SCHEMAS = new WeakMap<SwlRoute, z.ZodType>();

/**
 * Turns one HTTP request of `route` into the service input: path parameters, query string and body
 * are each read with the route's schema, merged, and checked with the input's own schema
 * ({@link INPUT_SCHEMAS}`[route.input]`). Wire forms:
 *
 * - **path parameters and query string** are strings: an integer field (ids — positive 32-bit —,
 *   `limit`, `offset`, counts, money in minor units) takes digits only (`'7'`; `''`, `' 7'`,
 *   `'+7'`, `'1.5'`, `'1e3'`, `'0x1f'` are refused), a boolean field `'true'` or `'false'`, an
 *   instant field a date-only `YYYY-MM-DD` or an ISO 8601 date-time with an offset or `Z`; text
 *   and enum fields as sent. A repeated query key (an array) is refused, except for a list field
 *   (`statuses` of `reservations.listReservations` and `holds.listHolds`), which takes one value
 *   or a repeated key;
 * - **JSON body**: the fields as the service takes them (ids as JSON numbers), except that an
 *   instant field also takes a date-only `YYYY-MM-DD`;
 * - a **date-only** value means the start of that day in UTC (`'2026-03-09'` →
 *   `2026-03-09T00:00:00.000Z`, {@link DateOrInstantSchema}), in the query string and in the body;
 * - a body that **repeats a path parameter** is accepted when it has the same value (compared after
 *   parsing: `{ "loanId": 5 }` on `/loans/5/approve`) and refused otherwise — the path names the
 *   resource, and a body naming another one is a client error, never silently overridden;
 * - unknown keys are refused in each part, as the strict input schemas refuse them.
 *
 * @param route - a row of {@link SWL_ROUTES}.
 * @param request - `{ params, query, body }` as the router parsed them ({@link SwlRouteRequest}).
 * @returns the parsed service input (defaults applied, text trimmed, instants as `Date` in UTC),
 *   ready for {@link callRoute}; the service parses it again and gets the same value.
 * @throws SwlError `VALIDATION_FAILED` (HTTP 400) with `details.issues`
 *   `[{ path, code, message }]`, each `path` starting with where the field was —
 *   `['params', 'loanId']`, `['query', 'limit']`, `['body', 'dueDate']` — or `[]` for a rule on the
 *   whole input. Never any other error (see `parseInput`). Source: issue 13; RFC 9457 for how a
 *   host sends it.
 *
 * @example
 * ```ts
 * const route = SWL_ROUTE_BY_NAME['loans.approve'];
 * parseRouteInput(route, { params: { loanId: '5' }, body: { dueDate: '2026-03-09' } });
 * // → { loanId: 5, dueDate: new Date('2026-03-09T00:00:00.000Z') }
 * ```
 */
export function parseRouteInput(route: SwlRoute, request: SwlRouteRequest): Record<string, unknown> {
  let schema = REQUEST_SCHEMAS.get(route);
  if (!schema) {
    schema = requestSchemaOf(route);
    REQUEST_SCHEMAS.set(route, schema);
  }
  return parseInput(schema, {
    params: request.params ?? {},
    query: request.query ?? {},
    body: request.body,
  }) as Record<string, unknown>;
}

/**
 * Calls the route's service method: `services[route.service][route.method](actor, input)`.
 *
 * @param services - the request's services: `deskServices(orm)` ({@link DeskServices}), one per
 *   request (typed by its keys only, so any copy of the package's classes fits).
 * @param route - a row of {@link SWL_ROUTES}.
 * @param actor - the authenticated acting user `{ id, role }` (the host's session decides it).
 * @param input - the input, from {@link parseRouteInput}.
 * @returns what the service method returns (a view, a page `{ items, total, limit, offset }`, …).
 * @throws whatever the service method throws: SwlError codes (`FORBIDDEN`, `NOT_FOUND`,
 *   `VALIDATION_FAILED`, `CONFLICT`, …), each documented on the method.
 */
export function callRoute(
  services: Readonly<Record<SwlRouteService, object>>,
  route: SwlRoute,
  actor: Actor,
  input: Readonly<Record<string, unknown>>,
): Promise<unknown> {
  const service = services[route.service] as unknown as Record<
    string,
    (actor: Actor, input: unknown) => Promise<unknown>
  >;
  const method = service[route.method];
  if (typeof method !== 'function') throw new Error(`${route.name} is not a service method`);
  return method.call(service, actor, input);
}

// ---------------------------------------------------------------------------------------------
// OpenAPI
// ---------------------------------------------------------------------------------------------

/** An OpenAPI 3.1 `paths` object, as {@link swlOpenApiPaths} builds it (plain JSON). */
export type SwlOpenApiPaths = Record<string, Record<string, Record<string, unknown>>>;

/** JSON Schema of an RFC 9457 problem as the package's error handlers send it. */
const PROBLEM_JSON_SCHEMA = {
  type: 'object',
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: ['string', 'null'] },
    details: { type: 'object' },
  },
  required: ['type', 'title', 'status', 'detail', 'code', 'details'],
} as const;

function withoutDialect(schema: InputJsonSchema): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = schema as Record<string, unknown>;
  return rest;
}

/**
 * A minimal OpenAPI 3.1 `paths` object for {@link SWL_ROUTES}: per route its `operationId`
 * (`route.name`), `tags` (`[route.service]`), path and query `parameters` with their JSON Schemas,
 * the `application/json` `requestBody` of a `POST`/`PUT`/`PATCH`, the success response
 * (`route.status`) and a `default` response of `application/problem+json` (RFC 9457). Paths use
 * OpenAPI's `{name}` syntax. Security schemes, response bodies and `components` are the host's to
 * add. A new object on every call; throws nothing.
 *
 * @param routes - the routes to describe (default all of {@link SWL_ROUTES}).
 * @returns `{ '/loans/{loanId}/approve': { post: { … } }, … }`, to put under `paths` of an
 *   OpenAPI 3.1 document.
 */
export function swlOpenApiPaths(routes: readonly SwlRoute[] = SWL_ROUTES): SwlOpenApiPaths {
  const paths: SwlOpenApiPaths = {};
  for (const r of routes) {
    const path = r.path.replace(/:([A-Za-z]+)/g, '{$1}');
    const parameters: Record<string, unknown>[] = [];
    for (const where of ['params', 'query'] as const) {
      const json = r.jsonSchemas[where] as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, schema] of Object.entries(json.properties ?? {})) {
        parameters.push({
          name,
          in: where === 'params' ? 'path' : 'query',
          required: where === 'params' || (json.required ?? []).includes(name),
          schema,
        });
      }
    }
    const hasBody = r.http !== 'GET' && r.http !== 'DELETE';
    const operation: Record<string, unknown> = {
      operationId: r.name,
      tags: [r.service],
      parameters,
      responses: {
        [String(r.status)]: { description: `${r.name} succeeded`, content: { 'application/json': {} } },
        default: {
          description: 'an RFC 9457 problem',
          content: { [PROBLEM_CONTENT_TYPE]: { schema: PROBLEM_JSON_SCHEMA } },
        },
      },
    };
    if (hasBody) {
      operation.requestBody = {
        required: false,
        content: { 'application/json': { schema: withoutDialect(r.jsonSchemas.body) } },
      };
    }
    paths[path] ??= {};
    paths[path][r.http.toLowerCase()] = operation;
  }
  return paths;
}
