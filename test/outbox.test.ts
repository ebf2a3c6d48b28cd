/**
 * The outbox reader (`SwlOutbox`, src/outbox.ts) on both databases: it returns exactly the events
 * the bus publishes — loan, copy, reservation and hold events — pages across the four tables
 * without skipping or repeating, still accepts the `v1` cursors hosts saved before reservation and
 * hold events were read, never skips an event whose transaction commits after a later-numbered
 * one (issue 10, defect 3), and loses or repeats nothing under concurrent writers. A naive
 * `id > lastSeen` poller runs beside it to show the defect it fixes.
 */
import { type EntityManager, IsolationLevel, type MikroORM } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/sql';
import { describe, expect, it } from 'vitest';
import { CatalogService } from '../src/catalog/catalog.service.ts';
import { LoanEvent } from '../src/entities/loan-event.entity.ts';
import { ReservationEvent } from '../src/entities/reservation-event.entity.ts';
import type { SwlDomainEvent, SwlEventBus } from '../src/events.ts';
import { HoldService } from '../src/holds/hold.service.ts';
import { LoanService } from '../src/loans/loan.service.ts';
import { SwlOutbox, type SwlOutboxPage } from '../src/outbox.ts';
import type { Actor } from '../src/permissions.ts';
import { ReservationService } from '../src/reservations/reservation.service.ts';
import {
  type Desk,
  deferred,
  describeEachDialect,
  expectSwlError,
  recordingBus,
  useDesk,
} from './support/fixtures.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const HOUR = 3_600_000;

/** `loan:12`, `copy:7`, `reservation:3`, `hold:5`: an event's identity across the four tables. */
const keyOf = (e: { kind: string; id: number }) => `${e.kind}:${e.id}`;

/** The event tables the outbox reads, by event kind. */
const EVENT_TABLES = {
  loan: 'swl_loan_event',
  copy: 'swl_instance_event',
  reservation: 'swl_reservation_event',
  hold: 'swl_hold_event',
} as const;

/** Every event row of the four tables, as keys. */
async function allEventKeys(orm: MikroORM): Promise<string[]> {
  const rows: { kind: string; id: number | string }[] = await orm.em
    .fork()
    .getConnection()
    .execute(
      Object.entries(EVENT_TABLES)
        .map(([kind, table]) => `select '${kind}' as kind, id from ${table}`)
        .join(' union all '),
    );
  return rows.map((r) => `${r.kind}:${Number(r.id)}`);
}

/** The record an event belongs to: `loan:4` for a loan transition, `hold:2` for a hold's… */
function subjectOf(e: SwlDomainEvent): string {
  if (e.kind === 'loan') return `loan:${e.loanId}`;
  if (e.kind === 'copy') return `copy:${e.copyId}`;
  if (e.kind === 'reservation') return `reservation:${e.reservationId}`;
  return `hold:${e.holdId}`;
}

/** The kind order of the outbox at one instant (src/outbox.ts). */
const KIND_ORDER = { copy: 0, loan: 1, hold: 2, reservation: 3 } as const;

/**
 * The order the outbox documents: by `at`, then kind (`copy`, `loan`, `hold`, `reservation`),
 * then id. It differs from the bus's only inside one command, which publishes in write order.
 */
const inOutboxOrder = (events: readonly SwlDomainEvent[]) =>
  [...events].sort(
    (a, b) => a.at.getTime() - b.at.getTime() || KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || a.id - b.id,
  );

/** The numbers of a `v2` cursor: low, high, loanId, copyId, reservationId, holdId. */
const v2Fields = (cursor: string) =>
  cursor
    .split('.')
    .slice(1)
    .map((n) => Number.parseInt(n, 36));

/**
 * A desk's reservation and hold traffic, each command a clock minute after the last: a teacher's
 * booking confirmed by staff and picked up (a loan); a staff booking (confirmed at once); a
 * general copy lent, two holds placed, the return setting the copy aside for the first, its
 * pickup (a loan) and the second hold cancelled.
 */
async function reservationsAndHolds(desk: Desk, events?: SwlEventBus): Promise<void> {
  const options = { clock: desk.clock, ...(events ? { events } : {}) };
  const reservations = new ReservationService(desk.em(), options);
  const holds = new HoldService(desk.em(), options);
  const loans = new LoanService(desk.em(), options);
  const step = () => desk.clock.advance({ minutes: 1 });
  const teacher = await desk.user('teacher');
  const premium = await desk.entry('premium', 2);
  const startsAt = new Date(desk.clock.now().getTime() + 2 * HOUR);
  const booked = await reservations.reserve(teacher, {
    catalogEntryId: premium.id,
    startsAt,
    endsAt: new Date(startsAt.getTime() + 2 * HOUR),
  });
  step();
  await reservations.confirm(desk.staff, { reservationId: booked.id });
  step();
  await reservations.reserve(desk.staff, {
    copyId: premium.copies[1] as number,
    startsAt: new Date(startsAt.getTime() + 5 * HOUR),
    endsAt: new Date(startsAt.getTime() + 6 * HOUR),
  });
  desk.clock.set(startsAt);
  await reservations.pickUp(desk.staff, { reservationId: booked.id });
  step();

  const general = await desk.entry('general', 1);
  const [holder, first, second] = [
    await desk.user('student'),
    await desk.user('student'),
    await desk.user('teacher'),
  ];
  const lent = await loans.request(holder, { catalogEntryId: general.id });
  step();
  await loans.approve(desk.staff, { loanId: lent.id });
  step();
  const h1 = await holds.placeHold(first, { catalogEntryId: general.id });
  step();
  const h2 = await holds.placeHold(second, { catalogEntryId: general.id });
  step();
  await loans.return(desk.staff, { loanId: lent.id }); // the copy is set aside for h1
  step();
  await holds.fulfillHold(desk.staff, { holdId: h1.id });
  step();
  await holds.cancelHold(second, { holdId: h2.id });
  step();
}

/**
 * Reads pages (`limit` each) from `after` until a page comes back empty and `done` holds for
 * everything read, or `timeoutMs` passes (then the caller's assertions say what is missing).
 */
async function readUntil(
  outbox: SwlOutbox,
  after: string | undefined,
  limit: number,
  done: (events: SwlDomainEvent[]) => boolean = () => true,
  timeoutMs = 30_000,
): Promise<{ events: SwlDomainEvent[]; cursor: string | undefined }> {
  const events: SwlDomainEvent[] = [];
  let cursor = after;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const page: SwlOutboxPage = await outbox.read({ after: cursor, limit });
    events.push(...page.events);
    cursor = page.cursor;
    if (page.events.length === 0) {
      if (done(events) || Date.now() > deadline) return { events, cursor };
      await sleep(10);
    }
  }
}

/**
 * PostgreSQL: waits until every transaction that wrote an event has ended (the snapshot's xmin is
 * above every `tx_id`), so one window holds them all whenever a reader opens it. Transactions of
 * other test files on the same server can hold xmin back for a while; that delays, never loses.
 */
async function settle(orm: MikroORM, dialect: string): Promise<void> {
  if (dialect !== 'postgresql') return;
  const conn = orm.em.fork().getConnection();
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const tops = Object.values(EVENT_TABLES).map((t) => `(select coalesce(max(tx_id), 0) from ${t})`);
    const [row] = await conn.execute<{ top: string; xmin: string }[]>(
      `select greatest(${tops.join(', ')})::text as top,
              pg_snapshot_xmin(pg_current_snapshot())::text as xmin`,
    );
    if (Number(row?.xmin) > Number(row?.top)) return;
    await sleep(20);
  }
  throw new Error('an older transaction stayed open for 30 s');
}

/**
 * The naive outbox the README used to document: "poll by increasing id", per table, remembering
 * the highest id seen.
 */
function naivePoller(em: () => EntityManager) {
  const seen = new Set<string>();
  const last = { loan: 0, copy: 0 };
  const tables = { loan: 'swl_loan_event', copy: 'swl_instance_event' } as const;
  return {
    seen,
    async poll(): Promise<void> {
      for (const kind of ['loan', 'copy'] as const) {
        const rows = await em()
          .getConnection()
          .execute<{ id: number | string }[]>(`select id from ${tables[kind]} where id > ? order by id`, [
            last[kind],
          ]);
        for (const r of rows) {
          seen.add(`${kind}:${Number(r.id)}`);
          last[kind] = Math.max(last[kind], Number(r.id));
        }
      }
    },
  };
}

describeEachDialect('outbox reader (SwlOutbox)', (dialect) => {
  const desk = useDesk(dialect);

  const outbox = () => new SwlOutbox(desk.em());

  /** A cursor after every event written so far. */
  async function tail(): Promise<string | undefined> {
    await settle(desk.orm, dialect);
    return (await readUntil(outbox(), undefined, 1000)).cursor;
  }

  it('the outbox reader returns every event the bus published, in order, with the same shape', async () => {
    const { events, received } = recordingBus();
    const loans = new LoanService(desk.em(), { clock: desk.clock, events });
    const catalog = new CatalogService(desk.em(), { clock: desk.clock, events });
    const teacher = await desk.user('teacher');
    const entry = await desk.entry('general', 2);
    const [copy1, copy2] = entry.copies as [number, number];
    const step = () => desk.clock.advance({ minutes: 1 });

    const loan = await loans.request(teacher, { copyId: copy1 });
    step();
    await loans.approve(desk.staff, { loanId: loan.id });
    step();
    await loans.renew(teacher, { loanId: loan.id });
    step();
    await loans.return(desk.staff, { loanId: loan.id, outcome: 'damaged', observation: 'cracked' });
    step();
    await catalog.repair(desk.staff, { copyId: copy1, note: 'glued' });
    step();
    await catalog.markLost(desk.staff, { copyId: copy2, note: 'not on the shelf' });
    step();
    const second = await loans.request(teacher, { catalogEntryId: entry.id });
    step();
    await loans.reject(desk.staff, { loanId: second.id, reason: 'copy in repair' });
    step();
    expect(received.map((e) => e.kind)).toEqual([
      'loan',
      'copy',
      'loan',
      'loan',
      'copy',
      'loan',
      'copy',
      'copy',
      'loan',
      'loan',
    ]);

    const published = new Set(received.map(keyOf));
    const { events: read } = await readUntil(outbox(), undefined, 100, (got) =>
      [...published].every((k) => got.some((e) => keyOf(e) === k)),
    );
    expect(read.filter((e) => published.has(keyOf(e)))).toEqual(received);
    // Field by field, including `at` as a Date and `data` as an object.
    const approved = read.find((e) => e.kind === 'loan' && e.type === 'approved' && e.loanId === loan.id);
    expect(approved?.at).toBeInstanceOf(Date);
    expect(approved?.kind === 'loan' && typeof approved.data).toBe('object');
    // Nothing else: exactly the rows of both tables, each once.
    expect(read.map(keyOf).sort()).toEqual((await allEventKeys(desk.orm)).sort());
  });

  it('reservation and hold events: the outbox returns what the bus published, in the documented order', async () => {
    const { events, received } = recordingBus();
    await reservationsAndHolds(desk, events);
    const kinds = new Set(received.map((e) => e.kind));
    expect([...kinds].sort()).toEqual(['copy', 'hold', 'loan', 'reservation']);
    expect(
      received.flatMap((e) => (e.kind === 'reservation' || e.kind === 'hold' ? [`${e.kind}:${e.type}`] : [])),
    ).toEqual([
      'reservation:requested',
      'reservation:confirmed',
      'reservation:requested',
      'reservation:confirmed',
      'reservation:picked_up',
      'hold:placed',
      'hold:placed',
      'hold:ready',
      'hold:fulfilled',
      'hold:cancelled',
    ]);

    const published = new Set(received.map(keyOf));
    const { events: read } = await readUntil(outbox(), undefined, 100, (got) =>
      [...published].every((k) => got.some((e) => keyOf(e) === k)),
    );
    const ours = read.filter((e) => published.has(keyOf(e)));
    // Field by field the same events (`at` a Date, `data` an object), in the documented order…
    expect(ours).toEqual(inOutboxOrder(received));
    expect(new Set(ours.map(keyOf)).size).toBe(received.length);
    // Not the bus's order inside a command: a hold pickup publishes `fulfilled` before its loan's
    // events; the outbox, by kind at one instant, after them.
    const fulfilled = (list: SwlDomainEvent[]) =>
      list.findIndex((e) => e.kind === 'hold' && e.type === 'fulfilled');
    expect(ours[fulfilled(ours) - 1]).toMatchObject({ kind: 'loan', type: 'approved' });
    expect(received[fulfilled(received) + 1]).toMatchObject({ kind: 'loan', type: 'requested' });
    // The bus's order across commands, and for each record its transitions' order.
    for (const subject of new Set(received.map(subjectOf))) {
      const types = (list: SwlDomainEvent[]) =>
        list.filter((e) => subjectOf(e) === subject).map((e) => e.type);
      expect(types(ours), subject).toEqual(types(received));
    }
    const pickedUp = ours.find((e) => e.kind === 'reservation' && e.type === 'picked_up');
    expect(pickedUp?.at).toBeInstanceOf(Date);
    expect(pickedUp?.kind === 'reservation' && pickedUp.data).toMatchObject({
      loanIds: [expect.any(Number)],
    });
    const ready = ours.find((e) => e.kind === 'hold' && e.type === 'ready');
    expect(ready).toMatchObject({ kind: 'hold', from: 'en_espera', to: 'lista', actorId: desk.staff.id });
    // Nothing else: exactly the rows of the four tables, each once.
    expect(read.map(keyOf).sort()).toEqual((await allEventKeys(desk.orm)).sort());
  });

  it('paging with a small limit neither skips nor repeats', async () => {
    await reservationsAndHolds(desk);
    const loans = new LoanService(desk.em(), { clock: desk.clock });
    const entry = await desk.entry('general', 3);
    for (const copy of entry.copies) {
      const borrower = await desk.user('teacher');
      const loan = await loans.request(borrower, { copyId: copy });
      await loans.approve(desk.staff, { loanId: loan.id });
      if (copy !== entry.copies[0]) await loans.return(desk.staff, { loanId: loan.id });
    }
    await settle(desk.orm, dialect);
    const total = (await allEventKeys(desk.orm)).length;
    const all = (await readUntil(outbox(), undefined, 1000, (got) => got.length >= total)).events;
    expect(all).toHaveLength(total);
    expect(new Set(all.map(keyOf)).size).toBe(total);
    expect(new Set(all.map((e) => e.kind))).toEqual(new Set(Object.keys(EVENT_TABLES)));
    for (const limit of [1, 2, 3]) {
      const paged = await readUntil(outbox(), undefined, limit, (got) => got.length >= total);
      expect(paged.events, `limit ${limit}`).toEqual(all);
    }
    // Continuing from the end returns nothing more.
    const end = await readUntil(outbox(), undefined, 2, (got) => got.length >= total);
    expect((await outbox().read({ after: end.cursor })).events).toEqual([]);
  });

  if (dialect === 'postgresql') {
    it('out of order commit: a host transaction holding event 2 open while event 3 commits is not skipped', async () => {
      const cursor = await tail();
      const naive = naivePoller(() => desk.em());
      await naive.poll();
      const [first, second] = [await desk.entry('general', 1), await desk.entry('general', 1)];
      const [alice, bob] = [await desk.user('teacher'), await desk.user('teacher')];

      // The host transaction requests a loan (event 2: the lower id) and stays open.
      const hostWrote = deferred();
      const hostMayCommit = deferred();
      let hostLoanId = 0;
      let seenInsideHost: SwlDomainEvent[] = [];
      const host = desk.em().transactional(async (em) => {
        hostLoanId = (
          await new LoanService(em, { clock: desk.clock }).request(alice, { catalogEntryId: first.id })
        ).id;
        // A reader inside the host transaction does not see its own uncommitted event either.
        seenInsideHost = (await new SwlOutbox(em).read({ after: cursor, limit: 1000 })).events;
        hostWrote.resolve();
        await hostMayCommit.promise;
      });
      await hostWrote.promise;
      // Another command commits meanwhile (event 3: the higher id).
      const other = await new LoanService(desk.em(), { clock: desk.clock }).request(bob, {
        catalogEntryId: second.id,
      });
      const otherRows = await desk.em().find(LoanEvent, { loan: other.id });
      expect(otherRows).toHaveLength(1);

      // The naive poller sees event 3 and moves past event 2, which is not visible yet.
      await naive.poll();
      const otherKey = `loan:${otherRows[0]?.id}`;
      expect(naive.seen.has(otherKey)).toBe(true);

      // The outbox delivers neither while the older transaction is open.
      const during = await outbox().read({ after: cursor, limit: 1000 });
      const ours = (e: SwlDomainEvent) => e.kind === 'loan' && [hostLoanId, other.id].includes(e.loanId);
      expect(during.events.filter(ours)).toEqual([]);
      expect(seenInsideHost.filter(ours)).toEqual([]);

      hostMayCommit.resolve();
      await host;
      const [hostRow] = await desk.em().find(LoanEvent, { loan: hostLoanId });
      const hostKey = `loan:${hostRow?.id}`;
      expect(hostRow?.id).toBeLessThan(otherRows[0]?.id ?? 0);

      // The naive poller never sees event 2: the defect.
      await naive.poll();
      expect(naive.seen.has(hostKey)).toBe(false);

      // The outbox, continuing from the cursor it returned during the wait, delivers both once.
      const after = await readUntil(outbox(), during.cursor, 1000, (got) => got.filter(ours).length >= 2);
      expect(after.events.filter(ours).map(keyOf)).toEqual([hostKey, otherKey]);
      expect(new Set(after.events.map(keyOf)).size).toBe(after.events.length);
    });

    it('out of order commit: a host transaction holding a reservation event open while a later one commits is not skipped', async () => {
      const cursor = await tail();
      const [first, second] = [await desk.entry('premium', 1), await desk.entry('premium', 1)];
      const [alice, bob] = [await desk.user('teacher'), await desk.user('teacher')];
      const startsAt = new Date(desk.clock.now().getTime() + 24 * HOUR);
      const book = (em: EntityManager, who: Actor, entryId: number) =>
        new ReservationService(em, { clock: desk.clock }).reserve(who, {
          catalogEntryId: entryId,
          startsAt,
          endsAt: new Date(startsAt.getTime() + HOUR),
        });

      // The host transaction books (the lower event id; a teacher's booking waits for staff: one
      // event) and stays open.
      const hostWrote = deferred();
      const hostMayCommit = deferred();
      let hostBooking = 0;
      const host = desk.em().transactional(async (em) => {
        hostBooking = (await book(em, alice, first.id)).id;
        hostWrote.resolve();
        await hostMayCommit.promise;
      });
      await hostWrote.promise;
      const other = await book(desk.em(), bob, second.id); // commits first, with the higher id
      const ours = (e: SwlDomainEvent) =>
        e.kind === 'reservation' && [hostBooking, other.id].includes(e.reservationId);

      const during = await outbox().read({ after: cursor, limit: 1000 });
      expect(during.events.filter(ours)).toEqual([]);

      hostMayCommit.resolve();
      await host;
      const rows = await desk
        .em()
        .find(ReservationEvent, { reservation: [hostBooking, other.id] }, { orderBy: { id: 'asc' } });
      expect(rows.map((r) => r.reservation.id)).toEqual([hostBooking, other.id]);

      const after = await readUntil(outbox(), during.cursor, 2, (got) => got.filter(ours).length >= 2);
      expect(after.events.filter(ours).map(keyOf)).toEqual(rows.map((r) => `reservation:${r.id}`));
      expect(new Set(after.events.map(keyOf)).size).toBe(after.events.length);
    });

    it('a reader on a snapshot older than its cursor (REPEATABLE READ host transaction) waits instead of skipping', async () => {
      const cursor = await tail();
      const entries = [
        await desk.entry('general', 1),
        await desk.entry('general', 1),
        await desk.entry('general', 1),
      ];
      const [ann, alice, bob] = [
        await desk.user('teacher'),
        await desk.user('teacher'),
        await desk.user('teacher'),
      ];
      const request = (em: EntityManager, who: Actor, k: number) =>
        new LoanService(em, { clock: desk.clock }).request(who, { catalogEntryId: entries[k]?.id ?? 0 });

      const e1 = await request(desk.em(), ann, 0); // E1 commits
      const hostWrote = deferred();
      const hostMayCommit = deferred();
      let e2 = 0;
      const host = desk.em().transactional(async (em) => {
        e2 = (await request(em, alice, 1)).id; // E2: lower id, commits last
        hostWrote.resolve();
        await hostMayCommit.promise;
      });
      await hostWrote.promise;
      const e3 = await request(desk.em(), bob, 2); // E3: higher id, commits before E2

      // A REPEATABLE READ transaction takes its snapshot now: it sees E1 and E3, not E2.
      const snapshotTaken = deferred();
      const mayRead = deferred();
      let readInside: SwlOutboxPage | undefined;
      let c1 = cursor; // set below, before the old snapshot reads with it
      const old = desk.em().transactional(
        async (em) => {
          await (em as unknown as SqlEntityManager).execute('select 1');
          snapshotTaken.resolve();
          await mayRead.promise;
          readInside = await new SwlOutbox(em).read({ after: c1, limit: 1000 });
        },
        { isolationLevel: IsolationLevel.REPEATABLE_READ },
      );
      await snapshotTaken.promise;
      hostMayCommit.resolve();
      await host;

      // A current reader opens the window holding E1, E2 and E3 and takes E1 only.
      const ours = (e: SwlDomainEvent) => e.kind === 'loan' && [e1.id, e2, e3.id].includes(e.loanId);
      await settle(desk.orm, dialect);
      for (let first: SwlDomainEvent[] = []; first.length === 0; ) {
        const page = await outbox().read({ after: c1, limit: 1 });
        first = page.events;
        c1 = page.cursor;
        if (first.length === 0) await sleep(10);
      }
      // The old snapshot would see E3 (after the cursor) but not E2: it must return nothing.
      mayRead.resolve();
      await old;
      expect(readInside?.events.filter(ours)).toEqual([]);
      expect(readInside?.cursor).toBe(c1);

      const rest = await readUntil(outbox(), readInside?.cursor, 1000, (got) => got.filter(ours).length >= 2);
      expect(rest.events.filter(ours).map((e) => e.kind === 'loan' && e.loanId)).toEqual([e2, e3.id]);
    });
  } else {
    it('out of order commit cannot happen on SQLite: a second writer waits for the open host transaction, so id order is commit order', async () => {
      const cursor = await tail();
      const [first, second] = [await desk.entry('general', 1), await desk.entry('general', 1)];
      const [alice, bob] = [await desk.user('teacher'), await desk.user('teacher')];
      const hostWrote = deferred();
      const hostMayCommit = deferred();
      let hostLoanId = 0;
      let seenInsideHost: SwlDomainEvent[] = [];
      const host = desk.em().transactional(async (em) => {
        hostLoanId = (
          await new LoanService(em, { clock: desk.clock }).request(alice, { catalogEntryId: first.id })
        ).id;
        // Documented: on SQLite a reader inside the host transaction sees its uncommitted event.
        seenInsideHost = (await new SwlOutbox(em).read({ after: cursor, limit: 1000 })).events;
        hostWrote.resolve();
        await hostMayCommit.promise;
      });
      await hostWrote.promise;
      let otherDone = false;
      const other = new LoanService(desk.em(), { clock: desk.clock })
        .request(bob, { catalogEntryId: second.id })
        .then((l) => {
          otherDone = true;
          return l;
        });
      await sleep(200);
      expect(otherDone).toBe(false); // serialized behind the host transaction
      hostMayCommit.resolve();
      await host;
      const otherLoan = await other;
      expect(seenInsideHost.some((e) => e.kind === 'loan' && e.loanId === hostLoanId)).toBe(true);

      const ours = (e: SwlDomainEvent) => e.kind === 'loan' && [hostLoanId, otherLoan.id].includes(e.loanId);
      const read = await readUntil(outbox(), cursor, 1000, (got) => got.filter(ours).length >= 2);
      const ids = read.events.filter(ours).map((e) => (e.kind === 'loan' ? e.loanId : 0));
      expect(ids).toEqual([hostLoanId, otherLoan.id]);
    });
  }

  it('concurrent writers and a poller: 0 missed, 0 duplicated', async () => {
    const STREAMS = 8;
    const CYCLES = 10;
    const { events, received } = recordingBus();
    const streams = await Promise.all(
      Array.from({ length: STREAMS }, async () => ({
        borrower: await desk.user('teacher'),
        entry: await desk.entry('general', 2),
      })),
    );

    /** One command in its own host transaction that stays open 0–4 ms after the command. */
    const inHostTransaction = (run: (loans: LoanService) => Promise<{ id: number }>) =>
      desk.em().transactional(async (em) => {
        const result = await run(new LoanService(em, { clock: desk.clock, events }));
        await sleep(Math.floor(Math.random() * 5));
        return result;
      });
    const stream = async ({ borrower, entry }: { borrower: Actor; entry: { id: number } }) => {
      for (let k = 0; k < CYCLES; k++) {
        const loan = await inHostTransaction((l) => l.request(borrower, { catalogEntryId: entry.id }));
        await inHostTransaction((l) => l.approve(desk.staff, { loanId: loan.id }));
        await inHostTransaction((l) => l.return(desk.staff, { loanId: loan.id }));
      }
    };

    const reader = outbox();
    const naive = naivePoller(() => desk.em());
    const delivered: SwlDomainEvent[] = [];
    let cursor: string | undefined;
    let writing = true;
    const poller = (async () => {
      while (writing) {
        const page = await reader.read({ after: cursor, limit: 7 });
        delivered.push(...page.events);
        cursor = page.cursor;
        await naive.poll();
        if (page.events.length === 0) await sleep(1);
      }
    })();
    const started = Date.now();
    try {
      await Promise.all(streams.map(stream));
    } finally {
      writing = false;
      await poller;
    }
    const writeMs = Date.now() - started;
    await naive.poll();

    const rows = await allEventKeys(desk.orm);
    const rowSet = new Set(rows);
    const drained = await readUntil(reader, cursor, 7, (got) => {
      const have = new Set([...delivered, ...got].map(keyOf));
      return rows.every((k) => have.has(k));
    });
    delivered.push(...drained.events);

    const deliveredKeys = delivered.map(keyOf);
    const missed = rows.filter((k) => !deliveredKeys.includes(k));
    const duplicated = deliveredKeys.length - new Set(deliveredKeys).size;
    const naiveMissed = rows.filter((k) => !naive.seen.has(k));
    console.info(
      `[${dialect}] ${received.length} events from ${STREAMS} streams in ${writeMs} ms; outbox: ${missed.length} missed, ${duplicated} duplicated; naive id poller: ${naiveMissed.length} missed`,
    );
    expect(received.length).toBe(STREAMS * CYCLES * 5);
    expect(missed).toEqual([]);
    expect(duplicated).toBe(0);
    expect(deliveredKeys.filter((k) => !rowSet.has(k))).toEqual([]);
    // Every event the bus published arrives with the same shape.
    const byKey = new Map(delivered.map((e) => [keyOf(e), e]));
    for (const e of received) expect(byKey.get(keyOf(e))).toEqual(e);
    // Within one loan, transitions arrive in the order they committed.
    for (const loanId of new Set(received.flatMap((e) => (e.kind === 'loan' ? [e.loanId] : [])))) {
      const types = delivered.flatMap((e) => (e.kind === 'loan' && e.loanId === loanId ? [e.type] : []));
      expect(types).toEqual(['requested', 'approved', 'returned']);
    }
    if (dialect === 'postgresql') {
      const [nulls] = await desk
        .em()
        .getConnection()
        .execute<{ n: number | string }[]>(
          'select (select count(*) from swl_loan_event where tx_id is null) + (select count(*) from swl_instance_event where tx_id is null) as n',
        );
      expect(Number(nulls?.n)).toBe(0);
    }
  });

  it('a malformed cursor or limit is VALIDATION_FAILED', async () => {
    const reader = outbox();
    const good = (await reader.read({ limit: 1 })).cursor;
    expect(good).toMatch(/^v2(\.(0|[1-9a-z][0-9a-z]*)){6}$/);
    // The largest cursor there can be (two safe integers, four ids of 2³¹ − 1) fits in 64 characters.
    const largest = 'v2.2gosa7pa2gv.2gosa7pa2gv.zik0zj.zik0zj.zik0zj.zik0zj';
    expect(largest.length).toBeLessThanOrEqual(64);
    for (const after of [largest, 'v2.0.0.0.0.0.0', 'v1.0.0.0.0', 'v1.0.0.2147483647.2147483647']) {
      await expect(reader.read({ after, limit: 1 }), after).resolves.toBeDefined();
    }
    await expect(reader.read({ after: good, limit: 1 })).resolves.toBeDefined();
    await expect(reader.read({ after: null })).resolves.toBeDefined();
    await expect(reader.read()).resolves.toBeDefined();
    const badCursors: unknown[] = [
      '',
      'garbage',
      'v2.0.0.0.0',
      'v1.0.0.0',
      'v1.0.0.0.0.0',
      'v1.01.2.0.0',
      'v1.5.2.0.0', // low > high
      'v1.0.0.-1.0',
      'v1.0.0.0.99999999999', // id above 2³¹ − 1
      'v1.99999999999999999.99999999999999999.0.0', // not a safe integer
      'v1.0.0.0.2147483648', // passes the pattern; the id is above 2³¹ − 1
      'v1.9007199254740992.9007199254740992.0.0', // passes the pattern; not a safe integer
      `v1.0.0.0.0${' '.repeat(100)}`,
      "v1.0.0.0.0'; drop table swl_loan_event; --",
      'v2.0.0.0.0.0', // five numbers
      'v2.0.0.0.0.0.0.0', // seven
      'v2.00.0.0.0.0.0', // a leading zero
      'v2.0.0.A.0.0.0', // upper case
      'v2.0.0.0.0.0.-1',
      'v2.5.2.0.0.0.0', // low > high
      'v2.0.0.0.0.0.zik0zk', // id above 2³¹ − 1
      'v2.2gosa7pa2gw.2gosa7pa2gw.0.0.0.0', // not a safe integer
      'v2.0.0.0.0.0.100000000000', // twelve base-36 digits
      'v1.0.0.0.0.0.0', // a v1 cursor has four numbers
      'v3.0.0.0.0.0.0',
      12,
      { low: 0 },
    ];
    for (const after of badCursors) {
      await expectSwlError(reader.read({ after } as never), 'VALIDATION_FAILED');
    }
    for (const limit of [0, -1, 1001, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '10', null]) {
      await expectSwlError(reader.read({ limit } as never), 'VALIDATION_FAILED');
    }
    await expectSwlError(reader.read({ after: good, extra: 1 } as never), 'VALIDATION_FAILED');
    await expectSwlError(reader.read('v1.0.0.0.0' as never), 'VALIDATION_FAILED');
    const boom = () => {
      throw new TypeError('boom');
    };
    await expectSwlError(
      reader.read(new Proxy({}, { get: boom, ownKeys: boom }) as never),
      'VALIDATION_FAILED',
    );
  });

  describe('a v1 cursor saved before reservation and hold events were read', () => {
    const fresh = useDesk(dialect);

    it('is still accepted, continues with every reservation and hold event, and is answered with v2 cursors', async () => {
      const loans = new LoanService(fresh.em(), { clock: fresh.clock });
      const entry = await fresh.entry('general', 2);
      for (const copy of entry.copies) {
        const loan = await loans.request(await fresh.user('teacher'), { copyId: copy });
        await loans.approve(fresh.staff, { loanId: loan.id });
      }
      // What the host saved before the upgrade: the tail, before any reservation or hold existed.
      await settle(fresh.orm, dialect);
      const reader = new SwlOutbox(fresh.em());
      const before = await readUntil(reader, undefined, 3);
      const saved = before.cursor as string;
      const [low, high, loanId, copyId, reservationId, holdId] = v2Fields(saved);
      expect([reservationId, holdId]).toEqual([0, 0]);
      expect(loanId).toBeGreaterThan(0);
      const v1 = `v1.${low}.${high}.${loanId}.${copyId}`;
      // A v1 cursor of the start reads as the start.
      expect((await readUntil(reader, 'v1.0.0.0.0', 3)).events).toEqual(before.events);

      const { events, received } = recordingBus();
      await reservationsAndHolds(fresh, events);
      await settle(fresh.orm, dialect);
      const published = new Set(received.map(keyOf));
      const done = (got: SwlDomainEvent[]) => [...published].every((k) => got.some((e) => keyOf(e) === k));
      const fromV1 = await readUntil(reader, v1, 2, done);
      const fromV2 = await readUntil(reader, saved, 2, done);
      expect(fromV1.events).toEqual(fromV2.events);
      expect(fromV1.events).toEqual(inOutboxOrder(received));
      expect(fromV1.cursor).toMatch(/^v2\./);
      // Nothing skipped, nothing repeated: before the upgrade and after it, every row once.
      const keys = [...before.events, ...fromV1.events].map(keyOf);
      expect(keys.sort()).toEqual((await allEventKeys(fresh.orm)).sort());
      // And the first page from the v1 cursor already answers with a v2 cursor.
      expect((await reader.read({ after: v1, limit: 1 })).cursor).toMatch(/^v2\./);
    });
  });
});
