/**
 * Writing a dump from one consistent read of the database (`swl export`, `swl backup` on
 * PostgreSQL) and loading one, all or nothing and verified (`swl import`, `swl restore` of a
 * dump). The format is in `format.ts`. Source: issue 14.
 *
 * @module
 * @internal
 */
import {
  closeSync,
  createReadStream,
  createWriteStream,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { EntityManager, MikroORM } from '@mikro-orm/core';
import { type Kysely, sql } from 'kysely';
import { swlMigrations } from '../../../migrations/index.ts';
import { resolveDatabase } from '../../config.ts';
import { isPostgres } from '../../db/dialect.ts';
import { SwlError } from '../../errors.ts';
import { kyselyOf } from '../../kernel/db.ts';
import type { CliContext } from '../context.ts';
import {
  DUMP_FORMAT,
  DUMP_FORMAT_VERSION,
  type DumpManifest,
  type DumpTable,
  MIGRATIONS_TABLE,
  normalizeStored,
  packageInfo,
  packageMigrations,
  readDump,
  readManifest,
  TableDigest,
  type TableSpec,
  tableSpecs,
  toParam,
} from './format.ts';
import { openNativeSqlite, quoteIdent } from './sqlite-native.ts';

/** Rows per read and per insert. */
const BATCH = 500;

/** Reads rows of one snapshot. */
interface RowSource {
  /** JSON columns come back as text (SQLite), not parsed (PostgreSQL). */
  jsonAsText: boolean;
  migrations(): Promise<string[]>;
  count(table: string): Promise<number>;
  /** Up to `limit` rows with `id > afterId`, in id order, with the spec's columns. */
  page(table: TableSpec, afterId: number, limit: number): Promise<Record<string, unknown>[]>;
}

/** A {@link RowSource} over the ORM's connection (inside a transaction when `em` is in one). */
function ormSource(em: EntityManager): RowSource {
  // biome-ignore lint/suspicious/noExplicitAny: tables chosen at run time from the metadata
  const k = kyselyOf(em) as unknown as Kysely<any>;
  return {
    jsonAsText: !isPostgres(em),
    migrations: async () => {
      const { rows } = await sql<{
        name: string;
      }>`select name from ${sql.table(MIGRATIONS_TABLE)} order by id`.execute(k);
      return rows.map((r) => r.name);
    },
    count: async (table) => {
      const { rows } = await sql<{
        n: number | string;
      }>`select count(*) as n from ${sql.table(table)}`.execute(k);
      return Number(rows[0]?.n ?? 0);
    },
    page: async (table, afterId, limit) => {
      const columns = sql.join(table.columns.map((c) => sql.ref(c.name)));
      const { rows } = await sql<
        Record<string, unknown>
      >`select ${columns} from ${sql.table(table.name)} where id > ${afterId} order by id limit ${limit}`.execute(
        k,
      );
      return rows;
    },
  };
}

/** Whether the migrations table exists (an empty database has none). */
async function hasMigrationsTable(em: EntityManager): Promise<boolean> {
  // biome-ignore lint/suspicious/noExplicitAny: catalog queries
  const k = kyselyOf(em) as unknown as Kysely<any>;
  const query = isPostgres(em)
    ? sql<{
        n: number | string;
      }>`select count(*) as n from information_schema.tables where table_schema = current_schema() and table_name = ${MIGRATIONS_TABLE}`
    : sql<{
        n: number | string;
      }>`select count(*) as n from sqlite_master where type = 'table' and name = ${MIGRATIONS_TABLE}`;
  const { rows } = await query.execute(k);
  return Number(rows[0]?.n ?? 0) > 0;
}

/** What an export wrote. */
export interface ExportReport {
  file: string;
  dialect: 'sqlite' | 'postgresql';
  migrations: string[];
  tables: { name: string; rows: number; sha256: string }[];
  totalRows: number;
}

/** Normalized rows of `spec` from `source`, batch by batch, through `digest`; returns the lines. */
async function* tableLines(ctx: CliContext, source: RowSource, spec: TableSpec, digest: TableDigest) {
  let afterId = 0;
  for (;;) {
    ctx.throwIfInterrupted();
    const rows = await source.page(spec, afterId, BATCH);
    if (rows.length === 0) return;
    const lines: string[] = [];
    for (const raw of rows) {
      const id = Number(raw.id);
      const row = spec.columns.map((c) =>
        normalizeStored(c.kind, raw[c.name], { table: spec.name, id, column: c.name }, source.jsonAsText),
      );
      lines.push(digest.add(row));
      afterId = id;
    }
    yield lines;
    if (rows.length < BATCH) return;
  }
}

/** Writes the dump of `source` (one snapshot) to `file`, through a temporary file renamed at the end. */
async function writeDump(
  ctx: CliContext,
  orm: MikroORM,
  source: RowSource,
  file: string,
  dialect: 'sqlite' | 'postgresql',
  snapshot: string,
): Promise<DumpManifest> {
  const migrations = packageMigrations(await source.migrations());
  if (migrations.length === 0) {
    throw new SwlError(
      'VALIDATION_FAILED',
      'the database has no swl tables yet; there is nothing to export',
      {
        fix: 'run swl init first',
      },
    );
  }
  const specs = tableSpecs(orm);
  const counts = new Map<string, number>();
  for (const spec of specs) counts.set(spec.name, await source.count(spec.name));
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  const body = `${file}.body-${process.pid}.tmp`;
  const partial = `${file}.${process.pid}.tmp`;
  const tables: DumpTable[] = [];
  const bar = ctx.progress(total, 'export');
  const fd = openSync(body, 'w');
  try {
    for (const spec of specs) {
      writeSync(fd, `${JSON.stringify({ table: spec.name })}\n`);
      const digest = new TableDigest();
      for await (const lines of tableLines(ctx, source, spec, digest)) {
        writeSync(fd, `${lines.join('\n')}\n`);
        bar.tick(lines.length);
      }
      tables.push({
        name: spec.name,
        columns: spec.columns.map(({ name, kind }) => ({ name, kind })),
        rows: digest.rows,
        sha256: digest.digest(),
      });
    }
    closeSync(fd);
    bar.stop();
    const manifest: DumpManifest = {
      format: DUMP_FORMAT,
      formatVersion: DUMP_FORMAT_VERSION,
      package: packageInfo(),
      createdAt: new Date().toISOString(),
      source: { dialect },
      snapshot,
      migrations,
      tables,
    };
    const out = createWriteStream(partial);
    out.write(`${JSON.stringify(manifest)}\n`);
    await pipeline(createReadStream(body), out);
    renameSync(partial, file);
    return manifest;
  } catch (error) {
    bar.stop();
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    rmSync(partial, { force: true });
    throw error;
  } finally {
    rmSync(body, { force: true });
  }
}

/**
 * Exports every `swl_` table of the ORM's database to `file` from one consistent read: on
 * PostgreSQL one `REPEATABLE READ READ ONLY` transaction; on SQLite one deferred read
 * transaction on a connection of its own (WAL: the desk keeps writing meanwhile).
 */
export async function exportDatabase(ctx: CliContext, orm: MikroORM, file: string): Promise<ExportReport> {
  const em = orm.em.fork();
  let manifest: DumpManifest;
  if (isPostgres(em)) {
    manifest = await em.transactional(
      (tem) =>
        writeDump(ctx, orm, ormSource(tem), file, 'postgresql', 'postgresql repeatable read, read only'),
      { isolationLevel: 'repeatable read', readOnly: true },
    );
  } else {
    if (!(await hasMigrationsTable(em))) {
      throw new SwlError(
        'VALIDATION_FAILED',
        'the database has no swl tables yet; there is nothing to export',
        {
          fix: 'run swl init first',
        },
      );
    }
    const database = resolveDatabase(ctx.options.databaseUrl ?? process.env.DATABASE_URL);
    if (database.dialect !== 'sqlite') throw new SwlError('INTERNAL', 'dialect mismatch', {});
    const db = openNativeSqlite(database.file, database.driver ?? 'node:sqlite');
    try {
      db.exec('begin');
      const source: RowSource = {
        jsonAsText: true,
        migrations: async () =>
          (db.prepare(`select name from ${MIGRATIONS_TABLE} order by id`).all() as { name: string }[]).map(
            (r) => r.name,
          ),
        count: async (table) =>
          Number((db.prepare(`select count(*) as n from ${quoteIdent(table)}`).get() as { n: number }).n),
        page: async (table, afterId, limit) =>
          db
            .prepare(
              `select ${table.columns.map((c) => quoteIdent(c.name)).join(', ')} from ${quoteIdent(table.name)} where id > ? order by id limit ?`,
            )
            .all(afterId, limit) as Record<string, unknown>[],
      };
      manifest = await writeDump(ctx, orm, source, file, 'sqlite', 'sqlite read transaction');
      db.exec('commit');
    } catch (error) {
      try {
        db.exec('rollback');
      } catch {
        // no transaction open
      }
      throw error;
    } finally {
      db.close();
    }
  }
  return {
    file,
    dialect: manifest.source.dialect,
    migrations: manifest.migrations,
    tables: manifest.tables.map(({ name, rows, sha256 }) => ({ name, rows, sha256 })),
    totalRows: manifest.tables.reduce((a, t) => a + t.rows, 0),
  };
}

/** What an import loaded. */
export interface ImportReport {
  file: string;
  from: 'sqlite' | 'postgresql';
  into: 'sqlite' | 'postgresql';
  migrations: string[];
  /** Migrations this import applied to an empty database first. */
  migrationsApplied: string[];
  /** Rows of the database replaced (0 when it was empty). */
  replacedRows: number;
  tables: { name: string; rows: number }[];
  totalRows: number;
  verified: true;
}

/**
 * Loads the dump `file` into the ORM's database, all or nothing:
 *
 * 1. the whole file is checked first (structure, values, row counts, checksums): a corrupt or
 *    changed dump is refused before anything is written;
 * 2. the database must be at the dump's migration level; an empty database (no migrations yet)
 *    is first migrated to exactly that level; any other level is refused;
 * 3. a database that has rows in `swl_` tables is replaced only after `confirm` (`--yes`);
 * 4. in one transaction (PostgreSQL: the tables locked against writers): the old rows are deleted,
 *    the dump's rows inserted parents first, PostgreSQL's id sequences set past the largest id,
 *    and every table read back and compared with the manifest (count and checksum); a mismatch or
 *    Ctrl-C rolls everything back.
 */
export async function importDump(
  ctx: CliContext,
  orm: MikroORM,
  file: string,
  confirmReplace: (rows: number) => Promise<boolean>,
): Promise<ImportReport | undefined> {
  const manifest = await readManifest(file);
  await readDump(file); // the whole file, checked before anything is written
  const em = orm.em.fork();
  const postgres = isPostgres(em);
  const dialect = postgres ? 'postgresql' : 'sqlite';
  const known = swlMigrations(dialect).map((m) => m.name);
  const dumpLevel = manifest.migrations;
  if (dumpLevel.some((name, k) => known[k] !== name)) {
    throw new SwlError('VALIDATION_FAILED', 'the dump was made at a migration level this swl does not know', {
      dump: dumpLevel,
      known,
      fix: 'import it with the swl version that wrote it (or a newer one)',
    });
  }
  let migrationsApplied: string[] = [];
  const executed = packageMigrations((await orm.migrator.getExecuted()).map((m) => m.name));
  if (executed.length === 0) {
    migrationsApplied = (await orm.migrator.up({ migrations: dumpLevel })).map((m) => m.name);
  } else if (executed.length !== dumpLevel.length || executed.some((n, k) => n !== dumpLevel[k])) {
    throw new SwlError(
      'VALIDATION_FAILED',
      `the database is at migration level ${executed.at(-1)}, the dump at ${dumpLevel.at(-1)}`,
      {
        database: executed,
        dump: dumpLevel,
        fix: 'load the dump into an empty database (it is migrated to the dump’s level), or bring source and target to the same level (swl init) and export again',
      },
    );
  }
  const specs = tableSpecs(orm);
  const byName = new Map(specs.map((s) => [s.name, s]));
  for (const t of manifest.tables) {
    const spec = byName.get(t.name);
    const same =
      spec &&
      spec.columns.length === t.columns.length &&
      spec.columns.every((c, k) => c.name === t.columns[k]?.name && c.kind === t.columns[k]?.kind);
    if (!same) {
      throw new SwlError(
        'VALIDATION_FAILED',
        `the dump's table ${t.name} does not have this database's columns`,
        {
          table: t.name,
        },
      );
    }
  }
  const missing = specs.filter((s) => !manifest.tables.some((t) => t.name === s.name)).map((s) => s.name);
  if (missing.length > 0) {
    throw new SwlError('VALIDATION_FAILED', 'the dump lacks tables of this database', { missing });
  }
  const source = ormSource(em);
  let existing = 0;
  for (const spec of specs) existing += await source.count(spec.name);
  if (existing > 0 && !(await confirmReplace(existing))) return undefined;

  const total = manifest.tables.reduce((a, t) => a + t.rows, 0);
  const bar = ctx.progress(total, 'import');
  try {
    await em.transactional(async (tem) => {
      // biome-ignore lint/suspicious/noExplicitAny: tables chosen at run time from the metadata
      const k = kyselyOf(tem) as unknown as Kysely<any>;
      if (postgres) {
        await sql`lock table ${sql.join(specs.map((s) => sql.table(s.name)))} in exclusive mode`.execute(k);
      }
      if (existing > 0) {
        for (const spec of [...specs].reverse()) {
          ctx.throwIfInterrupted();
          await sql`delete from ${sql.table(spec.name)}`.execute(k);
        }
      }
      if (!postgres) {
        const seq = await sql<{
          n: number;
        }>`select count(*) as n from sqlite_master where name = 'sqlite_sequence'`.execute(k);
        if (Number(seq.rows[0]?.n ?? 0) > 0) {
          await sql`delete from sqlite_sequence where name in (${sql.join(specs.map((s) => s.name))})`.execute(
            k,
          );
        }
      }
      await readDump(file, async (table, rows) => {
        ctx.throwIfInterrupted();
        const spec = byName.get(table.name) as TableSpec;
        const withTx = postgres && spec.hasTxId;
        const values = rows.map((row) => {
          const record: Record<string, unknown> = {};
          spec.columns.forEach((c, i) => {
            record[c.name] = toParam(c.kind, row[i], postgres);
          });
          if (withTx) record.tx_id = 0;
          return record;
        });
        await k.insertInto(spec.name).values(values).execute();
        bar.tick(rows.length);
      });
      if (postgres) {
        for (const spec of specs) {
          await sql`select setval(pg_get_serial_sequence(${spec.name}, 'id'), (select coalesce(max(id), 0) + 1 from ${sql.table(spec.name)}), false)`.execute(
            k,
          );
        }
      }
      // read back what was loaded and compare with the manifest
      const check = ormSource(tem);
      for (const t of manifest.tables) {
        const spec = byName.get(t.name) as TableSpec;
        const digest = new TableDigest();
        for await (const _ of tableLines(ctx, check, spec, digest)) {
          // digest only
        }
        if (digest.rows !== t.rows || digest.digest() !== t.sha256) {
          throw new SwlError(
            'INTERNAL',
            `table ${t.name} read back does not match the dump; nothing was loaded`,
            {
              table: t.name,
              expectedRows: t.rows,
              rows: digest.rows,
            },
          );
        }
      }
    });
  } finally {
    bar.stop();
  }
  return {
    file,
    from: manifest.source.dialect,
    into: dialect,
    migrations: dumpLevel,
    migrationsApplied,
    replacedRows: existing,
    tables: manifest.tables.map(({ name, rows }) => ({ name, rows })),
    totalRows: total,
    verified: true,
  };
}
