import { expect, it } from 'vitest';
import { ItemInstance } from '../src/entities/item-instance.entity.ts';
import { Loan } from '../src/entities/loan.entity.ts';
import { LoanEvent } from '../src/entities/loan-event.entity.ts';
import { SwlError } from '../src/errors.ts';
import { LoanService } from '../src/loans/loan.service.ts';
import { describeEachDialect, expectSwlError, recordingBus, useDesk } from './support/fixtures.ts';
import { holdLock } from './support/locks.ts';

describeEachDialect('LoanService concurrency', (dialect) => {
  const desk = useDesk(dialect);

  /** A service on its own EntityManager fork, as one HTTP request of a host would have. */
  const service = () => new LoanService(desk.em(), { clock: desk.clock });

  it('20 approvals racing for one copy: exactly one aprobado, the copy prestado, every loser typed', async () => {
    const entry = await desk.entry('general', 1);
    const copy = entry.copies[0] as number;
    const borrowers = await Promise.all(Array.from({ length: 20 }, () => desk.user('student')));
    const requests = [];
    for (const b of borrowers) requests.push(await service().request(b, { copyId: copy }));

    const results = await Promise.allSettled(
      requests.map((r) => service().approve(desk.staff, { loanId: r.id })),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(19);
    for (const l of lost) {
      expect(l.reason).toBeInstanceOf(SwlError);
      expect(['COPY_UNAVAILABLE', 'CONFLICT']).toContain(l.reason.code);
    }
    const em = desk.em();
    expect(await em.count(Loan, { copy, status: 'aprobado' })).toBe(1);
    expect(await em.count(Loan, { copy, status: 'pendiente' })).toBe(19);
    expect((await em.findOneOrFail(ItemInstance, copy)).status).toBe('prestado');
    expect(await em.count(LoanEvent, { loan: { copy }, type: 'approved' })).toBe(1);
  });

  it('20 approvals racing for title-level requests with 3 copies: exactly 3 win, each on its own copy', async () => {
    const entry = await desk.entry('general', 3);
    const borrowers = await Promise.all(Array.from({ length: 20 }, () => desk.user('teacher')));
    const requests = [];
    for (const b of borrowers) requests.push(await service().request(b, { catalogEntryId: entry.id }));
    const results = await Promise.allSettled(
      requests.map((r) => service().approve(desk.staff, { loanId: r.id })),
    );
    const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    expect(won).toHaveLength(3);
    expect(new Set(won.map((l) => l.copyId))).toEqual(new Set(entry.copies));
    for (const r of results) {
      if (r.status === 'rejected') expect(['COPY_UNAVAILABLE', 'CONFLICT']).toContain(r.reason.code);
    }
  });

  it('the same loan approved twice at once: one success, the other refused with a typed error', async () => {
    const entry = await desk.entry('general', 2);
    const student = await desk.user('student');
    const loan = await service().request(student, { catalogEntryId: entry.id });
    const results = await Promise.allSettled([
      service().approve(desk.staff, { loanId: loan.id }),
      service().approve(desk.admin, { loanId: loan.id }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(['INVALID_TRANSITION', 'CONFLICT']).toContain(refused?.reason.code);
    const em = desk.em();
    expect(await em.count(LoanEvent, { loan: loan.id, type: 'approved' })).toBe(1);
    expect(await em.count(ItemInstance, { catalogEntry: entry.id, status: 'prestado' })).toBe(1);
  });

  it('a command inside a host transaction that rolls back leaves nothing behind and tells no subscriber', async () => {
    const entry = await desk.entry('general', 1);
    const student = await desk.user('student');
    const { events, received } = recordingBus();
    const before = { loans: await desk.em().count(Loan), events: await desk.em().count(LoanEvent) };
    await expect(
      desk.em().transactional(async (em) => {
        const loans = new LoanService(em, { clock: desk.clock, events });
        const loan = await loans.request(student, { catalogEntryId: entry.id });
        expect(loan.id).toBeGreaterThan(0);
        throw new Error('host rolls back');
      }),
    ).rejects.toThrow('host rolls back');
    expect(received).toEqual([]);
    expect(await desk.em().count(Loan)).toBe(before.loans);
    expect(await desk.em().count(LoanEvent)).toBe(before.events);
  });

  it('inside a host transaction that commits, subscribers hear of the command only after the commit', async () => {
    const entry = await desk.entry('general', 1);
    const student = await desk.user('student');
    const { events, received } = recordingBus();
    let heardBeforeCommit = -1;
    const loanId = await desk.em().transactional(async (em) => {
      const loans = new LoanService(em, { clock: desk.clock, events });
      const loan = await loans.request(student, { catalogEntryId: entry.id });
      await loans.approve(desk.staff, { loanId: loan.id });
      heardBeforeCommit = received.length;
      return loan.id;
    });
    expect(heardBeforeCommit).toBe(0);
    expect(
      received.filter((e) => e.kind === 'loan').map((e) => [e.type, e.kind === 'loan' && e.loanId]),
    ).toEqual([
      ['requested', loanId],
      ['approved', loanId],
    ]);
    expect(await desk.em().count(Loan, { id: loanId, status: 'aprobado' })).toBe(1);
  });

  it('a host savepoint that rolls back drops the events of the commands inside it', async () => {
    const entry = await desk.entry('general', 2);
    const student = await desk.user('student');
    const { events, received } = recordingBus();
    await desk.em().transactional(async (outer) => {
      const loans = new LoanService(outer, { clock: desk.clock, events });
      await loans.request(student, { catalogEntryId: entry.id });
      await outer
        .transactional(async (inner) => {
          await new LoanService(inner, { clock: desk.clock, events }).request(student, {
            catalogEntryId: entry.id,
          });
          throw new Error('inner rolls back');
        })
        .catch(() => {});
    });
    expect(received.filter((e) => e.kind === 'loan')).toHaveLength(1);
    expect(await desk.em().count(Loan, { borrower: student.id })).toBe(1);
  });

  /** PostgreSQL: the copy's row lock; SQLite: the file's write lock (what another writer holds). */
  const lockCopy = (copy: number): Array<[string, unknown[]]> =>
    dialect === 'postgresql' ? [['select id from swl_item_instance where id = ? for update', [copy]]] : [];

  it('COPY_UNAVAILABLE for an available copy (issue 10, defect 5): a title-level approval whose only copy is held by a transaction that then rolls back waits and lends it', async () => {
    const entry = await desk.entry('general', 1);
    const copy = entry.copies[0] as number;
    const student = await desk.user('student');
    const loan = await service().request(student, { catalogEntryId: entry.id });
    const holder = await holdLock(desk.db, lockCopy(copy));
    const released = holder.finishWhenBlocked([], 'rollback');
    const approved = await service().approve(desk.staff, { loanId: loan.id });
    await released;
    expect(approved.status).toBe('aprobado');
    expect(approved.copyId).toBe(copy);
    expect((await desk.em().findOneOrFail(ItemInstance, copy)).status).toBe('prestado');
  });

  it('a title-level approval whose only copy is lent by the transaction holding it answers COPY_UNAVAILABLE after the wait', async () => {
    const entry = await desk.entry('general', 1);
    const copy = entry.copies[0] as number;
    const student = await desk.user('student');
    const loan = await service().request(student, { catalogEntryId: entry.id });
    const holder = await holdLock(desk.db, lockCopy(copy));
    const released = holder.finishWhenBlocked(
      [[`update swl_item_instance set status = 'prestado', version = version + 1 where id = ?`, [copy]]],
      'commit',
    );
    await expectSwlError(service().approve(desk.staff, { loanId: loan.id }), 'COPY_UNAVAILABLE');
    await released;
    expect((await desk.em().findOneOrFail(Loan, loan.id)).status).toBe('pendiente');
  });

  it('inside a host transaction, reads and a keyed command that fails answer (SQLite: they used to wait forever for the connection the host transaction holds)', async () => {
    const entry = await desk.entry('general', 1);
    const student = await desk.user('student');
    const within = <T>(promise: Promise<T>) =>
      Promise.race([
        promise,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('did not settle in 5 s')), 5000)),
      ]);
    await desk.em().transactional(async (em) => {
      const loans = new LoanService(em, { clock: desk.clock });
      const loan = await loans.request(student, { catalogEntryId: entry.id });
      expect((await within(loans.getLoan(desk.staff, { loanId: loan.id }))).status).toBe('pendiente');
      expect((await within(loans.pendingQueue(desk.staff, {}))).total).toBeGreaterThan(0);
      await loans.approve(desk.staff, { loanId: loan.id, idempotencyKey: `host-${loan.id}-a` });
      // A second approval with another key fails; its key is looked up once more, in the transaction.
      await expectSwlError(
        within(loans.approve(desk.staff, { loanId: loan.id, idempotencyKey: `host-${loan.id}-b` })),
        'INVALID_TRANSITION',
      );
    });
  });
});
