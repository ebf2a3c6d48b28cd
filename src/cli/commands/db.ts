/**
 * `swl db …`: the migrations of a database, as the original system's `flask db …` commands —
 * `upgrade`, `downgrade`, `current`, `history` — plus `check` (drift between the database and the
 * entities) and `stamp` (record the package's migrations as applied on a database whose schema
 * already matches them: the "table already exists" case, `flask db stamp head`).
 * Source: issue 14; docs/legacy/000_266b31aaf8610e4d.txt "Database Migrations", "Troubleshooting".
 *
 * The migrations are those `swlOrmConfig` lists: the package's, then the host's own folder
 * (`migrations/` under the working directory).
 *
 * @module
 * @internal
 */
import type { MikroORM } from '@mikro-orm/core';
import type { Migrator } from '@mikro-orm/migrations';
import {
  type AbstractSqlConnection,
  type AbstractSqlPlatform,
  DatabaseSchema,
  type DatabaseTable,
  SchemaComparator,
  type SchemaDifference,
  type SqlSchemaGenerator,
} from '@mikro-orm/sql';
import { TABLE_PREFIX } from '../../entities/common.ts';
import { toSwlError } from '../../internal/translate-error.ts';
import { ChecksFailed, type CliContext, Interrupted, UsageError } from '../context.ts';
import type { RegisterCommands } from './index.ts';

/** One migration of the configuration, and whether (and when) it was applied. */
export interface MigrationStatus {
  name: string;
  /** `applied`; `pending`; or `unknown`: recorded in the database but not in this configuration. */
  status: 'applied' | 'pending' | 'unknown';
  /** When it was recorded as applied (ISO 8601), else null. */
  appliedAt: string | null;
}

/** The migrator of an ORM made by `swlOrmConfig` (the `Migrator` extension). */
function migratorOf(orm: MikroORM): Migrator {
  return orm.migrator as unknown as Migrator;
}

/** Names of the migrations the configuration lists, in run order (ours, then the host's). */
function listedMigrations(orm: MikroORM): string[] {
  const list = orm.config.get('migrations').migrationsList ?? [];
  return list.map((m) =>
    (typeof m === 'function' ? m.name : (m.name ?? m.class.name)).replace(/\.[jt]s$/, ''),
  );
}

/**
 * The rows of the migrations table, oldest first — read without creating the table (a read-only
 * command on a new database writes nothing).
 */
async function executedMigrations(orm: MikroORM): Promise<{ name: string; appliedAt: Date }[]> {
  const migrator = migratorOf(orm);
  const { tableName, schemaName } = migrator.getStorage().getTableName();
  const platform = orm.em.getPlatform() as AbstractSqlPlatform;
  const connection = orm.em.getConnection() as AbstractSqlConnection;
  const helper = platform.getSchemaHelper();
  if (!helper || !(await helper.tableExists(connection, tableName, schemaName))) return [];
  const rows = await migrator.getExecuted();
  return rows.map((r) => ({ name: r.name.replace(/\.[jt]s$/, ''), appliedAt: new Date(r.executed_at) }));
}

/** Every migration: the listed ones in order with their state, then recorded ones not listed. */
async function migrationHistory(orm: MikroORM): Promise<MigrationStatus[]> {
  const executed = await executedMigrations(orm);
  const byName = new Map(executed.map((e) => [e.name, e.appliedAt]));
  const listed = listedMigrations(orm);
  const known = new Set(listed);
  return [
    ...listed.map((name) => {
      const at = byName.get(name);
      return {
        name,
        status: at ? ('applied' as const) : ('pending' as const),
        appliedAt: at ? at.toISOString() : null,
      };
    }),
    ...executed
      .filter((e) => !known.has(e.name))
      .map((e) => ({ name: e.name, status: 'unknown' as const, appliedAt: e.appliedAt.toISOString() })),
  ];
}

/** Runs a migrator step, turning its errors into `SwlError`s (Ctrl-C stays `Interrupted`). */
async function migrate<T>(
  ctx: CliContext,
  orm: MikroORM,
  step: (migrator: Migrator) => Promise<T>,
): Promise<T> {
  const migrator = migratorOf(orm);
  // Ctrl-C: stop before the next migration (each one runs in its own transaction on SQLite; on
  // PostgreSQL all run in one, which the throw rolls back).
  const stop = () => ctx.throwIfInterrupted();
  migrator.on('migrating', stop).on('reverting', stop);
  const say = (verb: string) => (event: { name: string }) => {
    if (!ctx.options.json) ctx.note(`${verb} ${event.name}`);
  };
  migrator.on('migrated', say('applied')).on('reverted', say('reverted'));
  try {
    return await step(migrator);
  } catch (error) {
    if (error instanceof Interrupted) throw error;
    throw toSwlError(error);
  }
}

// ---------------------------------------------------------------------------------------------
// The schema compared with the entities
// ---------------------------------------------------------------------------------------------

/** What differs between the database and the entities (the package's tables only). */
export interface SchemaDrift {
  /** One line per difference, e.g. `swl_user: missing index swl_user_email_unique`. */
  differences: string[];
  /** The SQL that would make the database match (MikroORM's update diff), one statement a line. */
  sql: string[];
}

function describeTableDiff(diff: SchemaDifference['changedTables'][string]): string[] {
  const t = diff.name.replace(/^[^.]*\./, '');
  const out: string[] = [];
  const keys = (d: object | undefined) => Object.keys(d ?? {});
  for (const c of keys(diff.addedColumns)) out.push(`${t}: missing column ${c}`);
  for (const c of keys(diff.removedColumns)) out.push(`${t}: unexpected column ${c}`);
  for (const [c, d] of Object.entries(diff.changedColumns ?? {})) {
    out.push(`${t}: column ${c} differs (${[...d.changedProperties].join(', ') || 'definition'})`);
  }
  for (const [from, c] of Object.entries(diff.renamedColumns ?? {})) {
    out.push(`${t}: column ${from} should be named ${c.name}`);
  }
  for (const i of Object.values(diff.addedIndexes ?? {})) out.push(`${t}: missing index ${i.keyName}`);
  for (const i of Object.values(diff.removedIndexes ?? {})) out.push(`${t}: unexpected index ${i.keyName}`);
  for (const i of Object.values(diff.changedIndexes ?? {})) out.push(`${t}: index ${i.keyName} differs`);
  for (const [from, i] of Object.entries(diff.renamedIndexes ?? {})) {
    out.push(`${t}: index ${from} should be named ${i.keyName}`);
  }
  for (const c of Object.values(diff.addedChecks ?? {})) out.push(`${t}: missing check ${c.name}`);
  for (const c of Object.values(diff.removedChecks ?? {})) out.push(`${t}: unexpected check ${c.name}`);
  for (const c of Object.values(diff.changedChecks ?? {})) out.push(`${t}: check ${c.name} differs`);
  for (const f of Object.values(diff.addedForeignKeys ?? {})) {
    out.push(`${t}: missing foreign key ${f.constraintName}`);
  }
  for (const f of Object.values(diff.removedForeignKeys ?? {})) {
    out.push(`${t}: unexpected foreign key ${f.constraintName}`);
  }
  for (const f of Object.values(diff.changedForeignKeys ?? {})) {
    out.push(`${t}: foreign key ${f.constraintName} differs`);
  }
  if (out.length === 0) out.push(`${t}: table definition differs`);
  return out;
}

/**
 * Compares the database with the schema the entities describe, as MikroORM's
 * `getUpdateSchemaSQL` does (introspection, then `SchemaComparator`), limited to the package's
 * tables (`swl_…`): a host's own tables, and the migrations table, are not ours to judge.
 * Reads only.
 */
export async function schemaDrift(orm: MikroORM): Promise<SchemaDrift> {
  const generator = orm.schema as unknown as SqlSchemaGenerator;
  const platform = orm.em.getPlatform() as AbstractSqlPlatform;
  const connection = orm.em.getConnection() as AbstractSqlConnection;
  const ours = (t: DatabaseTable | { name: string }) =>
    t.name.replace(/^[^.]*\./, '').startsWith(TABLE_PREFIX);
  const toSchema = generator.getTargetSchema();
  const { skipTables, skipViews } = orm.config.get('schemaGenerator');
  const fromSchema = await DatabaseSchema.create(
    connection,
    platform,
    orm.config,
    undefined,
    toSchema.getNamespaces(),
    [new RegExp(`^${TABLE_PREFIX}`)],
    skipTables,
    skipViews,
  );
  fromSchema.prune(undefined, []);
  toSchema.prune(undefined, []);
  const diff = new SchemaComparator(platform).compare(fromSchema, toSchema);
  // Views, routines and enums are not the package's; tables are filtered to ours.
  diff.removedTables = Object.fromEntries(Object.entries(diff.removedTables).filter(([, t]) => ours(t)));
  diff.removedViews = {};
  diff.removedRoutines = {};
  diff.orphanedForeignKeys = [];
  const differences = [
    ...Object.values(diff.newTables).map((t) => `missing table ${t.name}`),
    ...Object.values(diff.removedTables).map((t) => `unexpected table ${t.name}`),
    ...Object.values(diff.changedTables).flatMap(describeTableDiff),
  ];
  const sql = generator
    .diffToSQL(diff, { wrap: false, safe: false, dropTables: true })
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (differences.length === 0 && sql.length > 0) differences.push('the schema differs (see the SQL)');
  return { differences, sql };
}

function driftLines(drift: SchemaDrift): string[] {
  return [
    ...drift.differences.map((d) => `  - ${d}`),
    ...(drift.sql.length > 0
      ? ['SQL that would make the database match the entities:', ...drift.sql.map((s) => `  ${s}`)]
      : []),
  ];
}

// ---------------------------------------------------------------------------------------------
// The commands
// ---------------------------------------------------------------------------------------------

export const registerDb: RegisterCommands = (program, context) => {
  const db = program
    .command('db')
    .description(
      'database migrations (the original `flask db …`): upgrade, downgrade, current, history, ' +
        'check (drift from the entities), stamp (an existing schema)',
    );

  db.command('upgrade')
    .description(
      "apply every pending migration: the package's, then the host's own (migrations/ in the working " +
        'directory); each in its own transaction on SQLite, all in one on PostgreSQL',
    )
    .action(async (_options, command) => {
      const ctx = context(command);
      const applied = await ctx.withOrm((orm) =>
        migrate(ctx, orm, async (m) => (await m.up()).map((x) => x.name)),
      );
      ctx.print({ ok: true, applied }, (r) =>
        r.applied.length === 0 ? 'migrations: up to date' : `migrations applied: ${r.applied.join(', ')}`,
      );
    });

  db.command('downgrade')
    .description(
      'revert the last applied migration, or every one after --to <name> (destructive: the tables ' +
        'and columns they added are dropped with their data; asks first, or --yes)',
    )
    .option('--to <name>', 'revert down to this migration (it stays applied); 0 reverts them all')
    .action(async (options: { to?: string }, command) => {
      const ctx = context(command);
      const result = await ctx.withOrm(async (orm) => {
        const executed = (await executedMigrations(orm)).map((e) => e.name);
        let toRevert: string[];
        if (options.to === undefined) {
          toRevert = executed.slice(-1);
        } else if (options.to === '0') {
          toRevert = [...executed].reverse();
        } else {
          const at = executed.lastIndexOf(options.to);
          if (at < 0) {
            throw new UsageError(
              `--to ${options.to}: not an applied migration (see \`swl db history\`; 0 reverts them all)`,
            );
          }
          toRevert = executed.slice(at + 1).reverse();
        }
        const listed = new Set(listedMigrations(orm));
        const unknown = toRevert.filter((n) => !listed.has(n));
        if (unknown.length > 0) {
          throw new UsageError(
            `cannot revert ${unknown.join(', ')}: not a migration of this configuration (a newer version's, or a host migration that is not in migrations/)`,
          );
        }
        if (toRevert.length === 0) return { reverted: [] as string[], cancelled: false };
        const ok = await ctx.confirm(
          `Revert ${toRevert.length} migration${toRevert.length === 1 ? '' : 's'} (${toRevert.join(', ')})? Data in what they added is lost`,
        );
        if (!ok) return { reverted: [] as string[], cancelled: true };
        const reverted = await migrate(ctx, orm, async (m) =>
          (
            await m.down(options.to === undefined ? undefined : { to: options.to === '0' ? 0 : options.to })
          ).map((x) => x.name),
        );
        return { reverted, cancelled: false };
      });
      ctx.print({ ok: true, ...result }, (r) =>
        r.cancelled
          ? 'cancelled; nothing changed'
          : r.reverted.length === 0
            ? 'nothing to revert'
            : `migrations reverted: ${r.reverted.join(', ')}`,
      );
    });

  db.command('current')
    .description('the last applied migration, and how many are pending (changes nothing)')
    .action(async (_options, command) => {
      const ctx = context(command);
      const history = await ctx.withOrm(migrationHistory);
      const applied = history.filter((m) => m.status !== 'pending');
      const last = applied.at(-1) ?? null;
      const pending = history.filter((m) => m.status === 'pending').map((m) => m.name);
      ctx.print(
        { current: last?.name ?? null, appliedAt: last?.appliedAt ?? null, applied: applied.length, pending },
        (r) => [
          r.current === null
            ? 'current: none (no migration applied)'
            : `current: ${r.current} (applied ${r.appliedAt})`,
          r.pending.length === 0
            ? 'pending: none (up to date)'
            : `pending: ${r.pending.length} (${r.pending.join(', ')}; run \`swl db upgrade\`)`,
        ],
      );
    });

  db.command('history')
    .description('every migration, in order, applied (and when) or pending (changes nothing)')
    .action(async (_options, command) => {
      const ctx = context(command);
      const migrations = await ctx.withOrm(migrationHistory);
      ctx.print({ migrations }, (r) =>
        r.migrations.length === 0
          ? 'no migrations'
          : r.migrations.map(
              (m) =>
                `${m.status === 'applied' ? '[x]' : m.status === 'pending' ? '[ ]' : '[?]'} ${m.name}  ${
                  m.status === 'pending'
                    ? 'pending'
                    : `applied ${m.appliedAt}${m.status === 'unknown' ? ' (not in this configuration)' : ''}`
                }`,
            ),
      );
    });

  db.command('check')
    .description(
      "compare the database's schema with the entities (the package's tables): exit 0 when they " +
        'match, 1 listing every difference and the SQL that would fix it (changes nothing)',
    )
    .action(async (_options, command) => {
      const ctx = context(command);
      const drift = await ctx.withOrm(schemaDrift);
      const ok = drift.differences.length === 0;
      ctx.print({ ok, ...drift }, (r) =>
        r.ok ? 'schema: matches the entities' : ['schema: differs from the entities:', ...driftLines(r)],
      );
      if (!ok) {
        throw new ChecksFailed(
          `the schema differs from the entities (${drift.differences.length} difference${drift.differences.length === 1 ? '' : 's'})`,
        );
      }
    });

  db.command('stamp')
    .description(
      "record the package's migrations as applied without running them, on a database whose " +
        'schema already matches them (the original\'s `flask db stamp head`, for "table already exists"); ' +
        'refuses, listing the differences, when it does not match',
    )
    .action(async (_options, command) => {
      const ctx = context(command);
      const result = await ctx.withOrm(async (orm) => {
        const drift = await schemaDrift(orm);
        if (drift.differences.length > 0) return { ok: false as const, stamped: [] as string[], ...drift };
        const dialect = /sqlite/i.test(orm.config.get('driver')?.name ?? '') ? 'sqlite' : 'postgresql';
        const { swlMigrations } = await import('../../../migrations/index.ts');
        const executed = new Set((await executedMigrations(orm)).map((e) => e.name));
        const toStamp = swlMigrations(dialect)
          .map((m) => m.name as string)
          .filter((n) => !executed.has(n));
        if (toStamp.length > 0) {
          const storage = migratorOf(orm).getStorage();
          // All rows in one transaction (the table too, when it is new): all stamped, or none.
          try {
            await orm.em.getConnection().transactional(async (trx) => {
              storage.setMasterMigration(trx);
              try {
                await storage.ensureTable();
                for (const name of toStamp) await storage.logMigration({ name }, trx);
              } finally {
                storage.unsetMasterMigration();
              }
            });
          } catch (error) {
            throw toSwlError(error);
          }
        }
        return { ok: true as const, stamped: toStamp, differences: [] as string[], sql: [] as string[] };
      });
      ctx.print(result, (r) =>
        r.ok
          ? r.stamped.length === 0
            ? 'stamp: every migration of the package is already recorded; nothing to do'
            : `stamped as applied: ${r.stamped.join(', ')}`
          : ['stamp refused: the schema does not match the migrations:', ...driftLines(r)],
      );
      if (!result.ok) {
        throw new ChecksFailed(
          `nothing stamped: the schema differs from the package's migrations (${result.differences.length} difference${result.differences.length === 1 ? '' : 's'}); fix the schema, or run \`swl db upgrade\` on a database without the tables`,
        );
      }
    });
};
