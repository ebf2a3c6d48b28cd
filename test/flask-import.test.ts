/**
 * Importing the original SWL Flask application's database (issue 15), on every target dialect,
 * from the real fixture (`test/fixtures/swl-flask/app.db`, made by the original models with
 * Flask-SQLAlchemy's `db.create_all()` and Werkzeug's hashing; kept as a copy in
 * test/fixtures/swl-flask/, copied to a temp folder before it is opened; `SWL_FLASK_FIXTURES` names
 * another folder).
 *
 * - counts per table equal the source's; three loans spot-checked field by field, with their
 *   reconstructed events; ids preserved and sequences continue after them;
 * - the admin and a borrower sign in with their original passwords; their hashes become argon2id;
 *   the admin (still on the original default password) must change it;
 * - every converted penalty is within the stated rounding; `checkInvariants` (`swl doctor`) clean;
 * - a second import is a no-op; a dry run writes nothing; a target with desk data is refused;
 * - an altered source (a Spanish role, inconsistent rows, a status in capitals, a long float) gives
 *   the report and writes nothing; with the mapping and `repair`, it imports clean.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatalogEntry, ItemInstance, LibraryLog, Loan, LoanEvent, User } from '../src/entities/index.ts';
import { importSwlFlaskDatabase, penaltyToMinorUnits } from '../src/flask-import/index.ts';
import { checkInvariants } from '../src/operations/invariants.ts';
import { initializeDatabase } from '../src/seeding/initialize.ts';
import { werkzeugPasswordVerifier } from '../src/users/password.ts';
import { UserService } from '../src/users/user.service.ts';
import {
  createTestDatabase,
  describeEachDialect,
  rowCounts,
  type ScratchDatabase,
  storedPasswordHash,
  useTestOrm,
} from './support/fixtures.ts';

const FIXTURES = process.env.SWL_FLASK_FIXTURES ?? join(import.meta.dirname, 'fixtures', 'swl-flask');
const FIXTURE_DB = join(FIXTURES, 'app.db');
const FIXTURE_SQL = join(FIXTURES, 'postgresql.sql');
if (!existsSync(FIXTURE_DB) || !existsSync(FIXTURE_SQL)) {
  throw new Error(`the Flask fixture is missing: ${FIXTURES} (app.db and postgresql.sql)`);
}

const ADMIN_PASSWORD = ['admin', '123'].join('');
const SEED_PASSWORD = 'a strong seed password for the target';
/**
 * A Werkzeug `pbkdf2:sha256` hash (Werkzeug's earlier default; cheap iterations), from
 * test/users-legacy-hashes.test.ts (made with Werkzeug 3.1.8's `generate_password_hash`).
 */
const WERKZEUG_PBKDF2 = {
  password: 'contraseña de café',
  hash: 'pbkdf2:sha256:1000$7URzygqLjL7K4WQT$6a459a3ace6d59d3d2fc0d93e94e48af5369ec2904847b70542795cbda7a5692',
};

let dir: string;
/** A fresh temp copy of the fixture (the original is never opened). */
function copyOfFixture(name: string): string {
  const path = join(dir, `${name}.db`);
  copyFileSync(FIXTURE_DB, path);
  return path;
}

type SourceRow = Record<string, unknown>;
function readSource(path: string, sql: string): SourceRow[] {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return db.prepare(sql).all() as SourceRow[];
  } finally {
    db.close();
  }
}

/** A naive-UTC source instant (`2025-08-04 13:29:34.518110`) as a Date, to the millisecond. */
const utc = (v: unknown) => (v === null ? null : new Date(`${String(v).replace(' ', 'T').slice(0, 23)}Z`));

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'swl-flask-import-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('penaltyToMinorUnits', () => {
  it('pesos to centavos: exact for up to two decimals, else half up on the third, listed as inexact', () => {
    expect(penaltyToMinorUnits(0)).toMatchObject({ minorUnits: 0, exact: true });
    expect(penaltyToMinorUnits(34000)).toMatchObject({ minorUnits: 3_400_000, exact: true });
    expect(penaltyToMinorUnits(2833.33)).toMatchObject({ minorUnits: 283_333, exact: true });
    expect(penaltyToMinorUnits(1416.67)).toMatchObject({ minorUnits: 141_667, exact: true });
    expect(penaltyToMinorUnits(1416.6666666666667)).toMatchObject({ minorUnits: 141_667, exact: false });
    expect(penaltyToMinorUnits(2833.3333333333335)).toMatchObject({ minorUnits: 283_333, exact: false });
    expect(penaltyToMinorUnits(1.005)).toMatchObject({ minorUnits: 101, exact: false });
    expect(penaltyToMinorUnits(0.1 + 0.2)).toMatchObject({ minorUnits: 30, exact: false });
  });
});

describeEachDialect('importSwlFlaskDatabase', (dialect) => {
  describe('the fixture into a database initialized by the package', () => {
    const t = useTestOrm(dialect, { migrate: false });
    let source: string;

    beforeAll(async () => {
      source = copyOfFixture(`main-${dialect}-${Math.random().toString(36).slice(2)}`);
      await initializeDatabase(t.orm, { adminPassword: SEED_PASSWORD });
    });

    it('a dry run reports everything and writes nothing', async () => {
      const before = await rowCounts(t.orm);
      const report = await importSwlFlaskDatabase(t.orm, source, { dryRun: true });
      expect(report.outcome).toBe('dry-run');
      expect(report.refusal).toEqual([]);
      expect(report.written).toMatchObject({
        users: 41,
        catalogEntries: 6,
        copies: 108,
        loans: 300,
        visits: 800,
      });
      expect(report.replacedSeed).toMatchObject({ users: 1, catalogEntries: 6, copies: 108 });
      expect(await rowCounts(t.orm)).toEqual(before);
    });

    it('imports every row: counts per table equal the source’s, ids and codes kept, doctor clean', async () => {
      const report = await importSwlFlaskDatabase(t.orm, source);
      expect(report.outcome).toBe('imported');
      expect(report.unknownVocabulary).toEqual([]);
      expect(report.inconsistencies).toEqual([]);
      expect(report.skipped).toEqual([]);
      expect(report.passwords).toEqual({ werkzeug: 41, withoutPassword: [], unknownScheme: [] });
      expect(report.defaultAdminPassword).toEqual({ id: 1, documentId: '1000000000' });
      expect(report.money.penalties).toBe('unpaid');

      const em = t.orm.em.fork();
      const count = (table: string) =>
        Number(readSource(source, `select count(*) as n from "${table}"`)[0]?.n);
      expect(await em.count(User, {})).toBe(count('user'));
      expect(await em.count(CatalogEntry, {})).toBe(count('catalog'));
      expect(await em.count(ItemInstance, {})).toBe(count('item_instance'));
      expect(await em.count(Loan, {})).toBe(count('loan'));
      expect(await em.count(LibraryLog, {})).toBe(count('library_log'));
      for (const status of ['pendiente', 'aprobado', 'devuelto', 'rechazado'] as const) {
        const n = Number(
          readSource(source, `select count(*) as n from loan where status = '${status}'`)[0]?.n,
        );
        expect(await em.count(Loan, { status })).toBe(n);
      }
      const codes = readSource(
        source,
        'select id, unique_code, status, condition from item_instance order by id',
      );
      const copies = await em.find(ItemInstance, {}, { orderBy: { id: 'asc' } });
      expect(copies.map((c) => [c.id, c.code, c.status, c.condition])).toEqual(
        codes.map((r) => [r.id, r.unique_code, r.status, r.condition]),
      );

      const invariants = await checkInvariants(t.orm);
      expect(invariants.violations).toEqual([]);
      expect(invariants.ok).toBe(true);
    });

    it('three loans, field by field, with their reconstructed events', async () => {
      const em = t.orm.em.fork();
      const [devuelto] = readSource(
        source,
        "select * from loan where status = 'devuelto' and final_penalty > 0 order by id limit 1",
      );
      const [aprobado] = readSource(
        source,
        "select * from loan where status = 'aprobado' order by id limit 1",
      );
      const [rechazado] = readSource(
        source,
        "select * from loan where status = 'rechazado' and observation is not null order by id limit 1",
      );
      for (const row of [devuelto, aprobado, rechazado] as SourceRow[]) {
        const loan = await em.findOneOrFail(Loan, { id: Number(row.id) }, { populate: ['copy'] });
        const copyRow = readSource(
          source,
          `select * from item_instance where id = ${Number(row.instance_id)}`,
        )[0] as SourceRow;
        expect(loan.borrower.id).toBe(row.user_id);
        expect(loan.copy?.id).toBe(row.instance_id);
        expect(loan.catalogEntry.id).toBe(copyRow.catalog_id);
        expect(loan.environment).toBe(row.environment);
        expect(loan.status).toBe(row.status);
        expect(loan.observation).toBe(row.observation);
        expect(loan.requestDate).toEqual(utc(row.request_date));
        expect(loan.approvalDate).toEqual(utc(row.approval_date));
        expect(loan.dueDate).toEqual(utc(row.due_date));
        expect(loan.returnDate).toEqual(utc(row.return_date));
        expect(loan.rejectionDate).toEqual(row.status === 'rechazado' ? utc(row.request_date) : null);
        const minor = Math.round(Number(row.final_penalty) * 100);
        expect(loan.finalPenalty).toBe(minor);
        expect(loan.overdueFine).toBe(minor);
        expect(loan.replacementCharge).toBe(0);
        expect(loan.penaltySettlement).toBeNull();
        const events = await em.find(LoanEvent, { loan: loan.id }, { orderBy: { id: 'asc' } });
        expect(events.every((e) => e.data?.importedFrom === 'swl-flask')).toBe(true);
        expect(events.every((e) => e.actor === null)).toBe(true);
        const trail = events.map((e) => [e.type, e.fromStatus, e.toStatus, e.at]);
        const requested = ['requested', null, 'pendiente', utc(row.request_date)];
        if (row.status === 'devuelto') {
          expect(trail).toEqual([
            requested,
            ['approved', 'pendiente', 'aprobado', utc(row.approval_date)],
            ['returned', 'aprobado', 'devuelto', utc(row.return_date)],
          ]);
        } else if (row.status === 'aprobado') {
          expect(trail).toEqual([requested, ['approved', 'pendiente', 'aprobado', utc(row.approval_date)]]);
          expect(loan.copy?.$.status).toBe('prestado');
        } else {
          expect(trail).toEqual([requested, ['rejected', 'pendiente', 'rechazado', utc(row.request_date)]]);
        }
        expect((events[0]?.data?.source as SourceRow | undefined)?.request_date).toBe(row.request_date);
      }
    });

    it('every converted penalty is within the rounding rule; none of the fixture’s is inexact', async () => {
      const em = t.orm.em.fork();
      const rows = readSource(source, 'select id, final_penalty from loan order by id');
      const loans = new Map(
        (await em.find(Loan, {}, { fields: ['id', 'finalPenalty'] })).map((l) => [l.id, l.finalPenalty]),
      );
      for (const r of rows) {
        const stored = loans.get(Number(r.id)) as number;
        expect(Number.isInteger(stored)).toBe(true);
        expect(Math.abs(stored - Number(r.final_penalty ?? 0) * 100)).toBeLessThanOrEqual(0.5);
      }
    });

    it('the admin and a borrower sign in with their original passwords; the hashes become argon2id', async () => {
      const users = new UserService(t.orm.em.fork(), {
        legacyPasswordVerifiers: [werkzeugPasswordVerifier()],
      });
      const admin = await users.authenticate({ login: '1000000000', password: ADMIN_PASSWORD });
      expect(admin).toMatchObject({ id: 1, role: 'admin', mustChangePassword: true });
      expect(await storedPasswordHash(t.orm, 1)).toMatch(/^\$argon2id\$/);
      const k = 7;
      const borrower = await users.authenticate({
        login: String(1020300000 + k),
        password: `clave-${k}-segura`,
      });
      expect(borrower.mustChangePassword).toBe(false);
      expect(await storedPasswordHash(t.orm, borrower.id)).toMatch(/^\$argon2id\$/);
      // The seed's own admin password belonged to the replaced seed row: it no longer signs in.
      await expect(
        users.authenticate({ login: '1000000000', password: SEED_PASSWORD }),
      ).rejects.toMatchObject({
        code: 'AUTH_FAILED',
      });
    });

    it('new rows continue after the imported ids', async () => {
      const em = t.orm.em.fork();
      const entry = em.create(CatalogEntry, { titleOrName: 'After the import', category: 'general' });
      await em.flush();
      expect(entry.id).toBe(7);
    });

    it('a second import of the same source is a no-op and says so', async () => {
      const before = await rowCounts(t.orm);
      const again = await importSwlFlaskDatabase(t.orm, source);
      expect(again.outcome).toBe('already-imported');
      expect(await rowCounts(t.orm)).toEqual(before);
    });

    it('another source into a database with desk data is refused, nothing written', async () => {
      const altered = copyOfFixture(`other-${dialect}-${Math.random().toString(36).slice(2)}`);
      const db = new DatabaseSync(altered);
      db.exec(
        "update user set full_name = full_name || ' (otra sede)'; delete from library_log where id > 700",
      );
      db.close();
      const before = await rowCounts(t.orm);
      const report = await importSwlFlaskDatabase(t.orm, altered);
      expect(report.outcome).toBe('refused');
      expect(report.refusal.join()).toMatch(/already has desk data: 300 loan\(s\)/);
      expect(await rowCounts(t.orm)).toEqual(before);
    });
  });

  describe('the PostgreSQL script, loaded into a scratch database, as the source', () => {
    const t = useTestOrm(dialect, { migrate: false });
    let sourceDb: ScratchDatabase;
    let sqliteSource: string;

    beforeAll(async () => {
      sourceDb = await createTestDatabase('postgresql');
      const client = new pg.Client({ connectionString: sourceDb.location });
      await client.connect();
      try {
        await client.query(readFileSync(FIXTURE_SQL, 'utf8'));
      } finally {
        await client.end();
      }
      sqliteSource = copyOfFixture(`pgcompare-${dialect}-${Math.random().toString(36).slice(2)}`);
      await initializeDatabase(t.orm, { adminPassword: SEED_PASSWORD });
    });
    afterAll(async () => {
      await sourceDb?.drop();
    });

    it('imports every row; the same rows as from the SQLite file; sign-in, doctor, no-op second import', async () => {
      const report = await importSwlFlaskDatabase(t.orm, sourceDb.location);
      expect(report.outcome).toBe('imported');
      expect(report.source.kind).toBe('postgresql');
      expect(report.source.rows).toEqual({
        user: 41,
        catalog: 6,
        item_instance: 108,
        loan: 300,
        library_log: 800,
      });
      expect(report.inconsistencies).toEqual([]);
      expect(report.defaultAdminPassword).toEqual({ id: 1, documentId: '1000000000' });

      const em = t.orm.em.fork();
      const rows = readSource(sqliteSource, 'select * from loan order by id');
      const loans = await em.find(Loan, {}, { orderBy: { id: 'asc' } });
      expect(loans).toHaveLength(rows.length);
      for (const [i, row] of rows.entries()) {
        const loan = loans[i] as Loan;
        expect([
          loan.id,
          loan.borrower.id,
          loan.copy?.id,
          loan.status,
          loan.environment,
          loan.observation,
          loan.requestDate,
          loan.approvalDate,
          loan.dueDate,
          loan.returnDate,
          loan.finalPenalty,
        ]).toEqual([
          row.id,
          row.user_id,
          row.instance_id,
          row.status,
          row.environment,
          row.observation,
          utc(row.request_date),
          utc(row.approval_date),
          utc(row.due_date),
          utc(row.return_date),
          Math.round(Number(row.final_penalty) * 100),
        ]);
      }
      const visits = readSource(sqliteSource, 'select id, entry_time from library_log order by id');
      const stored = await em.find(LibraryLog, {}, { orderBy: { id: 'asc' }, fields: ['id', 'entryTime'] });
      expect(stored.map((v) => [v.id, v.entryTime])).toEqual(visits.map((v) => [v.id, utc(v.entry_time)]));

      const users = new UserService(t.orm.em.fork(), {
        legacyPasswordVerifiers: [werkzeugPasswordVerifier()],
      });
      const k = 23;
      const borrower = await users.authenticate({
        login: String(1020300000 + k),
        password: `clave-${k}-segura`,
      });
      expect(await storedPasswordHash(t.orm, borrower.id)).toMatch(/^\$argon2id\$/);
      await users.authenticate({ login: '1000000000', password: ADMIN_PASSWORD });
      expect(await storedPasswordHash(t.orm, 1)).toMatch(/^\$argon2id\$/);

      expect((await checkInvariants(t.orm)).violations).toEqual([]);
      const before = await rowCounts(t.orm);
      expect((await importSwlFlaskDatabase(t.orm, sourceDb.location)).outcome).toBe('already-imported');
      expect(await rowCounts(t.orm)).toEqual(before);
    });
  });

  describe('merging a second site into a desk that has data (merge)', () => {
    const t = useTestOrm(dialect, { migrate: false });
    let second: string;

    /**
     * The fixture as another site's database: users 1–21 are the same people (same document ids;
     * user 3 spelled differently there), users 22–41 are other people; entries 1–5 are the same
     * titles (their copy codes clash), entry 6 has another brand and codes of its own.
     */
    function secondSite(name: string, extra = ''): string {
      const path = copyOfFixture(`${name}-${dialect}-${Math.random().toString(36).slice(2)}`);
      const db = new DatabaseSync(path);
      db.exec(`
        update user set document_id = '7' || substr(document_id, 2), email = 'sede2.' || email where id > 21;
        update user set full_name = 'Nombre en la otra sede' where id = 3;
        update catalog set author_or_brand = 'LEGO' where id = 6;
        update item_instance set unique_code = 'S2-' || unique_code where catalog_id = 6;
        ${extra}
      `);
      db.close();
      return path;
    }

    beforeAll(async () => {
      await initializeDatabase(t.orm, { adminPassword: SEED_PASSWORD });
      const first = copyOfFixture(`first-${dialect}-${Math.random().toString(36).slice(2)}`);
      expect((await importSwlFlaskDatabase(t.orm, first)).outcome).toBe('imported');
      second = secondSite('second');
    });

    it('without merge: refused, and the refusal names the option', async () => {
      const before = await rowCounts(t.orm);
      const report = await importSwlFlaskDatabase(t.orm, second);
      expect(report.outcome).toBe('refused');
      expect(report.refusal.join()).toMatch(/already has desk data: 300 loan\(s\).*--merge/);
      expect(await rowCounts(t.orm)).toEqual(before);
    });

    it('merge: clashing copy codes and an email of another target user are conflicts; nothing written', async () => {
      const clash = secondSite(
        'clash',
        "update user set email = 'otra.' || email where id = 3; update user set email = 'user1@uni.edu.co' where id = 30;",
      );
      const before = await rowCounts(t.orm);
      const report = await importSwlFlaskDatabase(t.orm, clash, { merge: true });
      expect(report.outcome).toBe('refused');
      const conflicts = report.merge?.conflicts ?? [];
      expect(conflicts.filter((c) => c.table === 'user')).toEqual([
        {
          table: 'user',
          id: 30,
          message:
            'user 30 (document 7020300028) has email user1@uni.edu.co, which target user 3 (document 1020300001) has',
        },
      ]);
      const codes = readSource(clash, 'select id from item_instance where catalog_id <= 5 order by id');
      expect(conflicts.filter((c) => c.table === 'item_instance').map((c) => c.id)).toEqual(
        codes.map((r) => r.id),
      );
      expect(report.refusal.join()).toMatch(/--recode-clashes/);
      expect(await rowCounts(t.orm)).toEqual(before);
    });

    it('merge with recodeClashes, dry run: matches and recodings reported, nothing written', async () => {
      const before = await rowCounts(t.orm);
      const report = await importSwlFlaskDatabase(t.orm, second, {
        merge: true,
        recodeClashes: true,
        dryRun: true,
      });
      expect(report.outcome).toBe('dry-run');
      expect(report.merge?.matchedUsers).toHaveLength(21);
      expect(report.merge?.matchedUsers[0]).toEqual({ sourceId: 1, targetId: 1, documentId: '1000000000' });
      expect(report.merge?.matchedEntries.map((e) => [e.sourceId, e.targetId])).toEqual([
        [1, 1],
        [2, 2],
        [3, 3],
        [4, 4],
        [5, 5],
      ]);
      expect(report.merge?.recoded.every((r) => r.to === null)).toBe(true);
      expect(report.written).toMatchObject({
        users: 20,
        catalogEntries: 1,
        copies: 108,
        loans: 300,
        visits: 800,
      });
      expect(report.defaultAdminPassword).toBeNull();
      expect(await rowCounts(t.orm)).toEqual(before);
    });

    it('a failure in the middle of a merge rolls all of it back: the target is as it was', async () => {
      const before = await rowCounts(t.orm);
      await expect(
        importSwlFlaskDatabase(t.orm, second, {
          merge: true,
          recodeClashes: true,
          onProgress: (done) => {
            if (done > 400) throw new Error('the connection was cut');
          },
        }),
      ).rejects.toThrow();
      expect(await rowCounts(t.orm)).toEqual(before);
    });

    it('merge with recodeClashes: every source row arrives under a reported id, matched rows kept, doctor clean', async () => {
      const em = t.orm.em.fork();
      const before = await rowCounts(t.orm);
      const report = await importSwlFlaskDatabase(t.orm, second, { merge: true, recodeClashes: true });
      expect(report.outcome).toBe('imported');
      const merge = report.merge;
      if (!merge) throw new Error('no merge report');
      expect(await em.count(User, {})).toBe(41 + 20);
      expect(await em.count(CatalogEntry, {})).toBe(7);
      expect(await em.count(ItemInstance, {})).toBe(216);
      expect(await em.count(Loan, {})).toBe(600);
      expect(await em.count(LibraryLog, {})).toBe(1600);
      expect(merge.ids.user).toHaveLength(41);
      expect(merge.ids.catalog).toHaveLength(6);
      expect(merge.ids.item_instance).toHaveLength(108);
      expect(merge.ids.loan).toHaveLength(300);
      expect(merge.ids.library_log).toHaveLength(800);
      const targetOf = (table: keyof typeof merge.ids) => new Map(merge.ids[table]);

      // A matched user keeps the target's data; a new one has the source's.
      expect((await em.findOneOrFail(User, { id: 3 })).fullName).not.toBe('Nombre en la otra sede');
      const newUser = await em.findOneOrFail(User, { id: targetOf('user').get(30) as number });
      expect(newUser.documentId).toBe('7020300028');

      // Three loans through the mapping, field by field.
      const rows = readSource(
        second,
        `select * from loan where id in (
           (select min(id) from loan where status = 'devuelto' and user_id = 3),
           (select min(id) from loan where status = 'aprobado' and user_id > 21),
           (select min(id) from loan where status = 'rechazado'))`,
      );
      expect(rows).toHaveLength(3);
      for (const row of rows) {
        const loan = await em.findOneOrFail(Loan, { id: targetOf('loan').get(Number(row.id)) as number });
        expect(loan.borrower.id).toBe(targetOf('user').get(Number(row.user_id)));
        expect(loan.copy?.id).toBe(targetOf('item_instance').get(Number(row.instance_id)));
        expect(loan.status).toBe(row.status);
        expect(loan.environment).toBe(row.environment);
        expect(loan.requestDate).toEqual(utc(row.request_date));
        expect(loan.approvalDate).toEqual(utc(row.approval_date));
        expect(loan.returnDate).toEqual(utc(row.return_date));
        expect(loan.finalPenalty).toBe(Math.round(Number(row.final_penalty) * 100));
        const [requested] = await em.find(LoanEvent, { loan: loan.id }, { orderBy: { id: 'asc' } });
        expect((requested?.data?.source as SourceRow | undefined)?.id).toBe(row.id);
      }
      expect(targetOf('user').get(3)).toBe(3);

      // Copies of matched entries join them, numbered after the target's, under new codes.
      const recoded = await em.find(ItemInstance, {
        id: { $in: merge.recoded.map((r) => targetOf('item_instance').get(r.sourceId) as number) },
      });
      expect(recoded).toHaveLength(merge.recoded.length);
      expect(merge.recoded.length).toBe(
        readSource(second, 'select id from item_instance where catalog_id <= 5').length,
      );
      for (const copy of recoded) {
        expect(copy.code).toBe(`${copy.code.slice(0, 3)}-${copy.catalogEntry.id}-${copy.sequence}`);
        expect(copy.catalogEntry.id).toBeLessThanOrEqual(5);
      }
      expect(new Set(recoded.map((c) => c.code)).size).toBe(recoded.length);
      const kept = await em.find(ItemInstance, { code: { $like: 'S2-%' } });
      expect(kept).toHaveLength(108 - merge.recoded.length);

      // A new user signs in with the password of the other site.
      const users = new UserService(t.orm.em.fork(), {
        legacyPasswordVerifiers: [werkzeugPasswordVerifier()],
      });
      const signedIn = await users.authenticate({ login: '7020300028', password: 'clave-28-segura' });
      expect(signedIn.id).toBe(newUser.id);

      expect((await checkInvariants(t.orm)).violations).toEqual([]);
      expect((await rowCounts(t.orm)).swl_loan).toBe((before.swl_loan ?? 0) + 300);
    });

    it('a second merge of the same source is a no-op and says so', async () => {
      const before = await rowCounts(t.orm);
      const again = await importSwlFlaskDatabase(t.orm, second, { merge: true, recodeClashes: true });
      expect(again.outcome).toBe('already-imported');
      expect(await rowCounts(t.orm)).toEqual(before);
    });
  });

  describe('an altered source: unknown roles, inconsistent rows', () => {
    const t = useTestOrm(dialect, { migrate: false });
    let source: string;

    beforeAll(async () => {
      source = copyOfFixture(`altered-${dialect}-${Math.random().toString(36).slice(2)}`);
      const db = new DatabaseSync(source);
      const approved = db
        .prepare("select id, instance_id from loan where status = 'aprobado' order by id")
        .all() as {
        id: number;
        instance_id: number;
      }[];
      const [a, b, c] = approved as [(typeof approved)[0], (typeof approved)[0], (typeof approved)[0]];
      // SQLite without foreign-key enforcement, as the Flask application ran it (SQLAlchemy never turns it on).
      db.exec('pragma foreign_keys = off');
      db.exec(`
          update user set role = 'estudiante' where role = 'student';
          update item_instance set status = 'disponible' where id = ${a.instance_id};
          update loan set status = 'APROBADO' where id = ${b.id};
          update loan set instance_id = ${c.instance_id}, approval_date = '2020-01-01 00:00:00.000000',
                          due_date = '2020-01-02 00:00:00.000000', request_date = '2020-01-01 00:00:00.000000'
           where id = (select min(id) from loan where status = 'pendiente');
          update loan set status = 'aprobado' where id = (select min(id) from loan where status = 'pendiente' and approval_date is not null);
          update loan set user_id = 9999 where id = (select max(id) from loan where status = 'rechazado');
          update loan set final_penalty = 1416.6666666666667 where id = (select min(id) from loan where final_penalty > 0);
          update item_instance set status = 'prestado' where id = (select min(id) from item_instance where status = 'disponible' and id not in (select instance_id from loan where status in ('aprobado', 'APROBADO')));
          update loan set instance_id = 99999 where id = (select max(id) from loan where status = 'devuelto');
          update user set password_hash = null where document_id = '1020300003';
          update user set password_hash = '${WERKZEUG_PBKDF2.hash}' where document_id = '1020300004';
          update item_instance set status = 'en_reparacion' where id = (select max(id) from item_instance where status = 'disponible' and id not in (select instance_id from loan where status in ('aprobado', 'APROBADO')));
        `);
      db.close();
      await initializeDatabase(t.orm, { adminPassword: SEED_PASSWORD });
    });

    it('without the mapping: the report lists each value and count and every inconsistency; nothing written', async () => {
      const before = await rowCounts(t.orm);
      const report = await importSwlFlaskDatabase(t.orm, source);
      expect(report.outcome).toBe('refused');
      expect(report.unknownVocabulary).toEqual([
        { table: 'user', column: 'role', value: 'estudiante', count: 12 },
        { table: 'item_instance', column: 'status', value: 'en_reparacion', count: 1 },
      ]);
      const kinds = report.inconsistencies.map((i) => i.kind).sort();
      expect(kinds).toEqual(
        [
          'approved-loan-on-free-copy',
          'loan-without-copy',
          'loan-without-user',
          'prestado-copy-without-loan',
          'status-case',
          'two-approved-loans-on-copy',
        ].sort(),
      );
      expect(report.money.inexact).toHaveLength(1);
      expect(report.money.inexact[0]).toMatchObject({ source: '1416.6666666666667', minorUnits: 141_667 });
      expect(await rowCounts(t.orm)).toEqual(before);
    });

    it('a dry run with the mapping and repair shows the repairs and writes nothing', async () => {
      const before = await rowCounts(t.orm);
      const report = await importSwlFlaskDatabase(t.orm, source, {
        dryRun: true,
        repair: true,
        mapRole: { estudiante: 'student' },
        mapStatus: { en_reparacion: 'mantenimiento' },
      });
      expect(report.outcome).toBe('dry-run');
      expect(report.skipped.map((s) => s.reason).sort()).toEqual([
        'loan-without-copy',
        'loan-without-user',
        'two-approved-loans-on-copy',
      ]);
      expect(report.skipped.find((s) => s.reason === 'loan-without-user')?.row).toMatchObject({
        user_id: 9999,
      });
      expect(report.passwords.withoutPassword).toEqual([{ id: 5, documentId: '1020300003' }]);
      expect(report.passwords.werkzeug).toBe(40);
      expect(await rowCounts(t.orm)).toEqual(before);
    });

    it('a failure in the middle of the import rolls all of it back: the target is as it was', async () => {
      const before = await rowCounts(t.orm);
      await expect(
        importSwlFlaskDatabase(t.orm, source, {
          repair: true,
          mapRole: { estudiante: 'student' },
          mapStatus: { en_reparacion: 'mantenimiento' },
          onProgress: (done) => {
            if (done > 400) throw new Error('the disk is full');
          },
        }),
      ).rejects.toThrow();
      expect(await rowCounts(t.orm)).toEqual(before);
    });

    it('with the mapping and repair: imported, every source row arrived or is listed, doctor clean', async () => {
      const report = await importSwlFlaskDatabase(t.orm, source, {
        repair: true,
        mapRole: { estudiante: 'student' },
        mapStatus: { en_reparacion: 'mantenimiento' },
      });
      expect(report.outcome).toBe('imported');
      const em = t.orm.em.fork();
      expect(await em.count(User, { role: 'student' })).toBe(12);
      const repairing = readSource(source, "select id from item_instance where status = 'en_reparacion'");
      expect(await em.findOneOrFail(ItemInstance, { id: Number(repairing[0]?.id) })).toMatchObject({
        status: 'mantenimiento',
      });
      expect((await em.count(Loan, {})) + report.skipped.filter((s) => s.table === 'loan').length).toBe(300);
      const invariants = await checkInvariants(t.orm);
      expect(invariants.violations).toEqual([]);

      // The pbkdf2 user signs in and is upgraded; the user without a password cannot sign in.
      const users = new UserService(t.orm.em.fork(), {
        legacyPasswordVerifiers: [werkzeugPasswordVerifier()],
      });
      const pbkdf2 = await users.authenticate({ login: '1020300004', password: WERKZEUG_PBKDF2.password });
      expect(await storedPasswordHash(t.orm, pbkdf2.id)).toMatch(/^\$argon2id\$/);
      await expect(
        users.authenticate({ login: '1020300003', password: 'clave-3-segura' }),
      ).rejects.toMatchObject({
        code: 'AUTH_FAILED',
      });
    });
  });
});
