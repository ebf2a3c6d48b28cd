import type { EntityManager, MikroORM } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/sql';
import { beforeAll, describe, expect, it } from 'vitest';
import { postgresqlMigrations, sqliteMigrations, swlMigrations } from '../migrations/index.ts';
import { catalogSearchText } from '../src/catalog/codes.ts';
import {
  CatalogEntry,
  CopyEvent,
  Hold,
  HoldEvent,
  IdempotencyKey,
  ItemInstance,
  LibraryLog,
  Loan,
  LoanEvent,
  LoanPolicy,
  Reservation,
  ReservationEvent,
  ReservationPolicy,
  User,
} from '../src/entities/index.ts';
import { describeEachDialect, rowCounts, SWL_TABLES, useTestOrm } from './support/fixtures.ts';

async function tableNames(orm: MikroORM): Promise<string[]> {
  const sql =
    orm.config.get('driver')?.name === 'SqliteDriver'
      ? `select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`
      : `select table_name as name from information_schema.tables where table_schema = 'public'`;
  const rows = await orm.em.getConnection().execute<{ name: string }[]>(sql);
  return rows.map((r: { name: string }) => r.name).sort();
}

async function expectNoDrift(orm: MikroORM) {
  expect(await orm.schema.getUpdateSchemaSQL({ wrap: false })).toBe('');
  const migrationDiff = await orm.schema.getUpdateSchemaMigrationSQL({ wrap: false });
  expect(migrationDiff.up.trim()).toBe('');
  expect(await orm.migrator.checkSchema()).toBe(false);
}

/** One row in every table, with an approved loan holding the copy and a returned one before it. */
async function insertOneOfEach(em: EntityManager) {
  const at = new Date('2026-03-02T15:00:00Z');
  const staff = em.create(User, { documentId: '1000000001', fullName: 'Staff Desk', role: 'staff' });
  const student = em.create(User, {
    documentId: '2000000001',
    fullName: 'Ana Pérez',
    email: 'ana@example.edu',
    role: 'student',
  });
  const entry = em.create(CatalogEntry, {
    titleOrName: 'VideoBeam',
    category: 'premium',
    replacementCost: 250_000_000,
  });
  const copy = em.create(ItemInstance, {
    catalogEntry: entry,
    sequence: 1,
    code: 'VID-1-1',
    status: 'prestado',
  });
  const returned = em.create(Loan, {
    borrower: student,
    catalogEntry: entry,
    copy,
    status: 'devuelto',
    requestDate: at,
    approvalDate: at,
    dueDate: at,
    returnDate: at,
    returnOutcome: 'ok',
    finalPenalty: 2000,
  });
  const loan = em.create(Loan, {
    borrower: student,
    catalogEntry: entry,
    copy,
    status: 'aprobado',
    requestDate: at,
    approvalDate: at,
    dueDate: new Date(at.getTime() + 8 * 3600_000),
    approvedBy: staff,
    environment: 'Aula 101',
  });
  em.create(LoanEvent, {
    loan,
    type: 'approved',
    fromStatus: 'pendiente',
    toStatus: 'aprobado',
    actor: staff,
    at,
    data: { note: 'x' },
  });
  em.create(CopyEvent, {
    copy,
    type: 'loaned',
    fromStatus: 'disponible',
    toStatus: 'prestado',
    loan,
    actor: staff,
    at,
  });
  em.create(LoanPolicy, {
    category: 'premium',
    role: 'teacher',
    loanPeriod: 8,
    loanPeriodUnit: 'hours',
    maxActiveLoans: 2,
    maxRenewals: 0,
    environmentRequired: true,
    fineAmount: 2000,
    fineInterval: 'hour',
    gracePeriodMinutes: 15,
    maxFine: 50_000,
  });
  em.create(LibraryLog, {
    visitorName: 'Ana Pérez',
    visitorId: '2000000001',
    role: 'student',
    entryTime: at,
    activity: 'estudio',
    user: student,
  });
  em.create(IdempotencyKey, {
    key: '6b0f3c1e-0d7a-4c55-9a43-1f2f0e9d2c11',
    command: 'loan.approve',
    actor: staff,
    fingerprint: 'f'.repeat(64),
    result: { id: 1, status: 'aprobado' },
    createdAt: at,
  });
  em.create(ReservationPolicy, {
    category: 'premium',
    role: 'teacher',
    maxAdvanceDays: 30,
    maxDurationMinutes: 480,
    bufferMinutes: 15,
    pickupWindowMinutes: 30,
    approvalRequired: true,
  });
  const later = (hours: number) => new Date(at.getTime() + hours * 3600_000);
  const reservation = em.create(Reservation, {
    borrower: student,
    catalogEntry: entry,
    copy,
    quantity: 1,
    startsAt: later(24),
    endsAt: later(26),
    blocksUntil: later(26.25),
    bufferMinutes: 15,
    pickupDeadline: later(24.5),
    status: 'solicitada',
    requestedBy: staff,
  });
  em.create(ReservationEvent, {
    reservation,
    type: 'requested',
    toStatus: 'solicitada',
    actor: staff,
    at,
    data: { quantity: 1 },
  });
  const hold = em.create(Hold, {
    borrower: staff,
    catalogEntry: entry,
    status: 'en_espera',
    placedAt: at,
    placedBy: staff,
  });
  em.create(HoldEvent, { hold, type: 'placed', toStatus: 'en_espera', actor: staff, at, data: {} });
  await em.flush();
  return { staff, student, entry, copy, loan, returned };
}

describe('migration sets', () => {
  it('ship the same migration names for both dialects', () => {
    expect(sqliteMigrations.length).toBeGreaterThan(0);
    expect(swlMigrations('sqlite').map((m) => m.name)).toEqual(
      swlMigrations('postgresql').map((m) => m.name),
    );
    expect(postgresqlMigrations.length).toBe(sqliteMigrations.length);
    for (const m of swlMigrations('postgresql')) expect(m.name).toMatch(/^Swl\d{14}_[a-z0-9_]+$/);
  });
});

describeEachDialect('migrations', (dialect) => {
  const t = useTestOrm(dialect, { migrate: false });

  it('apply on an empty database and leave no drift from the entities', async () => {
    expect(await t.orm.migrator.getPending()).toHaveLength(swlMigrations(dialect).length);
    const applied = await t.orm.migrator.up();
    expect(applied.map((m) => m.name)).toEqual(swlMigrations(dialect).map((m) => m.name));
    expect(await tableNames(t.orm)).toEqual(expect.arrayContaining([...SWL_TABLES]));
    await expectNoDrift(t.orm);
  });

  it('accept a row in every table', async () => {
    const em = t.orm.em.fork();
    await insertOneOfEach(em);
    const entities = [
      User,
      CatalogEntry,
      ItemInstance,
      Loan,
      LoanEvent,
      CopyEvent,
      LoanPolicy,
      LibraryLog,
      IdempotencyKey,
      ReservationPolicy,
      Reservation,
      ReservationEvent,
      Hold,
      HoldEvent,
    ];
    for (const entity of entities) {
      expect(await em.count(entity as typeof User)).toBeGreaterThan(0);
    }
  });

  it('migrate down to zero with data present, then up again with no drift', async () => {
    await t.orm.migrator.down({ to: 0 });
    const left = await tableNames(t.orm);
    for (const table of SWL_TABLES) expect(left).not.toContain(table);
    await t.orm.migrator.up();
    await expectNoDrift(t.orm);
    const em = t.orm.em.fork();
    await insertOneOfEach(em);
    expect(await em.count(Loan)).toBe(2);
  });
});

describeEachDialect('upgrade with data', (dialect) => {
  const t = useTestOrm(dialect, { migrate: false });

  it('a database of the first release, with a row in every table and a loan out, upgrades to the latest schema keeping every row', async () => {
    const first = swlMigrations(dialect)[0]?.name as string;
    await t.orm.migrator.up({ to: first });
    const conn = t.orm.em.fork().getConnection();
    const at = dialect === 'sqlite' ? Date.parse('2026-03-02T15:00:00Z') : '2026-03-02T15:00:00Z';
    const run = (sql: string, params: unknown[] = []) => conn.execute(sql, params as never[]);
    const now = [at, at];
    await run(
      `insert into swl_user (document_id, full_name, role, active, must_change_password, created_at, updated_at) values ('1', 'Staff', 'staff', true, false, ?, ?), ('2', 'Ana', 'student', true, false, ?, ?)`,
      [...now, ...now],
    );
    await run(
      `insert into swl_catalog (title_or_name, category, replacement_cost, search_text, created_at, updated_at) values ('Mouse', 'general', 0, 'mouse', ?, ?), ('Cable', 'general', 25000, 'cable', ?, ?)`,
      [...now, ...now],
    );
    // An entry whose search text the first release cut at 320 characters (a long Hangul title expands under NFD).
    const hangul = Array.from({ length: 150 }, (_, k) =>
      String.fromCharCode(0xac00 + ((k * 97) % 11172)),
    ).join('');
    const whole = catalogSearchText({ titleOrName: hangul, authorOrBrand: 'Author Zeta', identifier: null });
    expect(whole.length).toBeGreaterThan(320);
    await run(
      `insert into swl_catalog (title_or_name, category, author_or_brand, replacement_cost, search_text, created_at, updated_at) values (?, 'general', 'Author Zeta', 0, ?, ?, ?)`,
      [hangul, whole.slice(0, 320), ...now],
    );
    await run(
      `insert into swl_item_instance (catalog_entry_id, sequence, code, status, version, created_at, updated_at) values (1, 1, 'MOU-1-1', 'prestado', 1, ?, ?)`,
      now,
    );
    await run(
      `insert into swl_loan_policy (category, role, loan_period, loan_period_unit, max_active_loans, max_renewals, environment_required, fine_amount, fine_interval, grace_period_minutes, grace_mode, interval_rounding, max_fine, cap_at_replacement_cost, version, created_at, updated_at)
       values ('general', 'student', 3, 'days', 3, 1, false, 100000, 'day', 60, 'threshold', 'up', 2000000, false, 1, ?, ?)`,
      now,
    );
    await run(
      `insert into swl_loan (borrower_id, catalog_entry_id, instance_id, status, request_date, approval_date, due_date, approved_by_id, renewal_count, overdue_fine, replacement_charge, final_penalty, version, created_at, updated_at)
       values (2, 1, 1, 'aprobado', ?, ?, ?, 1, 0, 0, 0, 0, 1, ?, ?)`,
      [at, at, at, ...now],
    );
    await run(
      `insert into swl_loan_event (loan_id, type, from_status, to_status, actor_id, at) values (1, 'approved', 'pendiente', 'aprobado', 1, ?)`,
      [at],
    );
    await run(
      `insert into swl_instance_event (instance_id, type, from_status, to_status, loan_id, actor_id, at) values (1, 'loaned', 'disponible', 'prestado', 1, 1, ?)`,
      [at],
    );
    await run(
      `insert into swl_library_log (visitor_name, visitor_id, role, entry_time, activity, user_id) values ('Ana', '2', 'student', ?, 'estudio', 2)`,
      [at],
    );
    // Every table of the first release (the later ones start empty).
    const later = [
      'swl_idempotency_key',
      'swl_reservation_policy',
      'swl_reservation',
      'swl_reservation_event',
    ];
    const counts = () =>
      rowCounts(
        t.orm,
        SWL_TABLES.filter(
          (table) =>
            !later.includes(table) && !table.startsWith('swl_hold') && !table.startsWith('swl_notice'),
        ),
      );
    const before = await counts();

    await t.orm.migrator.up();

    expect(await counts()).toEqual(before);
    if (dialect === 'sqlite') {
      expect(await run('pragma foreign_key_check')).toEqual([]);
      expect(await run('pragma integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    }
    await expectNoDrift(t.orm);
    const em = t.orm.em.fork();
    const loan = await em.findOneOrFail(Loan, 1);
    expect(loan).toMatchObject({
      status: 'aprobado',
      termsLoanPeriod: 3,
      termsLoanPeriodUnit: 'days',
      termsMaxRenewals: 1,
      termsFineAmount: 100_000,
      termsMaxFine: 2_000_000,
    });
    const entries = await em.find(CatalogEntry, {}, { orderBy: { id: 'asc' } });
    expect(entries.map((e) => e.replacementCost)).toEqual([null, 25_000, null]); // 0 meant "not set"
    expect(entries[2]?.searchText).toBe(whole); // recomputed whole
    const events = await run(
      'select tx_id from swl_loan_event union all select tx_id from swl_instance_event',
    );
    for (const row of events as { tx_id: unknown }[]) {
      expect(row.tx_id === null ? null : Number(row.tx_id)).toBe(dialect === 'postgresql' ? 0 : null);
    }
  });
});

describeEachDialect('schema guarantees', (dialect) => {
  const t = useTestOrm(dialect);
  let fixture: Awaited<ReturnType<typeof insertOneOfEach>>;
  beforeAll(async () => {
    fixture = await insertOneOfEach(t.orm.em.fork());
  });

  const raw = (sql: string, params: unknown[] = []) =>
    (t.orm.em.fork() as SqlEntityManager).execute(sql, params);

  it('allow at most one aprobado loan per copy (partial unique index)', async () => {
    const { copy, student, entry } = fixture;
    const now = Date.now();
    const date = dialect === 'sqlite' ? now : new Date(now);
    const insert = (status: string) =>
      raw(
        'insert into swl_loan (borrower_id, catalog_entry_id, instance_id, status, request_date, created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?)',
        [student.id, entry.id, copy.id, status, date, date, date],
      );
    await expect(insert('aprobado')).rejects.toMatchObject({ name: 'UniqueConstraintViolationException' });
    await insert('devuelto');
    await insert('devuelto');
    await insert('pendiente');
  });

  it('refuse unknown status values and negative money (check constraints)', async () => {
    const id = fixture.loan.id;
    await expect(raw(`update swl_loan set status = 'perdido' where id = ?`, [id])).rejects.toMatchObject({
      name: 'CheckConstraintViolationException',
    });
    await expect(raw('update swl_loan set final_penalty = -1 where id = ?', [id])).rejects.toMatchObject({
      name: 'CheckConstraintViolationException',
    });
    await expect(
      raw(`update swl_item_instance set status = 'roto' where id = ?`, [fixture.copy.id]),
    ).rejects.toMatchObject({
      name: 'CheckConstraintViolationException',
    });
    await expect(
      raw(`update swl_user set role = 'root' where id = ?`, [fixture.staff.id]),
    ).rejects.toMatchObject({
      name: 'CheckConstraintViolationException',
    });
  });

  it('never cascade history away: a user, copy or entry with loans cannot be deleted', async () => {
    // SQLite: "FOREIGN KEY constraint failed"; PostgreSQL: SQLSTATE 23001 "violates RESTRICT setting of
    // foreign key constraint" (which MikroORM 7.2.1 leaves as a plain DriverException).
    const fk = /foreign key/i;
    await expect(raw('delete from swl_user where id = ?', [fixture.student.id])).rejects.toThrow(fk);
    await expect(raw('delete from swl_item_instance where id = ?', [fixture.copy.id])).rejects.toThrow(fk);
    await expect(raw('delete from swl_catalog where id = ?', [fixture.entry.id])).rejects.toThrow(fk);
    await expect(raw('delete from swl_loan where id = ?', [fixture.loan.id])).rejects.toThrow(fk);
    const em = t.orm.em.fork();
    expect(await em.count(User, { id: fixture.student.id })).toBe(1);
    expect(await em.count(Loan, { id: fixture.loan.id })).toBe(1);
  });

  it('record the writing transaction on every event row on PostgreSQL (outbox watermark), null on SQLite', async () => {
    const rows = await raw('select tx_id from swl_loan_event union all select tx_id from swl_instance_event');
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows as { tx_id: unknown }[]) {
      if (dialect === 'postgresql') expect(Number(row.tx_id)).toBeGreaterThan(0);
      else expect(row.tx_id).toBeNull();
    }
  });

  it('keep idempotency keys unique', async () => {
    const em = t.orm.em.fork();
    em.create(IdempotencyKey, {
      key: '6b0f3c1e-0d7a-4c55-9a43-1f2f0e9d2c11',
      command: 'loan.request',
      actor: fixture.student,
      fingerprint: '0'.repeat(64),
      result: {},
      createdAt: new Date(),
    });
    await expect(em.flush()).rejects.toMatchObject({ name: 'UniqueConstraintViolationException' });
  });

  it('keep document ids, emails and copy codes unique', async () => {
    const em = t.orm.em.fork();
    em.create(User, { documentId: fixture.student.documentId, fullName: 'Dup', role: 'student' });
    await expect(em.flush()).rejects.toMatchObject({ name: 'UniqueConstraintViolationException' });
    const em2 = t.orm.em.fork();
    em2.create(User, { documentId: '999', fullName: 'Dup', role: 'student', email: 'ana@example.edu' });
    await expect(em2.flush()).rejects.toMatchObject({ name: 'UniqueConstraintViolationException' });
    const em3 = t.orm.em.fork();
    em3.create(ItemInstance, { catalogEntry: fixture.entry.id, sequence: 2, code: 'VID-1-1' });
    await expect(em3.flush()).rejects.toMatchObject({ name: 'UniqueConstraintViolationException' });
  });
});
