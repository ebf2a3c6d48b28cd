/**
 * examples/http-host.ts on a real loopback port, driven through a whole week at the desk with real
 * HTTP requests (`fetch`), on every database: sign-in, a catalog entry with copies, a borrower who
 * must change the password first, request → approve (a date-only due date) → renew → a late
 * return with a fine → settlement, the visitor log, reads with query-string parameters, and the
 * error paths as RFC 9457 problems (400, 401, 403, 404, 409 with Retry-After). Source: issue 13.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { User } from '../src/entities/user.entity.ts';
import { hashPassword } from '../src/users/password.ts';
import { describeEachDialect, setStoredPasswordHash, useDesk } from './support/fixtures.ts';

// The example imports the package by its name; vitest.config.ts resolves that name to this
// repository's source, so the host runs on the same classes (entities, SwlError) as the test's ORM.
const { buildHttpHost } = await import('../examples/http-host.ts');

const STAFF_PASSWORD = 'staff password for the week';
const FIRST_PASSWORD = 'set by the admin 2026';
const OWN_PASSWORD = 'chosen by the borrower 2026';
const PROBLEM = 'application/problem+json';

interface Answer {
  status: number;
  type: string;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: JSON bodies of many shapes, asserted field by field
  body: any;
}

describeEachDialect('the HTTP example host drives a week over real HTTP', (dialect) => {
  const desk = useDesk(dialect);
  let app: ReturnType<typeof buildHttpHost>;
  let base = '';
  let staffLogin = '';

  beforeAll(async () => {
    await setStoredPasswordHash(desk.orm, desk.staff.id, await hashPassword(STAFF_PASSWORD));
    staffLogin = (await desk.em().findOneOrFail(User, desk.staff.id)).documentId;
    app = buildHttpHost({ orm: desk.orm, clock: desk.clock, logger: process.env.SWL_TEST_HTTP_LOG === '1' });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });

  afterAll(async () => {
    await app?.close();
  });

  async function call(
    method: string,
    path: string,
    options: { token?: string; body?: unknown } = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = {};
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${base}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    const text = await response.text();
    return {
      status: response.status,
      type: response.headers.get('content-type') ?? '',
      headers: response.headers,
      body: text === '' ? null : JSON.parse(text),
    };
  }

  async function signIn(login: string, password: string): Promise<string> {
    const answer = await call('POST', '/session', { body: { login, password } });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    return answer.body.token;
  }

  function expectProblem(answer: Answer, status: number, code: string | null) {
    expect(answer.status, JSON.stringify(answer.body)).toBe(status);
    expect(answer.type.split(';')[0]).toBe(PROBLEM);
    expect(answer.body).toMatchObject({ status, code });
  }

  it('plays the week: sign-in, catalog, borrower, loan, renewal, late return, fine, visits', async () => {
    // Monday 13:00 UTC. No token, a forged token, a wrong password: 401 problems.
    const anonymous = await call('GET', '/loans/pending');
    expectProblem(anonymous, 401, 'AUTH_FAILED');
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="swl-desk"');
    expectProblem(await call('GET', '/loans/pending', { token: 'x'.repeat(43) }), 401, 'AUTH_FAILED');
    expectProblem(
      await call('POST', '/session', { body: { login: staffLogin, password: 'not the password' } }),
      401,
      'AUTH_FAILED',
    );
    const staff = await signIn(staffLogin, STAFF_PASSWORD);

    // A catalog entry with two copies.
    const created = await call('POST', '/catalog/entries', {
      token: staff,
      body: { titleOrName: 'Cable HDMI 3 m', category: 'general', copies: 2, replacementCost: 3_500_000 },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.type).toMatch(/^application\/json/);
    expect(created.body.copies).toHaveLength(2);
    const entryId: number = created.body.entry.id;
    const copies = await call('GET', `/catalog/entries/${entryId}/copies?limit=1&status=disponible`, {
      token: staff,
    });
    expect(copies.status).toBe(200);
    expect(copies.body).toMatchObject({ total: 2, limit: 1, offset: 0 });
    expect(copies.body.items).toHaveLength(1);

    // A borrower with a password set by staff: must change it before anything else.
    const borrowerDoc = `http-${Date.now() % 1_000_000_000}`;
    const user = await call('POST', '/users', {
      token: staff,
      body: {
        documentId: borrowerDoc,
        fullName: 'Ana Estudiante',
        role: 'student',
        password: FIRST_PASSWORD,
      },
    });
    expect(user.status, JSON.stringify(user.body)).toBe(201);
    expect(user.body.mustChangePassword).toBe(true);
    const borrowerId: number = user.body.id;
    let borrower = await signIn(borrowerDoc, FIRST_PASSWORD);
    const refused = await call('POST', '/loans', { token: borrower, body: { catalogEntryId: entryId } });
    expectProblem(refused, 403, 'FORBIDDEN');
    expect(refused.body.details).toEqual({ mustChangePassword: true });
    const changed = await call('POST', '/users/password', {
      token: borrower,
      body: { currentPassword: FIRST_PASSWORD, newPassword: OWN_PASSWORD },
    });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    expect(changed.body.mustChangePassword).toBe(false);
    borrower = await signIn(borrowerDoc, OWN_PASSWORD);

    // The borrower requests; a student may not approve.
    const requested = await call('POST', '/loans', {
      token: borrower,
      body: { catalogEntryId: entryId, environment: 'Aula 204' },
    });
    expect(requested.status, JSON.stringify(requested.body)).toBe(201);
    expect(requested.body).toMatchObject({ status: 'pendiente', borrowerId, catalogEntryId: entryId });
    const loanId: number = requested.body.id;
    expectProblem(
      await call('POST', `/loans/${loanId}/approve`, { token: borrower, body: {} }),
      403,
      'FORBIDDEN',
    );

    // Staff sees the queue (limit as a query string) and approves with a date-only due date.
    desk.clock.advance({ minutes: 5 });
    const queue = await call('GET', '/loans/pending?limit=10&offset=0', { token: staff });
    expect(queue.status).toBe(200);
    expect(queue.body.limit).toBe(10);
    expect(queue.body.items.map((l: { id: number }) => l.id)).toContain(loanId);
    const approved = await call('POST', `/loans/${loanId}/approve`, {
      token: staff,
      body: { loanId, dueDate: '2026-03-04' },
    });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body).toMatchObject({
      status: 'aprobado',
      dueDate: '2026-03-04T00:00:00.000Z',
      approvalDate: '2026-03-02T13:05:00.000Z',
    });

    // Tuesday: the borrower renews.
    desk.clock.advance({ days: 1 });
    const renewed = await call('POST', `/loans/${loanId}/renew`, { token: borrower });
    expect(renewed.status, JSON.stringify(renewed.body)).toBe(200);
    expect(renewed.body.renewalCount).toBe(1);
    const due = new Date(renewed.body.dueDate);
    expect(due.getTime()).toBeGreaterThan(Date.parse('2026-03-04T00:00:00.000Z'));

    // Two days and two hours after the new due date: overdue, and returned late with a fine of 3
    // started days (threshold grace of 60 minutes, rounding up, 100 000 minor units a day).
    desk.clock.set(new Date(due.getTime() + (2 * 24 + 2) * 3_600_000));
    const day = desk.clock.now().toISOString().slice(0, 10);
    const overdue = await call('GET', `/loans/overdue?limit=5&asOf=${day}`, { token: staff });
    expect(overdue.status, JSON.stringify(overdue.body)).toBe(200);
    expect(overdue.body.limit).toBe(5);
    expect(overdue.body.items.map((l: { id: number }) => l.id)).toContain(loanId);
    const returned = await call('POST', `/loans/${loanId}/return`, {
      token: staff,
      body: { outcome: 'ok', observation: 'back late' },
    });
    expect(returned.status, JSON.stringify(returned.body)).toBe(200);
    expect(returned.body).toMatchObject({ status: 'devuelto', overdueFine: 300_000, finalPenalty: 300_000 });

    // The unsettled fine blocks the borrower until staff settles it.
    const blocked = await call('GET', `/loans/standing?borrowerId=${borrowerId}`, { token: staff });
    expect(blocked.status).toBe(200);
    expect(blocked.body).toMatchObject({ blocked: true, unsettledPenalties: 1, unsettledAmount: 300_000 });
    const settled = await call('POST', `/loans/${loanId}/settle-penalty`, {
      token: staff,
      body: { settlement: 'paid', note: 'paid at the desk' },
    });
    expect(settled.status, JSON.stringify(settled.body)).toBe(200);
    expect(settled.body.penaltySettlement).toBe('paid');
    const standing = await call('GET', `/loans/standing?borrowerId=${borrowerId}`, { token: staff });
    expect(standing.body).toMatchObject({ blocked: false, unsettledPenalties: 0 });

    // The visitor log: two visits, a page of one, statistics by role.
    for (const [visitorName, visitorId, role] of [
      ['Ana Estudiante', borrowerDoc, 'student'],
      ['Visitante', 'V-1', 'visitor'],
    ] as const) {
      const visit = await call('POST', '/visits', {
        token: staff,
        body: { visitorName, visitorId, role, activity: 'lectura' },
      });
      expect(visit.status, JSON.stringify(visit.body)).toBe(201);
    }
    const from = '2026-03-01';
    const to = '2026-04-01';
    const visits = await call('GET', `/visits?from=${from}&to=${to}&limit=1`, { token: staff });
    expect(visits.status, JSON.stringify(visits.body)).toBe(200);
    expect(visits.body).toMatchObject({ total: 2, limit: 1 });
    expect(visits.body.items).toHaveLength(1);
    const stats = await call('GET', `/visits/statistics?from=${from}&to=${to}&groupBy=role`, {
      token: staff,
    });
    expect(stats.status).toBe(200);
    expect(stats.body).toMatchObject({ total: 2, from: '2026-03-01T00:00:00.000Z', groupBy: 'role' });

    // The loan's audit trail, read back by id.
    const details = await call('GET', `/loans/${loanId}`, { token: staff });
    expect(details.status).toBe(200);
    expect(details.body.events.map((e: { type: string }) => e.type)).toEqual(
      expect.arrayContaining(['requested', 'approved', 'renewed', 'returned']),
    );
  });

  it('answers errors as RFC 9457 problems: 400 with the field, 404, 409 with Retry-After', async () => {
    const staff = await signIn(staffLogin, STAFF_PASSWORD);

    // A path id that is not digits, a query limit that is not an integer, an unknown body key.
    const badId = await call('POST', '/loans/abc/approve', { token: staff, body: {} });
    expectProblem(badId, 400, 'VALIDATION_FAILED');
    expect(badId.body.details.issues).toEqual([expect.objectContaining({ path: ['params', 'loanId'] })]);
    const badLimit = await call('GET', '/loans/pending?limit=1.5', { token: staff });
    expectProblem(badLimit, 400, 'VALIDATION_FAILED');
    expect(badLimit.body.details.issues).toEqual([expect.objectContaining({ path: ['query', 'limit'] })]);
    const unknownKey = await call('POST', '/catalog/entries', {
      token: staff,
      body: { titleOrName: 'x', category: 'general', colour: 'red' },
    });
    expectProblem(unknownKey, 400, 'VALIDATION_FAILED');
    expect(unknownKey.body.details.issues).toEqual([
      expect.objectContaining({ path: ['body'], code: 'unrecognized_keys' }),
    ]);
    // A body naming another loan than the path.
    const mismatch = await call('POST', '/loans/5/approve', { token: staff, body: { loanId: 6 } });
    expectProblem(mismatch, 400, 'VALIDATION_FAILED');
    expect(mismatch.body.details.issues).toEqual([expect.objectContaining({ path: ['body', 'loanId'] })]);

    // An unknown loan: 404.
    const missing = await call('POST', '/loans/2147483647/approve', { token: staff, body: {} });
    expectProblem(missing, 404, 'NOT_FOUND');
    expect(missing.body.type).toBe('urn:swl-library:problem:not-found');
    expect(missing.headers.get('retry-after')).toBeNull();

    // A stale optimistic-lock version on a copy: CONFLICT, 409 with Retry-After.
    const entry = await desk.entry('general', 1);
    const copyId = entry.copies[0] as number;
    const stale = await call('POST', `/catalog/copies/${copyId}/maintenance`, {
      token: staff,
      body: { expectedVersion: 99, note: 'lens cleaning' },
    });
    expectProblem(stale, 409, 'CONFLICT');
    expect(stale.headers.get('retry-after')).toBe('1');
    // The same with the copy's current version goes through.
    const listed = await call('GET', `/catalog/entries/${entry.id}/copies`, { token: staff });
    const version: number = listed.body.items[0].version;
    const sent = await call('POST', `/catalog/copies/${copyId}/maintenance`, {
      token: staff,
      body: { expectedVersion: version, note: 'lens cleaning' },
    });
    expect(sent.status, JSON.stringify(sent.body)).toBe(200);
    expect(sent.body).toMatchObject({ status: 'mantenimiento', version: version + 1 });

    // Signed out: the token no longer works.
    expect((await call('DELETE', '/session', { token: staff })).status).toBe(204);
    expectProblem(await call('GET', '/loans/pending', { token: staff }), 401, 'AUTH_FAILED');
  });

  it('publishes the routes as OpenAPI 3.1', async () => {
    const answer = await call('GET', '/openapi.json');
    expect(answer.status).toBe(200);
    expect(answer.body.openapi).toBe('3.1.0');
    expect(answer.body.paths['/loans/{loanId}/approve'].post.operationId).toBe('loans.approve');
  });
});
