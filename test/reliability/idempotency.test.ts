/**
 * Idempotency keys (issue 10, defect 4: "UNAVAILABLE for a write that committed, and retries that
 * duplicate"), on SQLite and PostgreSQL:
 *
 * - every command that creates or moves things, repeated with the same `idempotencyKey`, returns
 *   its first result (deep-equal, instants included), writes nothing and publishes no event;
 * - the same key with another input, command or acting user → `IDEMPOTENCY_KEY_REUSED`, nothing
 *   written;
 * - the same key sent by ten requests at once: one effect, ten equal answers.
 *
 * PostgreSQL only (SQLite has no connection to lose): a TCP proxy cuts the connection right after
 * the server has committed. Without a key the command reports `UNAVAILABLE` although it committed,
 * and repeating it duplicates (`request`) or fails (`approve`/`return`: `INVALID_TRANSITION`) —
 * what `UNAVAILABLE` can mean, documented in the README. With a key the command finds its own
 * committed result and returns it, and a repeat returns the same.
 */
import { MikroORM } from '@mikro-orm/core';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatalogService } from '../../src/catalog/catalog.service.ts';
import { Loan } from '../../src/entities/loan.entity.ts';
import { SwlError } from '../../src/errors.ts';
import { HoldService } from '../../src/holds/hold.service.ts';
import { LoanService } from '../../src/loans/loan.service.ts';
import { preparePostgresStatements } from '../../src/postgres.ts';
import { ReservationService } from '../../src/reservations/reservation.service.ts';
import { VisitorLogService } from '../../src/visitors/visitor-log.service.ts';
import {
  describeEachDialect,
  expectSwlError,
  recordingBus,
  rowCounts,
  uniqueId,
  useDesk,
} from '../support/fixtures.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

const newKey = () => `key-${uniqueId()}`;

describeEachDialect('idempotency keys', (dialect) => {
  const desk = useDesk(dialect);
  const { events, received } = recordingBus();

  const loans = () => new LoanService(desk.em(), { clock: desk.clock, events });
  const catalog = () => new CatalogService(desk.em(), { clock: desk.clock, events });
  const visits = () => new VisitorLogService(desk.em(), { clock: desk.clock, events });
  const reservations = () => new ReservationService(desk.em(), { clock: desk.clock, events });
  const holds = () => new HoldService(desk.em(), { clock: desk.clock, events });

  /** Runs `call` twice with one key: the second answer equals the first, writes nothing, tells nobody. */
  async function twice<T>(call: (key: string) => Promise<T>): Promise<T> {
    const key = newKey();
    const first = await call(key);
    const before = await rowCounts(desk.orm);
    const heard = received.length;
    desk.clock.advance({ minutes: 1 }); // a repeat later on must still return the first instants
    const second = await call(key);
    expect(second).toEqual(first);
    expect(await rowCounts(desk.orm)).toEqual(before);
    expect(received.length).toBe(heard);
    return first;
  }

  it('every loan command repeated with its key returns the first result and writes nothing', async () => {
    const student = await desk.user('student');
    const entry = await desk.entry('general', 3, { replacementCost: 70_000 });
    const a = await twice((key) =>
      loans().request(student, { catalogEntryId: entry.id, idempotencyKey: key }),
    );
    const approved = await twice((key) => loans().approve(desk.staff, { loanId: a.id, idempotencyKey: key }));
    expect(approved.status).toBe('aprobado');
    await twice((key) => loans().renew(student, { loanId: a.id, idempotencyKey: key }));
    const back = await twice((key) =>
      loans().return(desk.staff, { loanId: a.id, outcome: 'lost', idempotencyKey: key }),
    );
    expect(back.finalPenalty).toBe(70_000);
    await twice((key) =>
      loans().settlePenalty(desk.staff, { loanId: a.id, settlement: 'paid', idempotencyKey: key }),
    );
    const b = await loans().request(student, { catalogEntryId: entry.id });
    await twice((key) => loans().reject(desk.staff, { loanId: b.id, reason: 'no', idempotencyKey: key }));
    const c = await loans().request(student, { catalogEntryId: entry.id });
    await twice((key) => loans().cancel(student, { loanId: c.id, idempotencyKey: key }));
  });

  it('catalog and visitor commands repeated with their key return the first result and write nothing', async () => {
    const made = await twice((key) =>
      catalog().createEntry(desk.admin, {
        titleOrName: 'Proyector idempotente',
        category: 'premium',
        copies: 2,
        idempotencyKey: key,
      }),
    );
    await twice((key) =>
      catalog().addCopies(desk.staff, { catalogEntryId: made.entry.id, count: 3, idempotencyKey: key }),
    );
    const copy = made.copies[0]?.id as number;
    await twice((key) => catalog().sendToMaintenance(desk.staff, { copyId: copy, idempotencyKey: key }));
    await twice((key) => catalog().repair(desk.staff, { copyId: copy, idempotencyKey: key }));
    await twice((key) => catalog().markLost(desk.staff, { copyId: copy, idempotencyKey: key }));
    await twice((key) => catalog().markFound(desk.staff, { copyId: copy, idempotencyKey: key }));
    await twice((key) =>
      visits().recordVisit(desk.staff, {
        visitorName: 'Ana',
        visitorId: '123',
        role: 'visitor',
        activity: 'estudio',
        idempotencyKey: key,
      }),
    );
  });

  it('every reservation command repeated with its key returns the first result and writes nothing', async () => {
    const teacher = await desk.user('teacher');
    const entry = await desk.entry('premium', 2);
    const hours = (h: number) => new Date(desk.clock.now().getTime() + h * 60 * 60 * 1000);
    const booking = { catalogEntryId: entry.id, startsAt: hours(24), endsAt: hours(26) };
    // A teacher's booking needs confirmation (the default premium × teacher policy).
    const a = await twice((key) => reservations().reserve(teacher, { ...booking, idempotencyKey: key }));
    expect(a.status).toBe('solicitada');
    const confirmed = await twice((key) =>
      reservations().confirm(desk.staff, { reservationId: a.id, idempotencyKey: key }),
    );
    expect(confirmed.status).toBe('confirmada');
    const picked = await twice((key) =>
      reservations().pickUp(desk.staff, { reservationId: a.id, idempotencyKey: key }),
    );
    expect(picked.reservation.status).toBe('recogida');
    expect(picked.loans).toHaveLength(1);
    // Staff book for a teacher, who cancels.
    const forTeacher = { ...booking, borrowerId: teacher.id, startsAt: hours(48), endsAt: hours(50) };
    const b = await twice((key) =>
      reservations().reserve(desk.staff, { ...forTeacher, idempotencyKey: key }),
    );
    const cancelled = await twice((key) =>
      reservations().cancel(teacher, { reservationId: b.id, reason: 'not needed', idempotencyKey: key }),
    );
    expect(cancelled.status).toBe('cancelada');
    // A repeat with the key is not a second booking of the same stock.
    const full = { ...booking, quantity: 2, startsAt: hours(72), endsAt: hours(74) };
    await twice((key) => reservations().reserve(desk.staff, { ...full, idempotencyKey: key }));
  });

  it('every hold command repeated with its key returns the first result and writes nothing', async () => {
    const holder = await desk.user('teacher');
    const first = await desk.user('student');
    const second = await desk.user('student');
    // The title's only copy is on loan: nothing can be lent now, so holds may be placed.
    const entry = await desk.entry('general', 1);
    const lent = await loans().request(holder, { catalogEntryId: entry.id });
    await loans().approve(desk.staff, { loanId: lent.id });
    const a = await twice((key) =>
      holds().placeHold(first, { catalogEntryId: entry.id, idempotencyKey: key }),
    );
    expect(a).toMatchObject({ status: 'en_espera', position: 1 });
    // Staff place one for another borrower, who cancels it.
    const b = await twice((key) =>
      holds().placeHold(desk.staff, { catalogEntryId: entry.id, borrowerId: second.id, idempotencyKey: key }),
    );
    expect(b).toMatchObject({ status: 'en_espera', position: 2 });
    const cancelled = await twice((key) =>
      holds().cancelHold(second, { holdId: b.id, reason: 'not needed', idempotencyKey: key }),
    );
    expect(cancelled.status).toBe('cancelada');
    // The copy comes back and is set aside for the first hold; staff check it out to its borrower.
    const back = await loans().return(desk.staff, { loanId: lent.id, outcome: 'ok' });
    expect(back.setAsideForHold?.holdId).toBe(a.id);
    const fulfilled = await twice((key) =>
      holds().fulfillHold(desk.staff, { holdId: a.id, idempotencyKey: key }),
    );
    expect(fulfilled.hold.status).toBe('cumplida');
    expect(fulfilled.loan).toMatchObject({
      status: 'aprobado',
      borrowerId: first.id,
      copyId: entry.copies[0],
    });
  });

  it('a key reused with another input, command or acting user is IDEMPOTENCY_KEY_REUSED and writes nothing', async () => {
    const student = await desk.user('student');
    const other = await desk.user('student');
    const entry = await desk.entry('general', 2);
    const key = newKey();
    const loan = await loans().request(student, { catalogEntryId: entry.id, idempotencyKey: key });
    const before = await rowCounts(desk.orm);
    await expectSwlError(
      loans().request(student, { copyId: entry.copies[0], idempotencyKey: key }),
      'IDEMPOTENCY_KEY_REUSED',
    );
    await expectSwlError(
      loans().request(student, { catalogEntryId: entry.id, observation: 'changed', idempotencyKey: key }),
      'IDEMPOTENCY_KEY_REUSED',
    );
    await expectSwlError(
      loans().cancel(student, { loanId: loan.id, idempotencyKey: key }),
      'IDEMPOTENCY_KEY_REUSED',
    );
    await expectSwlError(
      loans().request(other, { catalogEntryId: entry.id, idempotencyKey: key }),
      'IDEMPOTENCY_KEY_REUSED',
    );
    expect(await rowCounts(desk.orm)).toEqual(before);
    expect(new SwlError('IDEMPOTENCY_KEY_REUSED', 'x').httpStatus).toBe(422);
  });

  it('a field sent as undefined is the same request as one left out: the repeat gets the first result', async () => {
    const student = await desk.user('student');
    const entry = await desk.entry('general', 1);
    const key = newKey();
    const first = await loans().request(student, { catalogEntryId: entry.id, idempotencyKey: key });
    const before = await rowCounts(desk.orm);
    expect(
      await loans().request(student, {
        catalogEntryId: entry.id,
        copyId: undefined,
        observation: undefined,
        idempotencyKey: key,
      }),
    ).toEqual(first);
    expect(await rowCounts(desk.orm)).toEqual(before);
  });

  it('ten requests with one key at once: one loan, ten equal answers', async () => {
    const teacher = await desk.user('teacher');
    const entry = await desk.entry('general', 1);
    const key = newKey();
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () =>
        loans().request(teacher, { catalogEntryId: entry.id, idempotencyKey: key }),
      ),
    );
    const answers = results.map((r) => (r.status === 'fulfilled' ? r.value : r.reason));
    for (const answer of answers) expect(answer).toEqual(answers[0]);
    expect(await desk.em().count(Loan, { borrower: teacher.id })).toBe(1);
  });

  it('the same approval with one key from two desks at once: one approval, two equal answers', async () => {
    const student = await desk.user('student');
    const entry = await desk.entry('general', 1);
    const loan = await loans().request(student, { catalogEntryId: entry.id });
    const key = newKey();
    const [x, y] = await Promise.all([
      loans().approve(desk.staff, { loanId: loan.id, idempotencyKey: key }),
      loans().approve(desk.staff, { loanId: loan.id, idempotencyKey: key }),
    ]);
    expect(y).toEqual(x);
    expect(x.status).toBe('aprobado');
  });
});

describe('[postgresql] a connection cut after COMMIT', () => {
  const desk = useDesk('postgresql');
  let proxy: TcpProxy;
  let viaProxy: MikroORM;
  /** Kysely never hands back a connection that died inside commit (kysely#1990): return them at the end. */
  const checkedOut = new Set<pg.PoolClient>();

  beforeAll(async () => {
    proxy = await startTcpProxy(desk.db.location);
    viaProxy = await MikroORM.init(
      await desk.db.options({
        overrides: {
          clientUrl: proxy.url,
          driverOptions: {
            onPoolCreated(pool: pg.Pool) {
              preparePostgresStatements(pool);
              pool.on('acquire', (client) => checkedOut.add(client));
              pool.on('release', (_error, client) => checkedOut.delete(client));
            },
          },
        },
      }),
    );
  });
  afterAll(async () => {
    for (const client of checkedOut) client.release(new Error('connection cut by the test'));
    await viaProxy?.close(true);
    await proxy?.close();
  });

  const loans = () => new LoanService(viaProxy.em.fork(), { clock: desk.clock });

  /**
   * Runs `command` with the connection cut right after the server committed it; settles as the
   * command did, once the cut is done.
   */
  async function withCutAfterCommit<T>(command: () => Promise<T>): Promise<T> {
    const cut = proxy.cutAfterCommit();
    try {
      return await command();
    } finally {
      await cut;
    }
  }

  it('without a key: UNAVAILABLE although the request committed, and the retry makes a second loan', async () => {
    const student = await desk.user('student');
    const entry = await desk.entry('general', 2);
    await expectSwlError(
      withCutAfterCommit(() => loans().request(student, { catalogEntryId: entry.id })),
      'UNAVAILABLE',
    );
    expect(await desk.em().count(Loan, { borrower: student.id })).toBe(1); // it did commit
    await loans().request(student, { catalogEntryId: entry.id }); // the blind retry
    expect(await desk.em().count(Loan, { borrower: student.id })).toBe(2);
  });

  it('with a key: request, approve and return each return their committed result; repeats change nothing', async () => {
    const student = await desk.user('student');
    const entry = await desk.entry('general', 1);
    const requestKey = newKey();
    const requested = await withCutAfterCommit(() =>
      loans().request(student, { catalogEntryId: entry.id, idempotencyKey: requestKey }),
    );
    expect(requested).not.toBeInstanceOf(SwlError);
    const loanId = requested.id;
    expect(await loans().request(student, { catalogEntryId: entry.id, idempotencyKey: requestKey })).toEqual(
      requested,
    );
    expect(await desk.em().count(Loan, { borrower: student.id })).toBe(1);

    const approveKey = newKey();
    const approved = await withCutAfterCommit(() =>
      loans().approve(desk.staff, { loanId, idempotencyKey: approveKey }),
    );
    expect(approved).toMatchObject({ id: loanId, status: 'aprobado' });
    expect(await loans().approve(desk.staff, { loanId, idempotencyKey: approveKey })).toEqual(approved);

    const returnKey = newKey();
    const returned = await withCutAfterCommit(() =>
      loans().return(desk.staff, { loanId, idempotencyKey: returnKey }),
    );
    expect(returned).toMatchObject({ id: loanId, status: 'devuelto' });
    expect(await loans().return(desk.staff, { loanId, idempotencyKey: returnKey })).toEqual(returned);
    expect(await desk.em().count(Loan, { borrower: student.id })).toBe(1);
  });
});
