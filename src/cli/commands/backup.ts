/**
 * `swl backup <file>` and `swl restore <file>`: a consistent backup while the desk is running, and
 * a verified restore. SQLite: SQLite's online backup API (the file, whole, in one consistent step),
 * checked with `pragma integrity_check`. PostgreSQL: the dump of `swl export`, read in one
 * `REPEATABLE READ` snapshot (no `pg_dump` needed). `restore` takes either: a SQLite backup file
 * into a SQLite database; a dump into either database (as `swl import`). Source: issue 14;
 * docs/legacy/000_266b31aaf8610e4d.txt "Backup and Restore".
 *
 * @module
 * @internal
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { resolveDatabase } from '../../config.ts';
import { SwlError } from '../../errors.ts';
import { exportDatabase, importDump } from '../transfer/dump.ts';
import { backupSqlite, isSqliteFile, restoreSqlite } from '../transfer/sqlite-backup.ts';
import type { RegisterCommands } from './index.ts';

export const registerBackup: RegisterCommands = (program, context) => {
  program
    .command('backup')
    .description(
      'take a consistent backup while the desk keeps running: SQLite through SQLite’s online backup ' +
        '(a copy of the whole file, checked with pragma integrity_check); PostgreSQL as a dump read ' +
        'in one repeatable-read snapshot (the `swl export` format)',
    )
    .argument('<file>', 'the backup file to write (asks before overwriting one)')
    .action(async (file: string, _options: unknown, command) => {
      const ctx = context(command);
      const path = resolve(file);
      const database = resolveDatabase(ctx.options.databaseUrl ?? process.env.DATABASE_URL);
      if (database.dialect === 'sqlite' && database.file === ':memory:') {
        throw new SwlError('VALIDATION_FAILED', 'an in-memory database cannot be backed up', {});
      }
      if (existsSync(path) && !(await ctx.confirm(`overwrite ${path}?`))) {
        ctx.note('nothing written');
        return;
      }
      mkdirSync(dirname(path), { recursive: true });
      if (database.dialect === 'sqlite') {
        const report = await backupSqlite(
          ctx,
          { file: database.file, driver: database.driver ?? 'node:sqlite' },
          path,
        );
        ctx.print(report, (r) => [
          `backed up ${database.file} to ${r.file} (SQLite online backup; integrity_check ok)`,
          `migration level: ${r.migrations.at(-1) ?? 'none'}; ${r.totalRows} rows`,
        ]);
        return;
      }
      const report = await ctx.withOrm((orm) => exportDatabase(ctx, orm, path));
      ctx.print({ ...report, method: 'dump in one repeatable-read snapshot' }, (r) => [
        `backed up ${r.totalRows} rows of ${r.tables.length} tables to ${r.file} (one repeatable-read snapshot)`,
        `migration level: ${r.migrations.at(-1)}`,
      ]);
    });

  program
    .command('restore')
    .description(
      'restore a backup, verified: a SQLite backup file into the SQLite database (online backup ' +
        'API, then integrity_check, migration level and row counts compared); a dump (`swl backup` ' +
        'on PostgreSQL, `swl export`) into either database, as `swl import`. A database with rows ' +
        'is replaced only when confirmed (--yes); to move between SQLite and PostgreSQL use ' +
        'export/import',
    )
    .argument('<file>', 'the backup file')
    .action(async (file: string, _options: unknown, command) => {
      const ctx = context(command);
      const path = resolve(file);
      if (!existsSync(path)) throw new SwlError('NOT_FOUND', `there is no file ${path}`, { file: path });
      const database = resolveDatabase(ctx.options.databaseUrl ?? process.env.DATABASE_URL);
      if (isSqliteFile(path)) {
        if (database.dialect !== 'sqlite' || database.file === ':memory:') {
          throw new SwlError(
            'VALIDATION_FAILED',
            'a SQLite backup restores into a SQLite database file only',
            {
              file: path,
              fix: 'restore it into a SQLite DATABASE_URL, then `swl export` there and `swl import` into PostgreSQL',
            },
          );
        }
        const report = await restoreSqlite(
          ctx,
          { file: database.file, driver: database.driver ?? 'node:sqlite' },
          path,
        );
        if (!report) {
          ctx.note('nothing changed');
          return;
        }
        ctx.print(report, (r) => [
          `restored ${r.file} into ${database.file}: ${r.totalRows} rows; integrity_check ok, row counts verified`,
          ...(r.replacedRows > 0 ? [`replaced ${r.replacedRows} rows that were there`] : []),
        ]);
        return;
      }
      const report = await ctx.withOrm((orm) =>
        importDump(ctx, orm, path, (rows) =>
          ctx.confirm(`the database has ${rows} rows in swl_ tables; replace them all with the backup?`),
        ),
      );
      if (!report) {
        ctx.note('nothing changed');
        return;
      }
      ctx.print(report, (r) => [
        `restored ${r.totalRows} rows of ${r.tables.length} tables into ${r.into}; checksums verified`,
        ...(r.replacedRows > 0 ? [`replaced ${r.replacedRows} rows that were there`] : []),
      ]);
    });
};
