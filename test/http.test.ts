/**
 * `swl-library/http`: RFC 9457 problems from errors, and the Fastify and Express error handlers on
 * real servers listening on a loopback port (no database involved).
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SWL_ERROR_CODES, SWL_HTTP_STATUS, SwlError } from '../src/errors.ts';
import {
  RETRY_AFTER_SECONDS,
  SWL_PROBLEM_TITLES,
  SWL_PROBLEM_TYPES,
  swlExpressErrorHandler,
  swlFastifyErrorHandler,
  toProblemDetails,
} from '../src/http/index.ts';

/** Strings that must never reach a response body. */
const SQL = 'insert into "swl_user" ("password_hash") values ($1) - duplicate key value violates';
const HASH = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA';
const SECRETS = [SQL, HASH, 'swl_user', 'argon2', 'password', 'insert into', 'duplicate key', '    at '];

const rawError = () => new Error(`${SQL} ${HASH}`);
const swlWithCause = () => new SwlError('INTERNAL', 'unexpected database error', {}, { cause: rawError() });
const VALIDATION = () =>
  new SwlError('VALIDATION_FAILED', 'input does not match the schema', {
    issues: [{ path: ['loanId'], code: 'invalid_type', message: 'Invalid input: expected number' }],
  });

function expectNoSecrets(text: string): void {
  for (const secret of SECRETS) expect(text).not.toContain(secret);
}

describe('SwlError.statusCode', () => {
  it('equals httpStatus and SWL_HTTP_STATUS for every code', () => {
    for (const code of SWL_ERROR_CODES) {
      const e = new SwlError(code, 'x');
      expect(e.statusCode).toBe(SWL_HTTP_STATUS[code]);
      expect(e.statusCode).toBe(e.httpStatus);
    }
  });
});

describe('toProblemDetails', () => {
  it.each(SWL_ERROR_CODES)(
    '%s: status from SWL_HTTP_STATUS, stable type, Retry-After only when retryable',
    (code) => {
      const error = new SwlError(code, `a ${code} message`, { loanId: 7 });
      const problem = toProblemDetails(error);
      expect(problem.status).toBe(SWL_HTTP_STATUS[code]);
      expect(problem.body).toEqual({
        type: SWL_PROBLEM_TYPES[code],
        title: SWL_PROBLEM_TITLES[code],
        status: SWL_HTTP_STATUS[code],
        detail: `a ${code} message`,
        code,
        details: { loanId: 7 },
      });
      expect(problem.body.type).toBe(`urn:swl-library:problem:${code.toLowerCase().replaceAll('_', '-')}`);
      const expectedHeaders: Record<string, string> = { 'content-type': 'application/problem+json' };
      if (code === 'CONFLICT' || code === 'UNAVAILABLE') expectedHeaders['retry-after'] = '1';
      expect(problem.headers).toEqual(expectedHeaders);
      expect('retry-after' in problem.headers).toBe(error.retryable);
    },
  );

  it('every code has its own type URI and a title', () => {
    expect(new Set(Object.values(SWL_PROBLEM_TYPES)).size).toBe(SWL_ERROR_CODES.length);
    expect(Object.keys(SWL_PROBLEM_TYPES).sort()).toEqual([...SWL_ERROR_CODES].sort());
    expect(Object.keys(SWL_PROBLEM_TITLES).sort()).toEqual([...SWL_ERROR_CODES].sort());
    expect(RETRY_AFTER_SECONDS).toBe(1);
  });

  it('a raw Error (SQL text, a password hash, a stack) becomes a generic 500 INTERNAL problem', () => {
    const problem = toProblemDetails(rawError());
    expect(problem.status).toBe(500);
    expect(problem.headers).toEqual({ 'content-type': 'application/problem+json' });
    expect(problem.body).toEqual({
      type: 'urn:swl-library:problem:internal',
      title: 'Internal error',
      status: 500,
      detail: 'an unexpected error occurred',
      code: 'INTERNAL',
      details: {},
    });
    expectNoSecrets(JSON.stringify(problem));
  });

  it('an SwlError whose cause holds SQL text and a hash keeps only its own message and details', () => {
    const problem = toProblemDetails(swlWithCause());
    expect(problem.body).toMatchObject({
      code: 'INTERNAL',
      status: 500,
      detail: 'unexpected database error',
    });
    expect(problem.body.details).toEqual({});
    expectNoSecrets(JSON.stringify(problem));
  });

  it('values that are not errors, and framework client errors, are 500 INTERNAL here', () => {
    for (const value of [
      undefined,
      null,
      'a string with a password',
      42,
      { statusCode: 400, message: SQL },
    ]) {
      const problem = toProblemDetails(value);
      expect(problem.status).toBe(500);
      expect(problem.body.code).toBe('INTERNAL');
      expectNoSecrets(JSON.stringify(problem));
    }
  });
});

describe('swlFastifyErrorHandler', () => {
  it('logs a 5xx at error level and a 4xx at info level, with the original error', () => {
    const log = { error: vi.fn(), info: vi.fn() };
    const reply = { code: vi.fn(), headers: vi.fn(), send: vi.fn() };
    const raw = rawError();
    swlFastifyErrorHandler(raw, { log }, reply);
    expect(log.error).toHaveBeenCalledWith({ err: raw }, raw.message);
    expect(reply.code).toHaveBeenCalledWith(500);
    expect(reply.headers).toHaveBeenCalledWith({ 'content-type': 'application/problem+json' });
    expectNoSecrets(reply.send.mock.calls[0]![0] as string);
    const notFound = SwlError.notFound('loan', 1);
    swlFastifyErrorHandler(notFound, { log }, reply);
    expect(log.info).toHaveBeenCalledWith({ err: notFound }, 'NOT_FOUND: loan 1 not found');
    expect(reply.code).toHaveBeenLastCalledWith(404);
  });
});

describe('swlExpressErrorHandler', () => {
  it('passes the error to next when the headers were already sent', () => {
    const res = { headersSent: true, status: vi.fn(), set: vi.fn(), send: vi.fn() };
    const next = vi.fn();
    const error = SwlError.notFound('loan', 1);
    swlExpressErrorHandler(error, {}, res, next);
    expect(next).toHaveBeenCalledWith(error);
    expect(res.status).not.toHaveBeenCalled();
    expect(res.send).not.toHaveBeenCalled();
  });

  it('declares four parameters, which is how Express recognizes error middleware', () => {
    expect(swlExpressErrorHandler.length).toBe(4);
  });
});

/** The routes both servers get, and what each must answer. */
const ROUTES = {
  '/not-found': () => SwlError.notFound('loan', 1),
  '/conflict': () =>
    new SwlError('CONFLICT', 'a concurrent command holds the record; try again', { loanId: 3 }),
  '/validation': VALIDATION,
  '/raw': rawError,
  '/internal-with-cause': swlWithCause,
} as const;

async function call(base: string, path: string, init?: RequestInit) {
  const response = await fetch(`${base}${path}`, init);
  const text = await response.text();
  return { response, text, body: JSON.parse(text) as Record<string, unknown> };
}

function serverContract(name: string, start: () => Promise<{ base: string; stop: () => Promise<void> }>) {
  describe(`${name} server`, () => {
    let base: string;
    let stop: () => Promise<void>;
    beforeAll(async () => {
      ({ base, stop } = await start());
    });
    afterAll(async () => stop?.());

    it('NOT_FOUND → 404 application/problem+json with every member', async () => {
      const { response, body } = await call(base, '/not-found');
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json(;|$)/);
      expect(response.headers.get('retry-after')).toBeNull();
      expect(body).toEqual({
        type: 'urn:swl-library:problem:not-found',
        title: 'Not found',
        status: 404,
        detail: 'loan 1 not found',
        code: 'NOT_FOUND',
        details: { entity: 'loan', id: 1 },
      });
    });

    it('CONFLICT → 409 with Retry-After: 1', async () => {
      const { response, body } = await call(base, '/conflict');
      expect(response.status).toBe(SWL_HTTP_STATUS.CONFLICT);
      expect(response.status).toBe(409);
      expect(response.headers.get('retry-after')).toBe('1');
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json(;|$)/);
      expect(body).toMatchObject({ code: 'CONFLICT', status: 409, details: { loanId: 3 } });
    });

    it('VALIDATION_FAILED → its SWL_HTTP_STATUS with details.issues', async () => {
      const { response, body } = await call(base, '/validation');
      expect(response.status).toBe(SWL_HTTP_STATUS.VALIDATION_FAILED);
      expect(body).toMatchObject({
        type: 'urn:swl-library:problem:validation-failed',
        status: SWL_HTTP_STATUS.VALIDATION_FAILED,
        code: 'VALIDATION_FAILED',
        details: {
          issues: [{ path: ['loanId'], code: 'invalid_type', message: 'Invalid input: expected number' }],
        },
      });
    });

    it('a raw Error → 500 INTERNAL, nothing of its message or stack', async () => {
      const { response, text, body } = await call(base, '/raw');
      expect(response.status).toBe(500);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json(;|$)/);
      expect(body).toEqual({
        type: 'urn:swl-library:problem:internal',
        title: 'Internal error',
        status: 500,
        detail: 'an unexpected error occurred',
        code: 'INTERNAL',
        details: {},
      });
      expectNoSecrets(text);
    });

    it('an SwlError whose cause holds SQL and a hash → its own message only', async () => {
      const { response, text, body } = await call(base, '/internal-with-cause');
      expect(response.status).toBe(500);
      expect(body).toMatchObject({ code: 'INTERNAL', detail: 'unexpected database error', details: {} });
      expectNoSecrets(text);
    });

    it("the framework's own 400 for a body that is not JSON keeps its status, with a generic problem", async () => {
      const { response, text, body } = await call(base, '/echo', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: `{"sql": "${SQL}", `,
      });
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json(;|$)/);
      expect(body).toEqual({
        type: 'about:blank',
        title: 'Bad Request',
        status: 400,
        detail: 'the request was rejected before it reached the application',
        code: null,
        details: {},
      });
      expectNoSecrets(text);
      expect(text).not.toMatch(/JSON|position|Unexpected/i);
    });
  });
}

serverContract('Fastify', async () => {
  const app: FastifyInstance = Fastify({ logger: false });
  app.setErrorHandler(swlFastifyErrorHandler);
  for (const [path, make] of Object.entries(ROUTES)) {
    app.get(path, async () => {
      throw make();
    });
  }
  app.post('/echo', async (request) => request.body);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return { base: `http://127.0.0.1:${port}`, stop: () => app.close() };
});

serverContract('Express', async () => {
  const app = express();
  app.use(express.json());
  const entries = Object.entries(ROUTES);
  // One synchronous throw, one next(err), the rest rejected promises (Express 5 forwards them).
  for (const [index, [path, make]] of entries.entries()) {
    if (index === 0) {
      app.get(path, () => {
        throw make();
      });
    } else if (index === 1) {
      app.get(path, (_req, _res, next) => next(make()));
    } else {
      app.get(path, async () => {
        throw make();
      });
    }
  }
  app.post('/echo', (req, res) => {
    res.json(req.body);
  });
  app.use(swlExpressErrorHandler);
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
});
