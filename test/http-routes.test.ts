/**
 * `SWL_ROUTES` and `parseRouteInput` (src/http/routes.ts), without a database: the table against
 * the services' own public methods and input schemas, and the wire forms — strings to integers and
 * booleans, date-only days to the start of the day UTC, refusals as `VALIDATION_FAILED` with the
 * field's location and path, unknown keys refused. Source: issue 13.
 */
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { CatalogService } from '../src/catalog/catalog.service.ts';
import type { DeskServices } from '../src/desk.ts';
import { SwlError } from '../src/errors.ts';
import { HoldService } from '../src/holds/hold.service.ts';
import {
  callRoute,
  parseRouteInput,
  SWL_ROUTE_BY_NAME,
  SWL_ROUTES,
  type SwlRoute,
  type SwlRouteRequest,
  swlOpenApiPaths,
} from '../src/http/index.ts';
import { LoanService } from '../src/loans/loan.service.ts';
import { NoticeService } from '../src/notices/notice.service.ts';
import { PolicyService } from '../src/policies/policy.service.ts';
import { ReportService } from '../src/reports/report.service.ts';
import { ReservationService } from '../src/reservations/reservation.service.ts';
import { INPUT_SCHEMAS } from '../src/schemas.ts';
import { UserService } from '../src/users/user.service.ts';
import { VisitorLogService } from '../src/visitors/visitor-log.service.ts';
import { expectSwlError, publicMethods } from './support/fixtures.ts';

/** The service classes by their key in `deskServices(orm)`. */
const DESK_SERVICES = {
  catalog: CatalogService,
  loans: LoanService,
  users: UserService,
  visitors: VisitorLogService,
  policies: PolicyService,
  reservations: ReservationService,
  holds: HoldService,
  reports: ReportService,
  notices: NoticeService,
} as const satisfies { [K in keyof DeskServices]: abstract new (...args: never[]) => DeskServices[K] };

/** Public methods with no route, and why. */
const UNROUTED: Readonly<Record<string, string>> = {
  'users.authenticate': 'takes no actor: sign-in is the host route POST /session',
};

const route = (name: string): SwlRoute => {
  const found = SWL_ROUTE_BY_NAME[name];
  if (!found) throw new Error(`no route ${name}`);
  return found;
};

const shapeKeys = (r: SwlRoute) =>
  Object.keys((INPUT_SCHEMAS[r.input] as unknown as { shape: Record<string, z.ZodType> }).shape).sort();
const keysOf = (schema: z.ZodType) =>
  Object.keys((schema as unknown as { shape: Record<string, z.ZodType> }).shape);

/** The issues of the VALIDATION_FAILED that parsing `request` for `name` throws. */
async function refusal(name: string, request: SwlRouteRequest) {
  const error = await expectSwlError(() => parseRouteInput(route(name), request), 'VALIDATION_FAILED', name);
  return error.details.issues as { path: string[]; code: string; message: string }[];
}

describe('the route table', () => {
  it('routes every public method of the desk services that takes an actor, once', () => {
    const expected: string[] = [];
    for (const [key, service] of Object.entries(DESK_SERVICES)) {
      for (const method of publicMethods(service)) {
        const name = `${key}.${method}`;
        if (!(name in UNROUTED)) expected.push(name);
      }
    }
    expect(SWL_ROUTES.map((r) => r.name).sort()).toEqual(expected.sort());
    for (const name of Object.keys(UNROUTED)) expect(SWL_ROUTE_BY_NAME[name]).toBeUndefined();
  });

  it('names each row service.method, and each method exists on its service', () => {
    for (const r of SWL_ROUTES) {
      expect(r.name).toBe(`${r.service}.${r.method}`);
      expect(typeof DESK_SERVICES[r.service].prototype[r.method as never], r.name).toBe('function');
    }
  });

  it('has one row per HTTP method and path, with the path parameters in the path', () => {
    const seen = new Set(SWL_ROUTES.map((r) => `${r.http} ${r.path}`));
    expect(seen.size).toBe(SWL_ROUTES.length);
    for (const r of SWL_ROUTES) {
      expect(r.path.split('/').filter((s) => s.startsWith(':'))).toEqual(r.params.map((p) => `:${p}`));
    }
  });

  it('splits each input exactly: path parameters + query or body = the keys of its input schema', () => {
    for (const r of SWL_ROUTES) {
      const params = keysOf(r.paramsSchema);
      const query = keysOf(r.querySchema);
      const body = keysOf(r.bodySchema);
      expect(params, r.name).toEqual(r.params);
      expect([...params, ...query, ...body].sort(), r.name).toEqual(shapeKeys(r));
      if (r.http === 'GET' || r.http === 'DELETE') expect(body, r.name).toEqual([]);
      else expect(query, r.name).toEqual([]);
    }
  });

  it('answers 201 for the commands that create a record and 200 otherwise', () => {
    expect(
      SWL_ROUTES.filter((r) => r.status === 201)
        .map((r) => r.name)
        .sort(),
    ).toEqual([
      'catalog.createEntry',
      'holds.placeHold',
      'loans.request',
      'reservations.reserve',
      'users.createUser',
      'visitors.recordVisit',
    ]);
  });

  it('is frozen', () => {
    expect(Object.isFrozen(SWL_ROUTES)).toBe(true);
    expect(Object.isFrozen(route('loans.approve'))).toBe(true);
    expect(Object.isFrozen(route('loans.approve').jsonSchemas.body)).toBe(true);
  });
});

describe('parseRouteInput: path parameters', () => {
  it('reads a digits-only id as a number', () => {
    expect(parseRouteInput(route('loans.approve'), { params: { loanId: '7' } })).toEqual({ loanId: 7 });
    expect(parseRouteInput(route('loans.getLoan'), { params: { loanId: '2147483647' } })).toEqual({
      loanId: 2_147_483_647,
    });
  });

  it.each(['', ' 7', '7 ', '+7', '-7', '1.5', '1e3', '0x1f', '007', 'abc'])(
    'refuses the id %j as not digits, at params.loanId',
    async (loanId) => {
      const issues = await refusal('loans.approve', { params: { loanId } });
      expect(issues).toEqual([
        expect.objectContaining({ path: ['params', 'loanId'], code: 'invalid_format' }),
      ]);
    },
  );

  it.each(['0', '2147483648', '99999999999999999999'])(
    'refuses the id %s as out of range',
    async (loanId) => {
      const issues = await refusal('loans.approve', { params: { loanId } });
      expect(issues.length).toBeGreaterThan(0);
      for (const issue of issues) {
        expect(issue.path).toEqual(['params', 'loanId']);
        expect(['too_small', 'too_big']).toContain(issue.code);
      }
    },
  );

  it('refuses a number where the router gives strings, and a missing parameter', async () => {
    expect((await refusal('loans.approve', { params: { loanId: 7 } }))[0]?.path).toEqual([
      'params',
      'loanId',
    ]);
    expect((await refusal('loans.approve', { params: {} }))[0]?.path).toEqual(['params', 'loanId']);
  });

  it('takes text and enum parameters as sent, through the field schema', () => {
    expect(parseRouteInput(route('catalog.getCopyByCode'), { params: { code: 'tst-1-1' } })).toEqual({
      code: 'TST-1-1',
    });
    expect(
      parseRouteInput(route('policies.get'), { params: { category: 'general', role: 'student' } }),
    ).toEqual({ category: 'general', role: 'student' });
  });
});

describe('parseRouteInput: query strings', () => {
  it('reads integers and booleans from strings, and applies the defaults', () => {
    expect(
      parseRouteInput(route('users.listUsers'), { query: { limit: '5', offset: '0', active: 'false' } }),
    ).toEqual({
      limit: 5,
      offset: 0,
      active: false,
    });
    expect(parseRouteInput(route('loans.pendingQueue'), {})).toEqual({ limit: 50, offset: 0 });
  });

  it('reads a date-only instant as the start of that day, UTC, and keeps a date-time with an offset', () => {
    expect(parseRouteInput(route('loans.overdueLoans'), { query: { asOf: '2026-03-01' } })).toMatchObject({
      asOf: new Date('2026-03-01T00:00:00.000Z'),
    });
    expect(
      parseRouteInput(route('loans.overdueLoans'), { query: { asOf: '2026-03-01T10:00:00+02:00' } }),
    ).toMatchObject({ asOf: new Date('2026-03-01T08:00:00.000Z') });
  });

  it.each([
    ['limit', '1.5'],
    ['limit', ''],
    ['limit', '501'],
    ['limit', ['1', '2']],
    ['offset', '-1'],
    ['asOf', '2026-02-30'],
    ['asOf', '2026-03-01T10:00:00'],
    ['asOf', '01/03/2026'],
  ])('refuses %s=%j at query.%s', async (key, value) => {
    const issues = await refusal('loans.overdueLoans', { query: { [key]: value } });
    expect(issues.map((i) => i.path)).toEqual([['query', key]]);
  });

  it("refuses a boolean that is not 'true' or 'false'", async () => {
    const issues = await refusal('users.listUsers', { query: { active: 'yes' } });
    expect(issues).toEqual([expect.objectContaining({ path: ['query', 'active'] })]);
  });

  it('refuses unknown keys, and any query string on a route that takes a body', async () => {
    expect(await refusal('loans.pendingQueue', { query: { sort: 'id' } })).toEqual([
      expect.objectContaining({ path: ['query'], code: 'unrecognized_keys' }),
    ]);
    expect(await refusal('loans.renew', { params: { loanId: '1' }, query: { loanId: '1' } })).toEqual([
      expect.objectContaining({ path: ['query'], code: 'unrecognized_keys' }),
    ]);
  });

  it('accepts the object with a null prototype some query parsers build', () => {
    const query = Object.assign(Object.create(null), { limit: '3' });
    expect(parseRouteInput(route('loans.pendingQueue'), { query })).toEqual({ limit: 3, offset: 0 });
  });
});

describe('parseRouteInput: JSON bodies', () => {
  it('merges path parameters and body, reading a date-only due date as the start of that day, UTC', () => {
    expect(
      parseRouteInput(route('loans.approve'), {
        params: { loanId: '5' },
        body: { copyId: 9, dueDate: '2026-03-09' },
      }),
    ).toEqual({ loanId: 5, copyId: 9, dueDate: new Date('2026-03-09T00:00:00.000Z') });
    expect(
      parseRouteInput(route('loans.request'), {
        body: { catalogEntryId: 3, requestedDueDate: '2026-03-05' },
      }),
    ).toMatchObject({ catalogEntryId: 3, requestedDueDate: new Date('2026-03-05T00:00:00.000Z') });
  });

  it('takes an absent or null body as {}', () => {
    for (const body of [undefined, null]) {
      expect(parseRouteInput(route('loans.renew'), { params: { loanId: '4' }, body })).toEqual({ loanId: 4 });
    }
  });

  it('accepts a body repeating a path parameter with the same value, and refuses another value', async () => {
    expect(parseRouteInput(route('loans.renew'), { params: { loanId: '4' }, body: { loanId: 4 } })).toEqual({
      loanId: 4,
    });
    expect(await refusal('loans.renew', { params: { loanId: '4' }, body: { loanId: 5 } })).toEqual([
      expect.objectContaining({ path: ['body', 'loanId'] }),
    ]);
    expect(await refusal('loans.renew', { params: { loanId: '4' }, body: { loanId: '4' } })).toEqual([
      expect.objectContaining({ path: ['body', 'loanId'] }),
    ]);
    expect(
      await refusal('policies.update', {
        params: { category: 'general', role: 'student' },
        body: { role: 'teacher', maxRenewals: 2 },
      }),
    ).toEqual([expect.objectContaining({ path: ['body', 'role'] })]);
  });

  it('keeps ids as JSON numbers in a body: a string id is refused at its field', async () => {
    expect(await refusal('loans.approve', { params: { loanId: '5' }, body: { copyId: '9' } })).toEqual([
      expect.objectContaining({ path: ['body', 'copyId'], code: 'invalid_type' }),
    ]);
  });

  it('refuses unknown keys, a body that is not an object, and a body on a GET', async () => {
    expect(await refusal('loans.renew', { params: { loanId: '4' }, body: { reason: 'x' } })).toEqual([
      expect.objectContaining({ path: ['body'], code: 'unrecognized_keys' }),
    ]);
    expect((await refusal('loans.renew', { params: { loanId: '4' }, body: [1] }))[0]?.path).toEqual(['body']);
    expect((await refusal('loans.renew', { params: { loanId: '4' }, body: 'x' }))[0]?.path).toEqual(['body']);
    expect(await refusal('loans.getLoan', { params: { loanId: '4' }, body: { loanId: 4 } })).toEqual([
      expect.objectContaining({ path: ['body'], code: 'unrecognized_keys' }),
    ]);
  });

  it('applies the rules across fields after merging, at the field they name (or [] for the whole input)', async () => {
    expect(await refusal('loans.request', { body: { environment: 'Aula 1' } })).toEqual([
      expect.objectContaining({
        path: ['body', 'copyId'],
        message: 'name exactly one of copyId or catalogEntryId',
      }),
    ]);
    expect(await refusal('visitors.list', { query: { from: '2026-03-02', to: '2026-03-01' } })).toEqual([
      expect.objectContaining({ path: ['query', 'to'] }),
    ]);
    expect(await refusal('catalog.updateEntry', { params: { catalogEntryId: '3' }, body: {} })).toEqual([
      expect.objectContaining({ path: [], message: 'name at least one field to change' }),
    ]);
  });

  it('turns a body that throws when read into VALIDATION_FAILED, never another error', async () => {
    const body = {
      get titleOrName(): string {
        throw new Error('hostile getter');
      },
    };
    const error = await expectSwlError(
      () => parseRouteInput(route('catalog.createEntry'), { body }),
      'VALIDATION_FAILED',
    );
    expect(error).toBeInstanceOf(SwlError);
  });

  it('returns an input the input schema reads back unchanged', () => {
    const cases: [string, SwlRouteRequest][] = [
      ['loans.return', { params: { loanId: '2' }, body: { outcome: 'damaged', condition: ' scratched ' } }],
      ['catalog.createEntry', { body: { titleOrName: ' Kit ', category: 'premium', copies: 2 } }],
      ['users.createUser', { body: { documentId: '123', fullName: 'Ana', email: ' ANA@X.CO ' } }],
      ['visitors.statistics', { query: { from: '2026-03-01', to: '2026-03-08', groupBy: 'day' } }],
    ];
    for (const [name, request] of cases) {
      const r = route(name);
      const input = parseRouteInput(r, request);
      expect(INPUT_SCHEMAS[r.input].parse(input), name).toEqual(input);
    }
  });
});

describe('reservation routes', () => {
  it('puts each reservation method on its path, its ids in the path and the rest in the query or body', () => {
    const rows = SWL_ROUTES.filter((r) => r.service === 'reservations').map((r) => [
      r.name,
      `${r.http} ${r.path}`,
      r.status,
      keysOf(r.querySchema).sort(),
      keysOf(r.bodySchema).sort(),
    ]);
    expect(rows).toEqual([
      [
        'reservations.reserve',
        'POST /reservations',
        201,
        [],
        [
          'borrowerId',
          'catalogEntryId',
          'copyId',
          'endsAt',
          'environment',
          'idempotencyKey',
          'note',
          'quantity',
          'startsAt',
        ],
      ],
      [
        'reservations.listReservations',
        'GET /reservations',
        200,
        ['borrowerId', 'catalogEntryId', 'limit', 'offset', 'statuses'],
        [],
      ],
      ['reservations.recordNoShows', 'POST /reservations/no-shows', 200, [], ['limit']],
      ['reservations.getReservation', 'GET /reservations/:reservationId', 200, [], []],
      ['reservations.confirm', 'POST /reservations/:reservationId/confirm', 200, [], ['idempotencyKey']],
      [
        'reservations.cancel',
        'POST /reservations/:reservationId/cancel',
        200,
        [],
        ['idempotencyKey', 'reason'],
      ],
      [
        'reservations.pickUp',
        'POST /reservations/:reservationId/pick-up',
        200,
        [],
        ['copyIds', 'idempotencyKey'],
      ],
      [
        'reservations.availability',
        'GET /catalog/entries/:catalogEntryId/availability',
        200,
        ['from', 'to'],
        [],
      ],
      ['reservations.listPolicies', 'GET /reservation-policies', 200, ['category', 'role'], []],
      [
        'reservations.upsertPolicy',
        'PUT /reservation-policies/:category/:role',
        200,
        [],
        ['approvalRequired', 'bufferMinutes', 'maxAdvanceDays', 'maxDurationMinutes', 'pickupWindowMinutes'],
      ],
    ]);
  });

  it('reads a booking from its body: ids as numbers, date-only or offset instants as UTC', () => {
    expect(
      parseRouteInput(route('reservations.reserve'), {
        body: {
          catalogEntryId: 3,
          quantity: 2,
          startsAt: '2026-03-10T08:00:00-05:00',
          endsAt: '2026-03-10T10:00:00-05:00',
          environment: ' Aula 3 ',
        },
      }),
    ).toEqual({
      catalogEntryId: 3,
      quantity: 2,
      startsAt: new Date('2026-03-10T13:00:00.000Z'),
      endsAt: new Date('2026-03-10T15:00:00.000Z'),
      environment: 'Aula 3',
      note: null,
    });
  });

  it('applies the booking rules across fields after merging, at the field they name', async () => {
    const booking = { startsAt: '2026-03-10T08:00:00Z', endsAt: '2026-03-10T10:00:00Z' };
    expect(await refusal('reservations.reserve', { body: booking })).toEqual([
      expect.objectContaining({ path: ['body', 'copyId'] }),
    ]);
    expect(await refusal('reservations.reserve', { body: { ...booking, copyId: 4, quantity: 2 } })).toEqual([
      expect.objectContaining({ path: ['body', 'quantity'] }),
    ]);
    expect(
      await refusal('reservations.reserve', {
        body: { catalogEntryId: 3, startsAt: booking.endsAt, endsAt: booking.startsAt },
      }),
    ).toEqual([expect.objectContaining({ path: ['body', 'endsAt'] })]);
    expect(
      await refusal('reservations.availability', {
        params: { catalogEntryId: '3' },
        query: { from: '2026-03-10', to: '2026-03-09' },
      }),
    ).toEqual([expect.objectContaining({ path: ['query', 'to'] })]);
  });

  it('takes the path id of confirm, cancel and pick-up, and the pick-up copies as JSON numbers', async () => {
    expect(
      parseRouteInput(route('reservations.cancel'), {
        params: { reservationId: '8' },
        body: { reason: 'x' },
      }),
    ).toEqual({ reservationId: 8, reason: 'x' });
    expect(
      parseRouteInput(route('reservations.pickUp'), {
        params: { reservationId: '8' },
        body: { copyIds: [4, 5] },
      }),
    ).toEqual({ reservationId: 8, copyIds: [4, 5] });
    expect(
      await refusal('reservations.pickUp', { params: { reservationId: '8' }, body: { copyIds: ['4'] } }),
    ).toEqual([expect.objectContaining({ path: ['body', 'copyIds', '0'] })]);
    expect(
      await refusal('reservations.confirm', { params: { reservationId: '8' }, body: { reservationId: 9 } }),
    ).toEqual([expect.objectContaining({ path: ['body', 'reservationId'] })]);
  });

  it('reads the statuses filter from one query value or a repeated key, and refuses an unknown status', async () => {
    const list = route('reservations.listReservations');
    expect(parseRouteInput(list, { query: { statuses: 'recogida', catalogEntryId: '3' } })).toEqual({
      statuses: ['recogida'],
      catalogEntryId: 3,
      limit: 50,
      offset: 0,
    });
    expect(parseRouteInput(list, { query: { statuses: ['solicitada', 'confirmada'] } })).toMatchObject({
      statuses: ['solicitada', 'confirmada'],
    });
    for (const statuses of ['RECOGIDA', ['recogida', 'x'], [], [1]]) {
      const issues = await refusal('reservations.listReservations', { query: { statuses } });
      expect(issues.length, JSON.stringify(statuses)).toBeGreaterThan(0);
      for (const issue of issues) expect(issue.path.slice(0, 2)).toEqual(['query', 'statuses']);
    }
  });

  it('takes the reservation policy key from the path and its rules from the body', () => {
    expect(
      parseRouteInput(route('reservations.upsertPolicy'), {
        params: { category: 'premium', role: 'teacher' },
        body: { maxAdvanceDays: 14, maxDurationMinutes: 240, pickupWindowMinutes: 20 },
      }),
    ).toEqual({
      category: 'premium',
      role: 'teacher',
      maxAdvanceDays: 14,
      maxDurationMinutes: 240,
      bufferMinutes: 0,
      pickupWindowMinutes: 20,
      approvalRequired: false,
    });
  });

  it('describes the statuses filter in OpenAPI as a string or a list of strings', () => {
    const get = swlOpenApiPaths()['/reservations']?.get as {
      parameters: { name: string; in: string; schema: unknown }[];
    };
    const statuses = get.parameters.find((p) => p.name === 'statuses');
    expect(statuses?.in).toBe('query');
    expect(JSON.stringify(statuses?.schema)).toMatch(/"type":"array"/);
    expect(swlOpenApiPaths()['/catalog/entries/{catalogEntryId}/availability']?.get).toMatchObject({
      operationId: 'reservations.availability',
      tags: ['reservations'],
    });
  });
});

describe('hold routes', () => {
  it('puts each hold method on its path, its ids in the path and the rest in the query or body', () => {
    const rows = SWL_ROUTES.filter((r) => r.service === 'holds').map((r) => [
      r.name,
      `${r.http} ${r.path}`,
      r.status,
      keysOf(r.querySchema).sort(),
      keysOf(r.bodySchema).sort(),
    ]);
    expect(rows).toEqual([
      ['holds.placeHold', 'POST /holds', 201, [], ['borrowerId', 'catalogEntryId', 'idempotencyKey']],
      ['holds.listHolds', 'GET /holds', 200, ['borrowerId', 'limit', 'offset', 'statuses'], []],
      ['holds.expireHolds', 'POST /holds/expiries', 200, [], ['limit']],
      ['holds.getHold', 'GET /holds/:holdId', 200, [], []],
      ['holds.cancelHold', 'POST /holds/:holdId/cancel', 200, [], ['idempotencyKey', 'reason']],
      ['holds.fulfillHold', 'POST /holds/:holdId/fulfill', 200, [], ['idempotencyKey']],
      ['holds.holdQueue', 'GET /catalog/entries/:catalogEntryId/holds', 200, [], []],
    ]);
  });

  it('registers the static hold paths before /holds/:holdId', () => {
    const at = (name: string) => SWL_ROUTES.indexOf(route(name));
    expect(at('holds.listHolds')).toBeLessThan(at('holds.getHold'));
    expect(at('holds.expireHolds')).toBeLessThan(at('holds.getHold'));
  });

  it('reads a hold from its body, ids as JSON numbers', async () => {
    expect(parseRouteInput(route('holds.placeHold'), { body: { catalogEntryId: 3, borrowerId: 7 } })).toEqual(
      {
        catalogEntryId: 3,
        borrowerId: 7,
      },
    );
    expect(await refusal('holds.placeHold', { body: { catalogEntryId: '3' } })).toEqual([
      expect.objectContaining({ path: ['body', 'catalogEntryId'], code: 'invalid_type' }),
    ]);
    expect(await refusal('holds.placeHold', { body: {} })).toEqual([
      expect.objectContaining({ path: ['body', 'catalogEntryId'] }),
    ]);
    expect(await refusal('holds.placeHold', { query: { catalogEntryId: '3' } })).toContainEqual(
      expect.objectContaining({ path: ['query'], code: 'unrecognized_keys' }),
    );
  });

  it('takes the path id of get, cancel and fulfill, and refuses a body naming another hold', async () => {
    expect(parseRouteInput(route('holds.getHold'), { params: { holdId: '8' } })).toEqual({ holdId: 8 });
    expect(
      parseRouteInput(route('holds.cancelHold'), { params: { holdId: '8' }, body: { reason: ' x ' } }),
    ).toEqual({ holdId: 8, reason: 'x' });
    expect(
      parseRouteInput(route('holds.fulfillHold'), {
        params: { holdId: '8' },
        body: { idempotencyKey: 'k-1' },
      }),
    ).toEqual({ holdId: 8, idempotencyKey: 'k-1' });
    expect(await refusal('holds.fulfillHold', { params: { holdId: '8' }, body: { holdId: 9 } })).toEqual([
      expect.objectContaining({ path: ['body', 'holdId'] }),
    ]);
    expect(await refusal('holds.cancelHold', { params: { holdId: '08' } })).toEqual([
      expect.objectContaining({ path: ['params', 'holdId'], code: 'invalid_format' }),
    ]);
    expect(parseRouteInput(route('holds.holdQueue'), { params: { catalogEntryId: '3' } })).toEqual({
      catalogEntryId: 3,
    });
  });

  it('reads the expiry sweep limit from the body, with its default', async () => {
    expect(parseRouteInput(route('holds.expireHolds'), {})).toEqual({ limit: 500 });
    expect(parseRouteInput(route('holds.expireHolds'), { body: { limit: 20 } })).toEqual({ limit: 20 });
    expect(await refusal('holds.expireHolds', { body: { limit: 1001 } })).toEqual([
      expect.objectContaining({ path: ['body', 'limit'] }),
    ]);
  });

  it('reads the statuses filter from one query value or a repeated key, and refuses an unknown status', async () => {
    const list = route('holds.listHolds');
    expect(parseRouteInput(list, { query: { statuses: 'lista', borrowerId: '3' } })).toEqual({
      statuses: ['lista'],
      borrowerId: 3,
      limit: 50,
      offset: 0,
    });
    expect(parseRouteInput(list, { query: { statuses: ['en_espera', 'vencida'] } })).toMatchObject({
      statuses: ['en_espera', 'vencida'],
    });
    for (const statuses of ['LISTA', 'solicitada', ['lista', 'x'], [], [1]]) {
      const issues = await refusal('holds.listHolds', { query: { statuses } });
      expect(issues.length, JSON.stringify(statuses)).toBeGreaterThan(0);
      for (const issue of issues) expect(issue.path.slice(0, 2)).toEqual(['query', 'statuses']);
    }
  });

  it('describes the hold routes in OpenAPI', () => {
    const paths = swlOpenApiPaths();
    const place = paths['/holds']?.post as { operationId: string; tags: string[]; responses: object };
    expect(place).toMatchObject({ operationId: 'holds.placeHold', tags: ['holds'] });
    expect(Object.keys(place.responses)).toEqual(['201', 'default']);
    expect(paths['/holds/{holdId}/fulfill']?.post).toMatchObject({ operationId: 'holds.fulfillHold' });
    expect(paths['/catalog/entries/{catalogEntryId}/holds']?.get).toMatchObject({
      operationId: 'holds.holdQueue',
      tags: ['holds'],
    });
    const list = paths['/holds']?.get as { parameters: { name: string; in: string; schema: unknown }[] };
    expect(list.parameters.map((p) => `${p.in}:${p.name}`).sort()).toEqual([
      'query:borrowerId',
      'query:limit',
      'query:offset',
      'query:statuses',
    ]);
    expect(JSON.stringify(list.parameters.find((p) => p.name === 'statuses')?.schema)).toMatch(
      /"type":"array"/,
    );
  });
});

describe('JSON Schemas and OpenAPI', () => {
  it('describes the wire forms: strings with a pattern for integers, date or date-time for instants', () => {
    const overdue = route('loans.overdueLoans').jsonSchemas.query as {
      properties: Record<string, Record<string, unknown>>;
      additionalProperties: boolean;
    };
    expect(overdue.additionalProperties).toBe(false);
    expect(overdue.properties.limit).toMatchObject({ type: 'string', pattern: '^(?:0|[1-9][0-9]*)$' });
    expect(
      (overdue.properties.asOf?.anyOf as { format: string }[] | undefined)?.map((s) => s.format),
    ).toEqual(['date', 'date-time']);
    const approve = route('loans.approve').jsonSchemas;
    expect(approve.params).toMatchObject({
      properties: { loanId: { type: 'string' } },
      required: ['loanId'],
    });
    expect(approve.body).toMatchObject({
      properties: { copyId: { type: 'integer', maximum: 2_147_483_647 } },
      additionalProperties: false,
    });
    expect(Object.keys((approve.body as { properties: object }).properties)).not.toContain('loanId');
  });

  it('gives every path parameter and query field a string schema', () => {
    for (const r of SWL_ROUTES) {
      for (const where of ['params', 'query'] as const) {
        const { properties = {} } = r.jsonSchemas[where] as {
          properties?: Record<string, { type?: unknown }>;
        };
        for (const [key, schema] of Object.entries(properties)) {
          const types = JSON.stringify(schema);
          expect(types, `${r.name} ${where}.${key}`).toMatch(/"type":(?:"string"|\["string")/);
          expect(types, `${r.name} ${where}.${key}`).not.toMatch(/"(?:integer|number|boolean)"/);
        }
      }
    }
  });

  it('builds an OpenAPI 3.1 paths object with every route as an operation', () => {
    const paths = swlOpenApiPaths();
    const operations = Object.entries(paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([verb, op]) => ({ path, verb, op })),
    );
    expect(operations.map((o) => o.op.operationId).sort()).toEqual(SWL_ROUTES.map((r) => r.name).sort());
    const approve = paths['/loans/{loanId}/approve']?.post as {
      parameters: { name: string; in: string; required: boolean }[];
      requestBody: unknown;
      responses: Record<string, unknown>;
    };
    expect(approve.parameters).toEqual([
      expect.objectContaining({ name: 'loanId', in: 'path', required: true }),
    ]);
    expect(approve.requestBody).toBeDefined();
    expect(Object.keys(approve.responses)).toEqual(['200', 'default']);
    const overdue = paths['/loans/overdue']?.get as { parameters: { name: string; in: string }[] };
    expect(overdue.parameters.map((p) => `${p.in}:${p.name}`).sort()).toEqual([
      'query:asOf',
      'query:limit',
      'query:offset',
    ]);
    expect(paths['/loans/{loanId}']?.get).not.toHaveProperty('requestBody');
  });
});

describe('callRoute', () => {
  it("calls the route's service method with the actor and the input, on that service", async () => {
    const calls: unknown[] = [];
    const loans = {
      approve(this: unknown, actor: unknown, input: unknown) {
        calls.push([this === loans, actor, input]);
        return Promise.resolve({ ok: true });
      },
    };
    const services = {
      catalog: {},
      loans,
      users: {},
      visitors: {},
      policies: {},
      reservations: {},
      holds: {},
      reports: {},
      notices: {},
    };
    const actor = { id: 1, role: 'staff' as const };
    await expect(callRoute(services, route('loans.approve'), actor, { loanId: 5 })).resolves.toEqual({
      ok: true,
    });
    expect(calls).toEqual([[true, actor, { loanId: 5 }]]);
  });
});
