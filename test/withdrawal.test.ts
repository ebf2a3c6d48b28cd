/**
 * Withdrawing copies and catalog entries from circulation (issue 11; FOLIO's item status
 * *Withdrawn*, Koha's `withdrawn`), on SQLite and PostgreSQL: the record and its history stay,
 * nothing is ever lent again.
 */
import { expect, it } from 'vitest';
import { CatalogService } from '../src/catalog/catalog.service.ts';
import { COPY_OPERATIONS, copyNextStates } from '../src/catalog/copy-transitions.ts';
import { LoanService } from '../src/loans/loan.service.ts';
import { describeEachDialect, expectSwlError, recordingBus, rowCounts, useDesk } from './support/fixtures.ts';

it('retirado is terminal and reachable only by withdraw, from every status but prestado', () => {
  expect(copyNextStates('retirado')).toEqual([]);
  for (const from of ['disponible', 'mantenimiento', 'perdido'] as const) {
    expect(copyNextStates(from, 'direct')).toContain('retirado');
  }
  expect(copyNextStates('prestado', 'direct')).toEqual([]);
  expect(COPY_OPERATIONS.withdraw).toBe('retirado');
});

describeEachDialect('withdrawal', (dialect) => {
  const desk = useDesk(dialect);

  const catalog = (events = desk.events) => new CatalogService(desk.em(), { clock: desk.clock, events });
  const loans = () => new LoanService(desk.em(), { clock: desk.clock });

  it('a copy is withdrawn from disponible, mantenimiento or perdido; it keeps its history and is never lent or changed again', async () => {
    const { entry, copies } = await catalog().createEntry(desk.admin, {
      titleOrName: 'Proyector viejo',
      category: 'general',
      copies: 4,
    });
    const [a, b, c, d] = copies.map((x) => x.id) as [number, number, number, number];
    await catalog().sendToMaintenance(desk.staff, { copyId: b });
    await catalog().markLost(desk.staff, { copyId: c });
    for (const id of [a, b, c]) {
      const copy = await catalog().withdrawCopy(desk.staff, { copyId: id, note: 'dado de baja' });
      expect(copy.status).toBe('retirado');
    }
    const history = await catalog().copyHistory(desk.staff, { copyId: b });
    expect(history.map((e) => e.type)).toEqual(['created', 'sent_to_maintenance', 'withdrawn']);
    expect(history.at(-1)).toMatchObject({ from: 'mantenimiento', to: 'retirado', note: 'dado de baja' });

    const student = await desk.user('student');
    const before = await rowCounts(desk.orm);
    for (const op of ['repair', 'markFound', 'markLost', 'sendToMaintenance', 'withdrawCopy'] as const) {
      await expectSwlError(catalog()[op](desk.staff, { copyId: a }), 'INVALID_TRANSITION');
    }
    await expectSwlError(loans().request(student, { copyId: a }), 'COPY_UNAVAILABLE');
    expect(await rowCounts(desk.orm)).toEqual(before);

    // A title-level approval lends the one copy still in circulation, never a withdrawn one.
    const loan = await loans().request(student, { catalogEntryId: entry.id });
    expect((await loans().approve(desk.staff, { loanId: loan.id })).copyId).toBe(d);
    await expectSwlError(catalog().withdrawCopy(desk.staff, { copyId: d }), 'INVALID_TRANSITION'); // on loan
    const counts = (await catalog().getEntry(desk.staff, { catalogEntryId: entry.id })).counts;
    expect(counts).toMatchObject({ available: 0, onLoan: 1, withdrawn: 3, total: 4 });
  });

  it('an entry is withdrawn only with no copy on loan and no pending request; then all its copies are retirado and it cannot be requested or grow', async () => {
    const { entry, copies } = await catalog().createEntry(desk.admin, {
      titleOrName: 'Televisor CRT',
      category: 'general',
      copies: 3,
    });
    const student = await desk.user('teacher');
    const out = await loans().request(student, { catalogEntryId: entry.id });
    await loans().approve(desk.staff, { loanId: out.id });
    const onLoan = await expectSwlError(
      catalog().withdrawEntry(desk.admin, { catalogEntryId: entry.id }),
      'INVALID_TRANSITION',
    );
    expect(onLoan.details).toMatchObject({ reason: 'copies_on_loan', copiesOnLoan: 1 });
    await loans().return(desk.staff, { loanId: out.id });
    const waiting = await loans().request(student, { catalogEntryId: entry.id });
    const pending = await expectSwlError(
      catalog().withdrawEntry(desk.admin, { catalogEntryId: entry.id }),
      'INVALID_TRANSITION',
    );
    expect(pending.details).toMatchObject({ reason: 'pending_requests', pendingRequests: 1 });
    await loans().reject(desk.staff, { loanId: waiting.id, reason: 'se retira' });
    await catalog().sendToMaintenance(desk.staff, { copyId: copies[2]?.id as number });

    const { events, received } = recordingBus();
    const withdrawn = await catalog(events).withdrawEntry(desk.admin, {
      catalogEntryId: entry.id,
      note: 'obsoleto',
    });
    expect(withdrawn.withdrawnAt).toEqual(desk.clock.now());
    expect(withdrawn.counts).toMatchObject({ withdrawn: 3, total: 3, available: 0 });
    expect(received.map((e) => e.kind === 'copy' && [e.type, e.from, e.to])).toEqual([
      ['withdrawn', 'disponible', 'retirado'],
      ['withdrawn', 'disponible', 'retirado'],
      ['withdrawn', 'mantenimiento', 'retirado'],
    ]);

    const before = await rowCounts(desk.orm);
    await expectSwlError(loans().request(student, { catalogEntryId: entry.id }), 'COPY_UNAVAILABLE');
    await expectSwlError(loans().request(student, { copyId: copies[0]?.id as number }), 'COPY_UNAVAILABLE');
    await expectSwlError(
      catalog().addCopies(desk.staff, { catalogEntryId: entry.id, count: 1 }),
      'INVALID_TRANSITION',
    );
    const again = await expectSwlError(
      catalog().withdrawEntry(desk.admin, { catalogEntryId: entry.id }),
      'INVALID_TRANSITION',
    );
    expect(again.details).toMatchObject({ reason: 'already_withdrawn' });
    expect(await rowCounts(desk.orm)).toEqual(before);

    // Kept in the record: found by search, with its loans.
    const found = await catalog().search(student, { text: 'Televisor CRT' });
    expect(found.items.map((e) => [e.id, e.withdrawnAt?.getTime()])).toEqual([
      [entry.id, desk.clock.now().getTime()],
    ]);
    expect((await loans().getLoan(desk.staff, { loanId: out.id })).status).toBe('devuelto');
  });

  it('students cannot withdraw; staff can', async () => {
    const { entry, copies } = await catalog().createEntry(desk.admin, {
      titleOrName: 'Regla',
      category: 'general',
      copies: 1,
    });
    const student = await desk.user('student');
    await expectSwlError(catalog().withdrawCopy(student, { copyId: copies[0]?.id as number }), 'FORBIDDEN');
    await expectSwlError(catalog().withdrawEntry(student, { catalogEntryId: entry.id }), 'FORBIDDEN');
    expect(
      (await catalog().withdrawEntry(desk.staff, { catalogEntryId: entry.id })).withdrawnAt,
    ).not.toBeNull();
  });
});
