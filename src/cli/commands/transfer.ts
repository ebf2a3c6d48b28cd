/**
 * `swl export <file>` and `swl import <file>`: the portable dump of every `swl_` table (format in
 * src/cli/transfer/format.ts) that moves a desk between SQLite and PostgreSQL, ids, audit trails
 * and sequences intact. Source: issue 14; docs/legacy/000_266b31aaf8610e4d.txt (SQLite for
 * development, PostgreSQL in production).
 *
 * @module
 * @internal
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { SwlError } from '../../errors.ts';
import { exportDatabase, importDump } from '../transfer/dump.ts';
import type { RegisterCommands } from './index.ts';

export const registerTransfer: RegisterCommands = (program, context) => {
  program
    .command('export')
    .description(
      'write every swl_ table to <file>: a portable, versioned dump (JSON lines: a manifest with the ' +
        'migration level, row counts and SHA-256 checksums, then the rows in id order) taken in one ' +
        'consistent read while the desk keeps running; `swl import` loads it into SQLite or PostgreSQL',
    )
    .argument('<file>', 'the dump file to write (asks before overwriting one)')
    .action(async (file: string, _options: unknown, command) => {
      const ctx = context(command);
      const path = resolve(file);
      if (existsSync(path) && !(await ctx.confirm(`overwrite ${path}?`))) {
        ctx.note('nothing written');
        return;
      }
      mkdirSync(dirname(path), { recursive: true });
      const report = await ctx.withOrm((orm) => exportDatabase(ctx, orm, path));
      ctx.print(report, (r) => [
        `exported ${r.totalRows} rows of ${r.tables.length} tables from ${r.dialect} to ${r.file}`,
        `migration level: ${r.migrations.at(-1)}`,
        ...r.tables.map((t) => `  ${t.name}: ${t.rows}`),
      ]);
    });

  program
    .command('import')
    .description(
      'load a dump written by `swl export` (or `swl backup` on PostgreSQL) into the database, all or ' +
        'nothing: the file is checked first (checksums), an empty database is migrated to the dump’s ' +
        'level (another level is refused), a database with rows is replaced only when confirmed ' +
        '(--yes), PostgreSQL sequences are set past the largest ids, and what was loaded is read back ' +
        'and compared before the commit; Ctrl-C rolls back',
    )
    .argument('<file>', 'the dump file')
    .action(async (file: string, _options: unknown, command) => {
      const ctx = context(command);
      const path = resolve(file);
      if (!existsSync(path)) throw new SwlError('NOT_FOUND', `there is no file ${path}`, { file: path });
      const report = await ctx.withOrm((orm) =>
        importDump(ctx, orm, path, (rows) =>
          ctx.confirm(`the database has ${rows} rows in swl_ tables; replace them all with the dump?`),
        ),
      );
      if (!report) {
        ctx.note('nothing changed');
        return;
      }
      ctx.print(report, (r) => [
        `imported ${r.totalRows} rows of ${r.tables.length} tables (from ${r.from} into ${r.into}); checksums verified`,
        ...(r.migrationsApplied.length > 0
          ? [`migrations applied first: ${r.migrationsApplied.join(', ')}`]
          : []),
        ...(r.replacedRows > 0 ? [`replaced ${r.replacedRows} rows that were there`] : []),
        ...r.tables.map((t) => `  ${t.name}: ${t.rows}`),
      ]);
    });
};
