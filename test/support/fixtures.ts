/**
 * The shared test fixtures, one module: databases per dialect (the scratch databases of `db.ts` on
 * the global setup's server), the desk (users, catalog entries with copies, the lending policies,
 * a manual clock and a recording event bus, written straight through the ORM — the services under
 * test are not used to build their own fixtures), ids, row counts, the one assertion on SwlError
 * codes, signals between concurrent steps, and the list of services.
 */
import { type EntityManager, MikroORM, type Options } from '@mikro-orm/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject } from 'vitest';
import { CatalogService } from '../../src/catalog/catalog.service.ts';
import { ManualClock } from '../../src/clock.ts';
import type { Category, Role } from '../../src/domain/vocabulary.ts';
import { CatalogEntry } from '../../src/entities/catalog-entry.entity.ts';
import { ItemInstance } from '../../src/entities/item-instance.entity.ts';
import { LoanPolicy } from '../../src/entities/loan-policy.entity.ts';
import { NoticeRule } from '../../src/entities/notice-rule.entity.ts';
import { ReservationPolicy } from '../../src/entities/reservation-policy.entity.ts';
import { User } from '../../src/entities/user.entity.ts';
import { SwlError, type SwlErrorCode } from '../../src/errors.ts';
import { type SwlDomainEvent, SwlEventBus } from '../../src/events.ts';
import { HoldService } from '../../src/holds/hold.service.ts';
import type { ServiceOptions } from '../../src/internal/service-base.ts';
import { LoanService } from '../../src/loans/loan.service.ts';
import { DEFAULT_NOTICE_RULES } from '../../src/notices/defaults.ts';
import { NoticeService } from '../../src/notices/notice.service.ts';
import type { Actor } from '../../src/permissions.ts';
import { DEFAULT_LOAN_POLICIES } from '../../src/policies/defaults.ts';
import { PolicyService } from '../../src/policies/policy.service.ts';
import type { LoanPolicyRule } from '../../src/policies/schemas.ts';
import { ReportService } from '../../src/reports/report.service.ts';
import { DEFAULT_RESERVATION_POLICIES } from '../../src/reservations/defaults.ts';
import { ReservationService } from '../../src/reservations/reservation.service.ts';
import { SWL_SQLITE_DRIVERS, type SwlSqliteDriverName, type SwlSqliteOptions } from '../../src/sqlite.ts';
import { UserService } from '../../src/users/user.service.ts';
import { VisitorLogService } from '../../src/visitors/visitor-log.service.ts';
import { createScratchDatabase, type ScratchDatabase, SWL_DIALECTS, type SwlDialect } from './db.ts';

export { type ScratchDatabase, SWL_DIALECTS, type SwlDialect };

// ---------------------------------------------------------------------------------------------
// Databases
// ---------------------------------------------------------------------------------------------

/** One database the suites run on: a dialect and, for SQLite, the library that opens the file. */
export interface TestDatabase {
  dialect: SwlDialect;
  /** SQLite only. */
  sqliteDriver?: SwlSqliteDriverName;
  /** What the suite names show: `sqlite · node:sqlite`, `sqlite · @mikro-orm/sqlite`, `postgresql`. */
  label: string;
}

/**
 * Every database the suites run on: SQLite through `node:sqlite` and through `@mikro-orm/sqlite`
 * (better-sqlite3), and PostgreSQL. `SWL_TEST_DATABASES` (comma-separated labels or dialects, e.g.
 * `postgresql` or `sqlite`) narrows it for a local run; CI runs all three.
 */
export const TEST_DATABASES: readonly TestDatabase[] = (() => {
  const all: TestDatabase[] = [
    ...SWL_SQLITE_DRIVERS.map((sqliteDriver) => ({
      dialect: 'sqlite' as const,
      sqliteDriver,
      label: `sqlite · ${sqliteDriver}`,
    })),
    ...SWL_DIALECTS.filter((d) => d !== 'sqlite').map((dialect) => ({ dialect, label: dialect })),
  ];
  const only = process.env.SWL_TEST_DATABASES?.split(',').map((s) => s.trim());
  return only ? all.filter((d) => only.includes(d.label) || only.includes(d.dialect)) : all;
})();

/**
 * The SQLite library of the {@link describeEachDialect} suite being declared, and then (set again
 * by that suite's first hook) of the one running: {@link useTestOrm}, {@link useDesk} and
 * {@link createTestDatabase} open SQLite with it, so a suite's body needs only its dialect.
 */
let suiteSqliteDriver: SwlSqliteDriverName = 'node:sqlite';

/**
 * Declares the suite once per {@link TEST_DATABASES} entry — `[sqlite · node:sqlite] title`,
 * `[sqlite · @mikro-orm/sqlite] title`, `[postgresql] title` — so the test output shows each ran.
 * The body gets the dialect, and the database entry for what depends on the SQLite library.
 */
export function describeEachDialect(
  title: string,
  body: (dialect: SwlDialect, database: TestDatabase) => void,
): void {
  for (const database of TEST_DATABASES) {
    const driver = database.sqliteDriver ?? 'node:sqlite';
    describe(`[${database.label}] ${title}`, () => {
      beforeAll(() => {
        suiteSqliteDriver = driver;
      });
      const outer = suiteSqliteDriver;
      suiteSqliteDriver = driver;
      try {
        body(database.dialect, database);
      } finally {
        suiteSqliteDriver = outer;
      }
    });
  }
}

/**
 * An empty database of `dialect` for one suite: a SQLite file in its own temp folder (opened with
 * the running suite's SQLite library, or `sqliteDriver`), or a database on the PostgreSQL server of
 * the global setup. Its ORM options carry the test defaults (a pool of up to 30 connections on
 * PostgreSQL; SQL logged with `SWL_TEST_SQL_DEBUG=1`).
 */
export function createTestDatabase(
  dialect: SwlDialect,
  sqliteDriver: SwlSqliteDriverName = suiteSqliteDriver,
): Promise<ScratchDatabase> {
  return createScratchDatabase(dialect, {
    postgresUrl: inject('postgresUrl'),
    prefix: 'swl_test',
    sqliteDriver,
    overrides: {
      debug: process.env.SWL_TEST_SQL_DEBUG === '1',
      ...(dialect === 'postgresql' ? { pool: { min: 0, max: 30 } } : {}),
    },
  });
}

/** An ORM on a new scratch database, optionally migrated to the latest schema. */
export interface TestOrm {
  orm: MikroORM;
  db: ScratchDatabase;
  close(): Promise<void>;
}

export interface TestOrmOptions {
  /** Run every migration (default); `false` leaves the database empty. */
  migrate?: boolean;
  /**
   * MikroORM options over the test defaults, e.g. `loggerFactory`, or `driverOptions` (on
   * PostgreSQL that replaces `swlOrmConfig`'s `onPoolCreated: preparePostgresStatements`).
   */
  overrides?: Partial<Options>;
  /** SQLite busy timeout / WAL, as `swlOrmConfig` takes them. */
  sqlite?: SwlSqliteOptions;
}

/** Opens an ORM the way a host does (`swlOrmConfig`) on a fresh database of `dialect`. */
async function openTestOrm(
  dialect: SwlDialect,
  sqliteDriver: SwlSqliteDriverName,
  { migrate = true, overrides, sqlite }: TestOrmOptions = {},
): Promise<TestOrm> {
  const db = await createTestDatabase(dialect, sqlite?.driver ?? sqliteDriver);
  const orm = await MikroORM.init(await db.options({ overrides, sqlite }));
  if (migrate) {
    await orm.migrator.up();
  }
  return {
    orm,
    db,
    close: async () => {
      await orm.close(true);
      await db.drop();
    },
  };
}

/** How long a database of {@link useTestOrm}/{@link useDesk} lives: the suite (default) or one test. */
export interface Lifetime {
  per?: 'suite' | 'test';
}

/**
 * {@link openTestOrm} before the suite (or before each test, `per: 'test'`) and closed after it.
 * Returns the {@link TestOrm}, filled in once the hook has run (use it inside hooks and tests).
 */
export function useTestOrm(dialect: SwlDialect, options: TestOrmOptions & Lifetime = {}): TestOrm {
  const t = {} as TestOrm;
  const sqliteDriver = suiteSqliteDriver;
  const [open, close] = options.per === 'test' ? [beforeEach, afterEach] : [beforeAll, afterAll];
  open(async () => {
    Object.assign(t, await openTestOrm(dialect, sqliteDriver, options));
  });
  close(async () => t.close?.());
  return t;
}

// ---------------------------------------------------------------------------------------------
// Ids, users, row counts
// ---------------------------------------------------------------------------------------------

let idSeq = 0;

/**
 * A fresh id for test records (document ids, titles, idempotency keys): digits only, at most 20
 * characters (a document id's limit; 13 fixed-width digits of process id and clock, then a counter),
 * unique within the process and across the run's processes.
 */
export function uniqueId(): string {
  idSeq += 1;
  const pid = String(process.pid % 10_000).padStart(4, '0');
  const clock = String(Date.now() % 1_000_000_000).padStart(9, '0');
  return `${pid}${clock}${idSeq}`;
}

/**
 * Creates a user of `role` (active unless told otherwise) directly with `em.create` + flush, no
 * service, and returns it as an {@link Actor} (`{ id, role }`, exactly what the services accept).
 */
export async function createTestUser(
  orm: MikroORM,
  role: Role,
  fields: Partial<{ documentId: string; fullName: string; email: string | null; active: boolean }> = {},
): Promise<Actor> {
  const em = orm.em.fork();
  const documentId = fields.documentId ?? uniqueId();
  const user = em.create(User, {
    documentId,
    fullName: fields.fullName ?? `Test ${role} ${documentId}`,
    email: fields.email ?? null,
    role,
    active: fields.active ?? true,
  });
  await em.flush();
  return { id: user.id, role };
}

/** The `password_hash` column of a user, read with plain SQL (the entity never loads it by default). */
export async function storedPasswordHash(orm: MikroORM, userId: number): Promise<string | null> {
  const rows = await orm.em
    .fork()
    .getConnection()
    .execute<{ password_hash: string | null }[]>('select password_hash from swl_user where id = ?', [userId]);
  return rows[0]?.password_hash ?? null;
}

/** Writes `hash` straight into a user's `password_hash` column, as an import of old users would. */
export async function setStoredPasswordHash(
  orm: MikroORM,
  userId: number,
  hash: string | null,
): Promise<void> {
  await orm.em
    .fork()
    .getConnection()
    .execute('update swl_user set password_hash = ? where id = ?', [hash, userId]);
}

/** Every table of the package. */
export const SWL_TABLES = [
  'swl_user',
  'swl_catalog',
  'swl_item_instance',
  'swl_loan',
  'swl_loan_event',
  'swl_instance_event',
  'swl_loan_policy',
  'swl_library_log',
  'swl_idempotency_key',
  'swl_reservation_policy',
  'swl_reservation',
  'swl_reservation_event',
  'swl_hold',
  'swl_hold_event',
  'swl_notice_rule',
  'swl_notice',
] as const;

/** Row count of every `swl_` table, e.g. `{ swl_user: 3, swl_catalog: 0, … }`. */
export async function rowCounts(
  orm: MikroORM | EntityManager,
  tables: readonly string[] = SWL_TABLES,
): Promise<Record<string, number>> {
  const em = 'em' in orm ? orm.em.fork() : orm.fork();
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const rows = await em
      .getConnection()
      .execute<{ n: number | string }[]>(`select count(*) as n from ${table}`);
    counts[table] = Number(rows[0]?.n ?? 0);
  }
  return counts;
}

// ---------------------------------------------------------------------------------------------
// Errors and events
// ---------------------------------------------------------------------------------------------

/**
 * Runs `action` — a promise, or a function that may throw or return one — and asserts that it
 * fails with an {@link SwlError} of `code`; returns the error for further checks. `label` starts
 * the failure messages (which case of a table failed).
 */
export async function expectSwlError(
  action: Promise<unknown> | (() => unknown),
  code: SwlErrorCode,
  label?: string,
): Promise<SwlError> {
  let caught: unknown;
  try {
    await (typeof action === 'function' ? action() : action);
  } catch (error) {
    caught = error;
  }
  const prefix = label === undefined ? '' : `${label}: `;
  expect(caught, `${prefix}expected SwlError ${code}`).toBeInstanceOf(SwlError);
  const error = caught as SwlError;
  expect(error.code, `${prefix}${error.code}: ${error.message} ${JSON.stringify(error.details)}`).toBe(code);
  return error;
}

/** A promise and the function that resolves it: a signal between two concurrent steps of a test. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** An event bus that records everything published on it. */
export function recordingBus() {
  const received: SwlDomainEvent[] = [];
  const events = new SwlEventBus();
  events.subscribe((e) => {
    received.push(e);
  });
  return { events, received };
}

// ---------------------------------------------------------------------------------------------
// Services
// ---------------------------------------------------------------------------------------------

/** The desk's services, by the prefix the tests name their commands with (`loans.request`, …). */
export const SERVICES = {
  loans: LoanService,
  catalog: CatalogService,
  users: UserService,
  visits: VisitorLogService,
  policies: PolicyService,
  reservations: ReservationService,
  holds: HoldService,
  reports: ReportService,
  notices: NoticeService,
} as const;

/** One instance of each of {@link SERVICES}. */
export type Services = { [K in keyof typeof SERVICES]: InstanceType<(typeof SERVICES)[K]> };

/** Each of {@link SERVICES} on its own EntityManager fork of `orm`, all with `options`. */
export function openServices(orm: MikroORM, options: ServiceOptions = {}): Services {
  return Object.fromEntries(
    Object.entries(SERVICES).map(([prefix, Service]) => [prefix, new Service(orm.em.fork(), options)]),
  ) as Services;
}

/**
 * The public methods a service class declares itself (its helpers are `#private`, so they are not
 * on the prototype): what a completeness test must cover.
 */
export function publicMethods(service: { prototype: object }): string[] {
  return Object.getOwnPropertyNames(service.prototype).filter((name) => name !== 'constructor');
}

// ---------------------------------------------------------------------------------------------
// The desk
// ---------------------------------------------------------------------------------------------

/** The instant every desk clock starts at. */
export const T0 = '2026-03-02T13:00:00.000Z';

/**
 * What the tests change in the seeded lending policies, by `category/role`. None: the tests lend
 * under docs/DESIGN.md §5 exactly as a new installation does. A test-wide change goes here, as a
 * difference from the defaults — not as a second table.
 */
const TEST_POLICY_CHANGES: Readonly<Partial<Record<`${Category}/${Role}`, Partial<LoanPolicyRule>>>> = {};

/** The policies every desk starts with: {@link DEFAULT_LOAN_POLICIES} with {@link TEST_POLICY_CHANGES}. */
export const TEST_POLICIES: readonly LoanPolicyRule[] = DEFAULT_LOAN_POLICIES.map((rule) => ({
  ...rule,
  ...TEST_POLICY_CHANGES[`${rule.category}/${rule.role}`],
}));

/** A migrated database with the test policies, a clock at {@link T0}, an admin and a staff member. */
export interface Desk {
  orm: MikroORM;
  db: ScratchDatabase;
  clock: ManualClock;
  /** A bus recording into {@link Desk.received}; pass it to the services whose events a test reads. */
  events: SwlEventBus;
  received: SwlDomainEvent[];
  /** A new EntityManager fork. */
  em(): EntityManager;
  admin: Actor;
  staff: Actor;
  /** A new user of `role` ({@link createTestUser}). */
  user(role: Role, options?: { active?: boolean }): Promise<Actor>;
  /** A new catalog entry with `copies` copies coded `TST-<entry id>-<n>`. */
  entry(
    category: Category,
    copies: number,
    options?: { title?: string; replacementCost?: number },
  ): Promise<{
    id: number;
    copies: number[];
  }>;
}

async function openDesk({ orm, db }: TestOrm): Promise<Desk> {
  const clock = new ManualClock(T0);
  const { events, received } = recordingBus();
  const em0 = orm.em.fork();
  for (const p of TEST_POLICIES) em0.create(LoanPolicy, p);
  for (const p of DEFAULT_RESERVATION_POLICIES) em0.create(ReservationPolicy, p);
  for (const r of DEFAULT_NOTICE_RULES) em0.create(NoticeRule, r);
  await em0.flush();

  const user: Desk['user'] = (role, options = {}) => createTestUser(orm, role, options);
  const entry: Desk['entry'] = async (category, copies, options = {}) => {
    const em = orm.em.fork();
    const e = em.create(CatalogEntry, {
      titleOrName: options.title ?? `Item ${uniqueId()}`,
      category,
      replacementCost: options.replacementCost ?? 5_000_000,
    });
    await em.flush();
    const made = Array.from({ length: copies }, (_, k) =>
      em.create(ItemInstance, { catalogEntry: e, sequence: k + 1, code: `TST-${e.id}-${k + 1}` }),
    );
    await em.flush();
    return { id: e.id, copies: made.map((c) => c.id) };
  };
  return {
    orm,
    db,
    clock,
    events,
    received,
    em: () => orm.em.fork(),
    admin: await user('admin'),
    staff: await user('staff'),
    user,
    entry,
  };
}

/**
 * A {@link Desk} on a fresh migrated database of `dialect` ({@link useTestOrm}), opened before the
 * suite (or before each test, `per: 'test'`) and closed after it. Returns the desk, filled in once
 * the hook has run; hooks declared after this call see it open.
 */
export function useDesk(dialect: SwlDialect, options: Omit<TestOrmOptions, 'migrate'> & Lifetime = {}): Desk {
  const t = useTestOrm(dialect, options);
  const desk = {} as Desk;
  (options.per === 'test' ? beforeEach : beforeAll)(async () => {
    Object.assign(desk, await openDesk(t));
  });
  return desk;
}
