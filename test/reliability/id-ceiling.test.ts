/**
 * Issue 11, "Ids beyond 2³¹ − 1 behave the same on both databases": every id column is a 32-bit
 * integer (`MAX_ID`). The row that gets the last id works like any other; the next row is
 * refused with `CAPACITY_EXCEEDED` on both databases (PostgreSQL: the serial sequence stops;
 * SQLite: AUTOINCREMENT would hand out 2³¹, which the services refuse), and nothing is written.
 */
import type { SqlEntityManager } from '@mikro-orm/sql';
import { expect, it } from 'vitest';
import { CatalogService } from '../../src/catalog/catalog.service.ts';
import { ItemInstance } from '../../src/entities/item-instance.entity.ts';
import { LoanService } from '../../src/loans/loan.service.ts';
import { UserService } from '../../src/users/user.service.ts';
import { MAX_ID } from '../../src/validation.ts';
import { describeEachDialect, expectSwlError, rowCounts, useDesk } from '../support/fixtures.ts';

describeEachDialect('row ids at 2³¹ − 1', (dialect) => {
  const desk = useDesk(dialect, { per: 'test' });

  const sqlEm = () => desk.em() as SqlEntityManager;

  /** Makes the next id the database hands out for `table` equal to `next`. */
  async function setNextId(table: string, next: number): Promise<void> {
    const em = sqlEm();
    if (dialect === 'sqlite') {
      // AUTOINCREMENT keeps its high-water mark in sqlite_sequence (a row appears on first insert).
      await em.execute(
        `insert into sqlite_sequence (name, seq) select ?, 0 where not exists (select 1 from sqlite_sequence where name = ?)`,
        [table, table],
      );
      await em.execute(`update sqlite_sequence set seq = ? where name = ?`, [next - 1, table]);
    } else {
      await em.execute(`select setval(pg_get_serial_sequence(?, 'id'), ?)`, [table, next - 1]);
    }
  }

  const loans = () => new LoanService(desk.em(), { clock: desk.clock, events: desk.events });
  const catalog = () => new CatalogService(desk.em(), { clock: desk.clock, events: desk.events });

  /** Runs `command`, expects CAPACITY_EXCEEDED (507, not retryable), and that no row and no event was written. */
  async function expectRefused(command: () => Promise<unknown>) {
    const before = await rowCounts(desk.orm);
    const published = desk.received.length;
    const error = await expectSwlError(command(), 'CAPACITY_EXCEEDED');
    expect(error.httpStatus).toBe(507);
    expect(error.retryable).toBe(false);
    expect(error.details.maxId ?? error.details.maxCopyNumber).toBe(MAX_ID);
    expect(await rowCounts(desk.orm)).toEqual(before);
    expect(desk.received).toHaveLength(published);
    return error;
  }

  it('loans: ids 2³¹ − 2 and 2³¹ − 1 can be cancelled and approved; the next request is CAPACITY_EXCEEDED, twice, nothing written', async () => {
    const student = await desk.user('student');
    const entry = await desk.entry('general', 2);
    await setNextId('swl_loan', MAX_ID - 1);

    const first = await loans().request(student, { catalogEntryId: entry.id });
    expect(first.id).toBe(MAX_ID - 1);
    expect((await loans().cancel(student, { loanId: first.id, reason: 'changed my mind' })).status).toBe(
      'rechazado',
    );

    const last = await loans().request(student, { catalogEntryId: entry.id });
    expect(last.id).toBe(MAX_ID);
    const approved = await loans().approve(desk.staff, { loanId: last.id });
    expect(approved.status).toBe('aprobado');
    expect((await loans().getLoan(student, { loanId: MAX_ID })).status).toBe('aprobado');

    const refused = await expectRefused(() => loans().request(student, { catalogEntryId: entry.id }));
    // SQLite names the table always; PostgreSQL when its message (sequence name) can be read.
    if (dialect === 'sqlite' || refused.details.table !== undefined)
      expect(refused.details.table).toBe('swl_loan');
    // The same answer again (SQLite's rolled-back insert did not move sqlite_sequence either),
    // also with an idempotency key: the key is not stored.
    await expectRefused(() =>
      loans().request(student, { catalogEntryId: entry.id, idempotencyKey: 'full-loan-table-1' }),
    );
    await expectRefused(() =>
      loans().request(student, { catalogEntryId: entry.id, idempotencyKey: 'full-loan-table-1' }),
    );
  });

  it('copies through the bulk insert: createEntry and addCopies up to 2³¹ − 1, then CAPACITY_EXCEEDED', async () => {
    await setNextId('swl_item_instance', MAX_ID - 2);
    const made = await catalog().createEntry(desk.staff, {
      titleOrName: 'Mouse USB',
      category: 'general',
      copies: 2,
    });
    expect(made.copies.map((c) => c.id)).toEqual([MAX_ID - 2, MAX_ID - 1]);
    const one = await catalog().addCopies(desk.staff, { catalogEntryId: made.entry.id, count: 1 });
    expect(one.copies.map((c) => c.id)).toEqual([MAX_ID]);
    await catalog().sendToMaintenance(desk.staff, { copyId: MAX_ID, note: 'sticky wheel' });

    await expectRefused(() => catalog().addCopies(desk.staff, { catalogEntryId: made.entry.id, count: 3 }));
    // createEntry writes the entry first: it is rolled back with the copies.
    await expectRefused(() =>
      catalog().createEntry(desk.staff, { titleOrName: 'Teclado', category: 'general', copies: 1 }),
    );
  });

  it('copy events through the bulk insert: the copies fit but their created events do not → CAPACITY_EXCEEDED', async () => {
    await setNextId('swl_instance_event', MAX_ID - 1);
    const one = await catalog().createEntry(desk.staff, {
      titleOrName: 'Regleta',
      category: 'general',
      copies: 1,
    });
    expect(desk.received.at(-1)).toMatchObject({
      kind: 'copy',
      id: MAX_ID - 1,
      copyId: one.copies[0]?.id,
    });
    // Two more events would take 2³¹ − 1 and 2³¹.
    const error = await expectRefused(() =>
      catalog().createEntry(desk.staff, { titleOrName: 'Regleta', category: 'general', copies: 2 }),
    );
    if (dialect === 'sqlite' || error.details.table !== undefined)
      expect(error.details.table).toBe('swl_instance_event');
  });

  it('copy numbers are 32-bit too: an entry whose last copy is number 2³¹ − 1 gets no more copies (CAPACITY_EXCEEDED)', async () => {
    const entry = await desk.entry('general', 0);
    const em = desk.em();
    em.create(ItemInstance, {
      catalogEntry: entry.id,
      sequence: MAX_ID,
      code: `TST-${entry.id}-${MAX_ID}`,
    });
    await em.flush();
    const error = await expectRefused(() =>
      catalog().addCopies(desk.staff, { catalogEntryId: entry.id, count: 1 }),
    );
    expect(error.details).toMatchObject({ catalogEntryId: entry.id, maxCopyNumber: MAX_ID });
  });

  it('users: the user with id 2³¹ − 1 is created and signs in; the next one is CAPACITY_EXCEEDED', async () => {
    const users = () => new UserService(desk.em(), { clock: desk.clock });
    const password = 'correct horse battery';
    await setNextId('swl_user', MAX_ID);
    const last = await users().createUser(desk.staff, {
      documentId: '900000001',
      fullName: 'Last Id',
      email: 'last@uni.edu',
      password,
    });
    expect(last.id).toBe(MAX_ID);
    expect((await users().authenticate({ login: 'last@uni.edu', password })).id).toBe(MAX_ID);
    await expectRefused(() =>
      users().createUser(desk.staff, { documentId: '900000002', fullName: 'One Too Many', password }),
    );
  });

  if (dialect === 'postgresql') {
    it('a sequence widened to bigint (22003 "integer out of range" on insert) → CAPACITY_EXCEEDED too', async () => {
      const student = await desk.user('student');
      const entry = await desk.entry('general', 1);
      await sqlEm().execute(`alter sequence swl_loan_id_seq as bigint`);
      await setNextId('swl_loan', MAX_ID);
      expect((await loans().request(student, { catalogEntryId: entry.id })).id).toBe(MAX_ID);
      const error = await expectRefused(() => loans().request(student, { catalogEntryId: entry.id }));
      expect((error.cause as { code?: string }).code).toBe('22003');
    });
  }
});
