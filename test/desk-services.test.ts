/**
 * `deskServices` (the seven services of one request on one EntityManager, one clock, one bus) and
 * `withRetry` (repeats `CONFLICT`, and `UNAVAILABLE` only when told the command is idempotent), on
 * SQLite and PostgreSQL. Source: issue 13.
 */
import { EntityManager } from '@mikro-orm/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { deskServices, withRetry } from '../src/desk.ts';
import { SwlError, type SwlErrorCode } from '../src/errors.ts';
import type { LoanTransitionEvent } from '../src/events.ts';
import type { Actor } from '../src/permissions.ts';
import { describeEachDialect, expectSwlError, recordingBus, uniqueId, useDesk } from './support/fixtures.ts';

/** The EntityManager a service was built on (a protected field; read for the test only). */
const emOf = (service: object) => Reflect.get(service, 'em') as EntityManager;

describeEachDialect('deskServices', (dialect) => {
  const desk = useDesk(dialect);
  let student: Actor;
  beforeAll(async () => {
    student = await desk.user('student');
  });

  it('builds the seven services on one fork of orm.em, sharing the clock and the bus', async () => {
    const { events, received } = recordingBus();
    const s = deskServices(desk.orm, { clock: desk.clock, events });
    const em = emOf(s.loans);
    expect(em).toBeInstanceOf(EntityManager);
    expect(em).not.toBe(desk.orm.em);
    for (const service of [s.catalog, s.users, s.visitors, s.policies, s.reservations, s.holds, s.reports]) {
      expect(emOf(service)).toBe(em);
    }
    // Another request gets its own fork.
    expect(emOf(deskServices(desk.orm).loans)).not.toBe(em);

    // Every service works on it.
    const { entry } = await s.catalog.createEntry(desk.staff, {
      titleOrName: `Desk ${uniqueId()}`,
      category: 'general',
      copies: 1,
    });
    expect((await s.catalog.getEntry(student, { catalogEntryId: entry.id })).id).toBe(entry.id);
    expect((await s.users.getUser(desk.staff, { userId: student.id })).id).toBe(student.id);
    expect((await s.policies.list(desk.admin, {})).length).toBeGreaterThan(0);
    const visit = await s.visitors.recordVisit(desk.staff, {
      visitorName: 'Ada',
      visitorId: uniqueId(),
      role: 'visitor',
      activity: 'reading',
    });
    // The shared clock stamps what the services write.
    expect(visit.entryTime.toISOString()).toBe(desk.clock.now().toISOString());

    // An approval's events reach the shared bus.
    const loan = await s.loans.request(student, { catalogEntryId: entry.id });
    await s.loans.approve(desk.staff, { loanId: loan.id });
    const loanEvents = received.filter(
      (e): e is LoanTransitionEvent => e.kind === 'loan' && e.loanId === loan.id,
    );
    expect(loanEvents.map((e) => [e.from, e.to])).toEqual([
      [null, 'pendiente'],
      ['pendiente', 'aprobado'],
    ]);
    expect(received.some((e) => e.kind === 'copy' && e.loanId === loan.id)).toBe(true);

    // A booking, stamped by the shared clock, its events on the shared bus.
    const { entry: kit } = await s.catalog.createEntry(desk.staff, {
      titleOrName: `Desk kit ${uniqueId()}`,
      category: 'premium',
      copies: 1,
    });
    const startsAt = new Date(desk.clock.now().getTime() + 24 * 60 * 60 * 1000);
    const endsAt = new Date(startsAt.getTime() + 60 * 60 * 1000);
    const booking = await s.reservations.reserve(desk.staff, { catalogEntryId: kit.id, startsAt, endsAt });
    expect(booking.status).toBe('confirmada');
    expect(booking.confirmedAt?.toISOString()).toBe(desk.clock.now().toISOString());
    expect(
      (await s.reservations.availability(student, { catalogEntryId: kit.id, from: startsAt, to: endsAt }))
        .minFree,
    ).toBe(0);
    expect(received.filter((e) => e.kind === 'reservation').length).toBeGreaterThan(0);

    // A hold on the title whose only copy the student has on loan, stamped by the shared clock,
    // its event on the shared bus.
    const teacher = await desk.user('teacher');
    const hold = await s.holds.placeHold(teacher, { catalogEntryId: entry.id });
    expect(hold).toMatchObject({ status: 'en_espera', position: 1 });
    expect(hold.placedAt.toISOString()).toBe(desk.clock.now().toISOString());
    expect(
      (await s.holds.holdQueue(desk.staff, { catalogEntryId: entry.id })).waiting.map((h) => h.id),
    ).toEqual([hold.id]);
    expect(received.filter((e) => e.kind === 'hold' && e.holdId === hold.id).map((e) => e.type)).toEqual([
      'placed',
    ]);
  });

  it('uses a given EntityManager as is: commands join the host transaction, events follow its commit', async () => {
    const { events, received } = recordingBus();
    const entry = await desk.entry('general', 1);
    const loanId = await desk.orm.em.fork().transactional(async (em) => {
      const s = deskServices(em, { clock: desk.clock, events });
      expect(emOf(s.loans)).toBe(em);
      for (const service of [
        s.catalog,
        s.users,
        s.visitors,
        s.policies,
        s.reservations,
        s.holds,
        s.reports,
      ]) {
        expect(emOf(service)).toBe(em);
      }
      const loan = await s.loans.request(student, { catalogEntryId: entry.id });
      await s.loans.approve(desk.staff, { loanId: loan.id });
      // A report reads in the host transaction: it sees the loan lent there, not yet committed.
      const now = desk.clock.now().getTime();
      const top = await s.reports.topBorrowed(desk.staff, {
        from: new Date(now - 3_600_000),
        to: new Date(now + 3_600_000),
        limit: 100,
      });
      expect(top.rows.find((r) => r.catalogEntryId === entry.id)?.loans).toBe(1);
      expect(received, 'nothing is published before the host commits').toEqual([]);
      return loan.id;
    });
    expect(received.filter((e) => e.kind === 'loan' && e.loanId === loanId)).toHaveLength(2);
  });

  it('publishes nothing, and writes nothing, when the host transaction rolls back', async () => {
    const { events, received } = recordingBus();
    const entry = await desk.entry('general', 1);
    let loanId = 0;
    await expect(
      desk.orm.em.fork().transactional(async (em) => {
        const { loans } = deskServices(em, { clock: desk.clock, events });
        loanId = (await loans.request(student, { catalogEntryId: entry.id })).id;
        throw new Error('host gives up');
      }),
    ).rejects.toThrow('host gives up');
    expect(received).toEqual([]);
    await expectSwlError(deskServices(desk.orm).loans.getLoan(desk.staff, { loanId }), 'NOT_FOUND');
  });

  it('withRetry repeats a real CONFLICT: a stale expectedVersion, re-read on the next attempt', async () => {
    const entry = await desk.entry('general', 1);
    const code = `TST-${entry.id}-1`;
    const other = deskServices(desk.orm, { clock: desk.clock });
    let calls = 0;
    const copy = await withRetry(
      async () => {
        calls += 1;
        const { catalog } = deskServices(desk.orm, { clock: desk.clock });
        const { version } = await catalog.getCopyByCode(desk.staff, { code });
        if (calls === 1) {
          // Another desk changes the copy between this read and the write below.
          await other.catalog.sendToMaintenance(desk.staff, { copyId: entry.copies[0] as number });
          await other.catalog.repair(desk.staff, { copyId: entry.copies[0] as number });
        }
        return catalog.sendToMaintenance(desk.staff, {
          copyId: entry.copies[0] as number,
          expectedVersion: version,
        });
      },
      { delayMs: 1 },
    );
    expect(calls).toBe(2);
    expect(copy.status).toBe('mantenimiento');
  });

  it('withRetry does not repeat a real FORBIDDEN or VALIDATION_FAILED', async () => {
    const { loans } = deskServices(desk.orm, { clock: desk.clock });
    let calls = 0;
    await expectSwlError(
      withRetry(() => {
        calls += 1;
        return loans.pendingQueue(student, {});
      }),
      'FORBIDDEN',
    );
    expect(calls).toBe(1);
    calls = 0;
    await expectSwlError(
      withRetry(() => {
        calls += 1;
        return loans.approve(desk.staff, { loanId: -1 });
      }),
      'VALIDATION_FAILED',
    );
    expect(calls).toBe(1);
  });
});

describe('withRetry', () => {
  /** A command that fails with `codes` in turn, then returns the number of calls. */
  function failing(...codes: Array<SwlErrorCode | Error>) {
    const command = async () => {
      command.calls += 1;
      const next = codes[command.calls - 1];
      if (next instanceof Error) throw next;
      if (next) throw new SwlError(next, `failure ${command.calls}`);
      return command.calls;
    };
    command.calls = 0;
    return command;
  }

  it('repeats CONFLICT until the command succeeds', async () => {
    const command = failing('CONFLICT', 'CONFLICT');
    expect(await withRetry(command, { delayMs: 0 })).toBe(3);
    expect(command.calls).toBe(3);
  });

  it('stops after `attempts` and rethrows the last error', async () => {
    const command = failing('CONFLICT', 'CONFLICT', 'CONFLICT', 'CONFLICT');
    const error = await expectSwlError(withRetry(command, { delayMs: 0 }), 'CONFLICT');
    expect(error.message).toBe('failure 3');
    expect(command.calls).toBe(3);

    const once = failing('CONFLICT');
    await expectSwlError(withRetry(once, { attempts: 1 }), 'CONFLICT');
    expect(once.calls).toBe(1);

    const five = failing('CONFLICT', 'CONFLICT', 'CONFLICT', 'CONFLICT');
    expect(await withRetry(five, { attempts: 5, delayMs: 0 })).toBe(5);
  });

  it.each<SwlErrorCode>([
    'FORBIDDEN',
    'VALIDATION_FAILED',
    'NOT_FOUND',
    'INVALID_TRANSITION',
    'DUPLICATE',
    'INTERNAL',
  ])('never repeats %s', async (code) => {
    const command = failing(code);
    await expectSwlError(withRetry(command, { delayMs: 0, idempotent: true }), code);
    expect(command.calls).toBe(1);
  });

  it('never repeats an error that is not an SwlError', async () => {
    const command = failing(new TypeError('bug'));
    await expect(withRetry(command, { delayMs: 0 })).rejects.toThrow(TypeError);
    expect(command.calls).toBe(1);
  });

  it('repeats UNAVAILABLE only with idempotent: true', async () => {
    const plain = failing('UNAVAILABLE');
    await expectSwlError(withRetry(plain, { delayMs: 0 }), 'UNAVAILABLE');
    expect(plain.calls).toBe(1);

    const keyed = failing('UNAVAILABLE', 'CONFLICT', 'UNAVAILABLE');
    expect(await withRetry(keyed, { delayMs: 0, idempotent: true, attempts: 4 })).toBe(4);
    expect(keyed.calls).toBe(4);
  });

  it('waits delayMs, doubling, between attempts', async () => {
    const command = failing('CONFLICT', 'CONFLICT');
    const start = performance.now();
    await withRetry(command, { delayMs: 25 });
    // 25 + 50 ms (timers may fire a millisecond early).
    expect(performance.now() - start).toBeGreaterThanOrEqual(73);
  });

  it('refuses bad options before running the command', async () => {
    for (const options of [{ attempts: 0 }, { attempts: 1.5 }, { attempts: Number.NaN }, { delayMs: -1 }]) {
      const command = failing();
      await expectSwlError(withRetry(command, options), 'VALIDATION_FAILED', JSON.stringify(options));
      expect(command.calls).toBe(0);
    }
  });
});
