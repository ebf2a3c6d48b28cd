/**
 * The input contract a host's transport layer builds on (issue 13): `INPUT_JSON_SCHEMAS` covers
 * every exported `*Input` zod schema of the package (a new schema fails here until it is listed in
 * src/schemas.ts), the public `parseInput`, and date-only instants (`DateOrInstantSchema`).
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import * as catalogSchemas from '../src/catalog/schemas.ts';
import { SwlError } from '../src/errors.ts';
import * as pkg from '../src/index.ts';
import * as idempotency from '../src/internal/idempotency.ts';
import * as loanSchemas from '../src/loans/schemas.ts';
import * as outbox from '../src/outbox.ts';
import * as policySchemas from '../src/policies/schemas.ts';
import { INPUT_JSON_SCHEMAS, INPUT_SCHEMAS } from '../src/schemas.ts';
import * as userSchemas from '../src/users/schemas.ts';
import * as validation from '../src/validation.ts';
import { DateOrInstantSchema, IdSchema, InstantSchema, MAX_ID, parseInput } from '../src/validation.ts';
import * as visitorSchemas from '../src/visitors/schemas.ts';
import { expectSwlError } from './support/fixtures.ts';

/**
 * `*Input` exports that are not the input of a command or query: `IdempotencyKeyInput` is a field
 * of every command schema (its JSON Schema appears inside theirs).
 */
const NOT_COMMAND_INPUTS = new Set(['IdempotencyKeyInput']);

/** Every zod schema exported under a name ending in `Input` by the package and its schema modules. */
function exportedInputSchemas(): Map<string, z.ZodType> {
  const found = new Map<string, z.ZodType>();
  const modules = [
    pkg,
    catalogSchemas,
    loanSchemas,
    userSchemas,
    policySchemas,
    visitorSchemas,
    outbox,
    validation,
    idempotency,
  ];
  for (const namespace of modules) {
    for (const [name, value] of Object.entries(namespace)) {
      if (!name.endsWith('Input') || !(value instanceof z.ZodType) || NOT_COMMAND_INPUTS.has(name)) continue;
      const seen = found.get(name);
      expect(seen === undefined || seen === value, `${name} names two different schemas`).toBe(true);
      found.set(name, value);
    }
  }
  return found;
}

type ObjectJsonSchema = {
  type?: unknown;
  properties?: Record<string, Record<string, unknown>>;
  required?: string[];
  additionalProperties?: unknown;
};
const json = (name: keyof typeof INPUT_JSON_SCHEMAS) => INPUT_JSON_SCHEMAS[name] as ObjectJsonSchema;

describe('INPUT_JSON_SCHEMAS', () => {
  it('lists every exported *Input zod schema of the package, and nothing else', () => {
    const exported = exportedInputSchemas();
    expect(exported.size).toBeGreaterThanOrEqual(38);
    expect(Object.keys(INPUT_JSON_SCHEMAS).sort()).toEqual([...exported.keys()].sort());
    expect(Object.keys(INPUT_SCHEMAS).sort()).toEqual([...exported.keys()].sort());
    for (const [name, schema] of exported) {
      expect(INPUT_SCHEMAS[name as keyof typeof INPUT_SCHEMAS], name).toBe(schema);
    }
  });

  it('gives each a strict object schema with properties (draft 2020-12)', () => {
    for (const [name, schema] of Object.entries(INPUT_JSON_SCHEMAS)) {
      expect(schema.$schema, name).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(schema.type, name).toBe('object');
      expect(schema.properties, name).toBeTypeOf('object');
      expect(Object.keys(schema.properties ?? {}).length, name).toBeGreaterThan(0);
      expect(schema.additionalProperties, `${name} refuses unknown keys`).toBe(false);
      // Plain JSON: what a host serves in an OpenAPI document survives a round trip.
      expect(JSON.parse(JSON.stringify(schema)), name).toEqual(schema);
    }
  });

  it('ApproveLoanInput requires loanId, an integer 1..MAX_ID', () => {
    const approve = json('ApproveLoanInput');
    expect(approve.required).toEqual(['loanId']);
    const loanId = approve.properties?.loanId ?? {};
    expect(loanId.type).toBe('integer');
    // `positive()` is `exclusiveMinimum: 0`: for an integer, the same as `minimum: 1`.
    expect(loanId.minimum ?? Number(loanId.exclusiveMinimum) + 1).toBe(1);
    expect(loanId.maximum).toBe(MAX_ID);
    expect(Object.keys(approve.properties ?? {}).sort()).toEqual([
      'copyId',
      'dueDate',
      'idempotencyKey',
      'loanId',
    ]);
  });

  it('describes what a client sends: defaulted fields are optional, enums listed, instants as date-time strings', () => {
    const ret = json('ReturnLoanInput');
    expect(ret.required).toEqual(['loanId']);
    expect(ret.properties?.outcome?.enum).toEqual(['ok', 'damaged', 'lost']);
    const search = json('SearchCatalogInput');
    expect(search.required ?? []).not.toContain('limit');
    expect(search.properties?.limit).toMatchObject({ type: 'integer', minimum: 1, maximum: 500 });
    const request = json('RequestLoanInput');
    // "Exactly one of copyId or catalogEntryId" is a refinement JSON Schema does not carry.
    expect(request.required ?? []).toEqual([]);
    expect(JSON.stringify(request.properties?.requestedDueDate)).toContain('"format":"date-time"');
    expect(json('CreateUserInput').required).toEqual(['documentId', 'fullName']);
    expect(json('SwlOutboxReadInput').properties?.limit).toMatchObject({ minimum: 1, maximum: 1000 });
  });

  it('is deep-frozen', () => {
    expect(Object.isFrozen(INPUT_JSON_SCHEMAS)).toBe(true);
    expect(Object.isFrozen(INPUT_JSON_SCHEMAS.ApproveLoanInput)).toBe(true);
    expect(Object.isFrozen(json('ApproveLoanInput').properties?.loanId)).toBe(true);
  });
});

describe('parseInput', () => {
  const LoanRoute = z.strictObject({ loanId: IdSchema });

  it('returns the parsed value', () => {
    expect(parseInput(LoanRoute, { loanId: 7 })).toEqual({ loanId: 7 });
    expect(parseInput(InstantSchema, '2030-03-01T10:00:00+02:00')).toEqual(
      new Date('2030-03-01T08:00:00.000Z'),
    );
  });

  it('turns issues into VALIDATION_FAILED with client-safe details', async () => {
    const error = await expectSwlError(
      () => parseInput(LoanRoute, { loanId: '7', admin: true }),
      'VALIDATION_FAILED',
    );
    expect(error.httpStatus).toBe(400);
    const issues = error.details.issues as Array<{ path: string[]; code: string; message: string }>;
    expect(issues.map((i) => i.path)).toEqual(expect.arrayContaining([['loanId'], []]));
    for (const issue of issues) expect(Object.keys(issue).sort()).toEqual(['code', 'message', 'path']);
  });

  it('turns a throwing getter or Proxy trap into VALIDATION_FAILED, never a raw error', async () => {
    const getter = Object.defineProperty({}, 'loanId', {
      enumerable: true,
      get() {
        throw new Error('boom');
      },
    });
    const proxy = new Proxy(
      {},
      {
        get() {
          throw new Error('trap');
        },
        ownKeys() {
          throw new Error('trap');
        },
      },
    );
    for (const value of [getter, proxy]) {
      const error = await expectSwlError(() => parseInput(LoanRoute, value), 'VALIDATION_FAILED');
      expect(error.details).toEqual({ issues: [] });
      expect(error.cause).toBeInstanceOf(Error);
      expect(JSON.stringify(error)).not.toContain('boom');
    }
  });

  it('is the function the services use', async () => {
    const { parseInput: internal } = await import('../src/internal/service-base.ts');
    expect(internal).toBe(parseInput);
  });
});

describe('date-only instants', () => {
  it('DateOrInstantSchema reads YYYY-MM-DD as the start of that day, UTC', () => {
    expect(parseInput(DateOrInstantSchema, '2030-03-01')).toEqual(new Date('2030-03-01T00:00:00.000Z'));
    expect(parseInput(DateOrInstantSchema, '2024-02-29').toISOString()).toBe('2024-02-29T00:00:00.000Z');
    expect(parseInput(DateOrInstantSchema, '2030-03-01T10:00:00Z').toISOString()).toBe(
      '2030-03-01T10:00:00.000Z',
    );
    const at = new Date('2030-03-01T10:00:00Z');
    expect(parseInput(DateOrInstantSchema, at)).toEqual(at);
  });

  it.each([
    '2030-02-30',
    '2023-02-29',
    '2030-13-01',
    '2030-3-1',
    '20300301',
    '2030-03-01 ',
    '1969-12-31',
    '10000-01-01',
    '+2030-03-01',
    '2030-03-01T10:00:00',
    'yesterday',
    '',
    null,
    1_767_225_600_000,
  ])('DateOrInstantSchema refuses %j with VALIDATION_FAILED', async (value) => {
    await expectSwlError(() => parseInput(DateOrInstantSchema, value), 'VALIDATION_FAILED');
  });

  it("a host route schema with a date-only due date (DateOrInstantSchema) reads '2030-03-01' as 00:00Z", async () => {
    const HostRequest = z.strictObject({
      catalogEntryId: IdSchema,
      requestedDueDate: DateOrInstantSchema.optional(),
    });
    expect(parseInput(HostRequest, { catalogEntryId: 1, requestedDueDate: '2030-03-01' })).toEqual({
      catalogEntryId: 1,
      requestedDueDate: new Date('2030-03-01T00:00:00.000Z'),
    });
    await expectSwlError(
      () => parseInput(HostRequest, { catalogEntryId: 1, requestedDueDate: '2030-02-30' }),
      'VALIDATION_FAILED',
    );
  });

  it('InstantSchema (every service instant field) still refuses a date without time and zone', async () => {
    await expectSwlError(() => parseInput(InstantSchema, '2030-03-01'), 'VALIDATION_FAILED');
    await expectSwlError(
      () => parseInput(loanSchemas.RequestLoanInput, { catalogEntryId: 1, requestedDueDate: '2030-03-01' }),
      'VALIDATION_FAILED',
    );
  });

  it('DateOrInstantSchema errors are SwlErrors, not ZodErrors', () => {
    expect(() => parseInput(DateOrInstantSchema, '2030-02-30')).toThrow(SwlError);
  });
});
