/**
 * A host application that builds its own MikroORM configuration: the package's entities and
 * migrations beside one entity (and one migration) of its own, in one migration table, and a
 * host transaction that writes its own row and calls the package in the same commit.
 *
 *   npm run example:host                               # SQLite file instance/host-example.db
 *   DATABASE_URL=postgresql://user:pw@host/db npm run example:host
 */
import { defineEntity, MikroORM, type Options, p } from '@mikro-orm/core';
import { Migration, Migrator } from '@mikro-orm/migrations';
import { SqliteDriver } from '@mikro-orm/sql';
import {
  CatalogService,
  DEFAULT_LOAN_POLICIES,
  LoanService,
  resolveDatabase,
  SwlSqliteDialect,
  seedDefaults,
  swlEntities,
  User,
} from 'swl-library';
import { swlMigrations } from 'swl-library/migrations';

// The host's own entity: a request note its web form collects, kept in its own table.
const RequestNoteSchema = defineEntity({
  name: 'RequestNote',
  tableName: 'host_request_note',
  properties: {
    id: p.integer().primary().autoincrement(),
    loanId: p.integer(),
    text: p.text(),
  },
});
class RequestNote extends RequestNoteSchema.class {}
RequestNoteSchema.setClass(RequestNote);

// …and its own migration, written for both dialects, run after the package's.
class HostInit extends Migration {
  override name = 'Host20260301000000_request_note';
  override up() {
    const id = this.driver.getPlatform().constructor.name.includes('Postgre')
      ? '"id" serial primary key'
      : '`id` integer not null primary key autoincrement';
    this.addSql(`create table host_request_note (${id}, loan_id integer not null, text text not null);`);
  }
  override down() {
    this.addSql('drop table if exists host_request_note;');
  }
}

const database = resolveDatabase(process.env.DATABASE_URL ?? 'instance/host-example.db');
const driverOptions: Partial<Options> =
  database.dialect === 'sqlite'
    ? { driver: SqliteDriver, dbName: database.file, driverOptions: new SwlSqliteDialect(database.file) }
    : { driver: (await import('@mikro-orm/postgresql')).PostgreSqlDriver, clientUrl: database.url };
const orm = await MikroORM.init({
  ...driverOptions,
  entities: [...swlEntities, RequestNote],
  extensions: [Migrator],
  migrations: {
    migrationsList: [
      ...swlMigrations(database.dialect),
      { name: 'Host20260301000000_request_note', class: HostInit },
    ],
    snapshot: false,
    silent: true,
    // SQLite: some migrations rebuild tables with foreign keys off, which needs each migration to
    // run on its own rather than inside one all-migrations transaction.
    allOrNothing: database.dialect === 'postgresql',
  },
} as Options);

try {
  const applied = await orm.migrator.up();
  console.log(`migrations applied now: ${applied.map((m) => m.name).join(', ') || 'none (up to date)'}`);
  const executed = await orm.migrator.getExecuted();
  console.log(`one migration table, ${executed.length} rows: ${executed.map((m) => m.name).join(', ')}`);
  console.log(
    `schema drift against all entities: ${(await orm.schema.getUpdateSchemaSQL({ wrap: false })) || 'none'}`,
  );

  // Seed only the policies (no inventory), then a catalog entry and a teacher of the host's own.
  const seeded = await seedDefaults(orm.em.fork(), { inventory: false, policies: DEFAULT_LOAN_POLICIES });
  const em = orm.em.fork();
  const teacher =
    (await em.findOne(User, { documentId: 'HOST-T1' })) ??
    em.create(User, { documentId: 'HOST-T1', fullName: 'Profesora Invitada', role: 'teacher' });
  await em.flush();
  const admin = { id: seeded.admin.id, role: 'admin' as const };
  const catalog = new CatalogService(orm.em.fork());
  const entry =
    (await catalog.search(admin, { text: 'Cálculo de Stewart' })).items[0] ??
    (await catalog.createEntry(admin, { titleOrName: 'Cálculo de Stewart', category: 'general', copies: 2 }))
      .entry;

  // One host transaction: the host's note and the package's loan request commit together.
  const loanId = await orm.em.fork().transactional(async (tx) => {
    const loans = new LoanService(tx);
    const loan = await loans.request({ id: teacher.id, role: 'teacher' }, { catalogEntryId: entry.id });
    tx.create(RequestNote, { loanId: loan.id, text: 'Para el parcial del jueves' });
    return loan.id;
  });
  const note = await orm.em.fork().findOneOrFail(RequestNote, { loanId });
  console.log(`loan #${loanId} requested with the host's note "${note.text}" in the same transaction`);
} finally {
  await orm.close();
}
