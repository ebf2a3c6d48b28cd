/**
 * The package's database migrations, shipped as classes (MikroORM `migrationsList`), one set per
 * dialect with identical names. Source: docs/DESIGN.md §9; MikroORM "Migrations" (mikro-orm.io/docs/migrations).
 *
 * @example
 * ```ts
 * import { swlMigrations } from 'swl-library/migrations';
 * MikroORM.init({
 *   extensions: [Migrator],
 *   migrations: { migrationsList: [...swlMigrations('postgresql'), ...hostMigrations], snapshot: false },
 * });
 * ```
 *
 * @module
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type MigrationObject, Utils } from '@mikro-orm/core';
import { configurationError } from '../src/internal/translate-error.ts';
import { postgresqlMigrations } from './postgresql/index.ts';
import { sqliteMigrations } from './sqlite/index.ts';

export { postgresqlMigrations, sqliteMigrations };

/** The SQL dialects the package ships migrations for. */
export type SwlDialect = 'sqlite' | 'postgresql';

/** The dialects the package ships migrations for, in a fixed order. */
export const SWL_DIALECTS = ['sqlite', 'postgresql'] as const satisfies readonly SwlDialect[];

/**
 * The migrations for one dialect as MikroORM `MigrationObject`s (`{ name, class }`), in the order
 * they must run. Names start with `Swl` so they can share a host's migration table.
 *
 * @param dialect - `'sqlite'` or `'postgresql'`.
 * @returns a new array on every call; safe to spread into a host's `migrationsList`.
 */
export function swlMigrations(dialect: SwlDialect): MigrationObject[] {
  const list = dialect === 'sqlite' ? sqliteMigrations : postgresqlMigrations;
  return list.map((cls) => ({ name: new cls(null as never, null as never).name ?? cls.name, class: cls }));
}

/** Options of {@link discoverHostMigrations}. */
export interface HostMigrationsOptions {
  /**
   * When a migration is in the folder twice, as `X.ts` and as `X.js` (compiled in place), import
   * the `.ts` one. Default: MikroORM's own TypeScript detection (`Utils.detectTypeScriptSupport()`:
   * true under vitest, ts-node/tsx, a `.ts` entry script, or the MikroORM CLI).
   */
  preferTs?: boolean;
}

/** The files folder discovery considers: MikroORM's `migrations.glob` (`!(*.d).{js,ts,cjs}`), minus `index.*`. */
const MIGRATION_FILE = /^(?!index\.)(?!.*\.d\.ts$)(.+)\.(ts|js|cjs)$/;

/**
 * The host's own migrations in `folder` (the files MikroORM's `migration:create` writes there), as
 * `MigrationObject`s ordered by name: what MikroORM's folder discovery finds, for a configuration
 * whose `migrationsList` (ours) switches that discovery off. `swlOrmConfig()` appends them after
 * the package's migrations.
 *
 * Rules, as MikroORM's discovery has them (`AbstractMigrator.discoverMigrations`): the files of the
 * folder itself (not its subfolders) ending in `.ts`, `.js` or `.cjs`, except `*.d.ts`; each is
 * recorded under its file name without the extension (`Migration20260301120000_note.ts` →
 * `Migration20260301120000_note`), so a database migrated by folder discovery before matches.
 * Differences: `index.*` files are skipped (a barrel re-exporting the folder's migrations is not
 * a migration), a file present as both `X.ts` and `X.js` is imported once (see
 * {@link HostMigrationsOptions.preferTs}), and a file that is not a migration is an error instead
 * of being run blindly.
 *
 * Each file is imported (dynamic `import()`) when this is called: a migration added to the folder
 * later is seen by the next configuration built, not by one already in use.
 *
 * @param folder - absolute path of the folder; a folder that does not exist has no migrations.
 * @returns a new array, possibly empty.
 * @throws SwlError `CONFIGURATION` (with `details.file` and `details.fix`) for a file that cannot be
 *   imported (syntax, a missing import, `.ts` on a Node without type stripping), or that exports no
 *   migration class (an exported class with an `up` method) or more than one.
 */
export async function discoverHostMigrations(
  folder: string,
  options: HostMigrationsOptions = {},
): Promise<MigrationObject[]> {
  let entries: string[];
  try {
    entries = readdirSync(folder, { withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => e.name);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return [];
    throw error;
  }
  const preferTs = options.preferTs ?? Utils.detectTypeScriptSupport();
  const rank = (file: string) => (file.endsWith('.ts') === preferTs ? 0 : 1);
  const byName = new Map<string, string>();
  for (const file of entries.sort()) {
    const match = MIGRATION_FILE.exec(file);
    if (!match) continue;
    const name = match[1] as string;
    const seen = byName.get(name);
    // the preferred kind (.ts or JavaScript) wins; within one kind, the first in file-name order
    if (seen === undefined || rank(file) < rank(seen)) byName.set(name, file);
  }
  const found: MigrationObject[] = [];
  for (const [name, file] of [...byName].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const path = join(folder, file);
    let exports: Record<string, unknown>;
    try {
      exports = await import(pathToFileURL(path).href);
    } catch (error) {
      throw configurationError(
        `the migration ${path} cannot be imported: ${(error as Error)?.message ?? String(error)}`,
        { file: path, fix: 'fix the file, or move it out of the migrations folder' },
        error,
      );
    }
    const classes = Object.values(exports).filter(isMigrationClass);
    if (classes.length !== 1) {
      throw configurationError(
        `${path} is in the migrations folder but exports ${classes.length === 0 ? 'no migration class' : `${classes.length} migration classes`}`,
        {
          file: path,
          fix: 'export exactly one class extending Migration (from @mikro-orm/migrations) from each file of the migrations folder, or move the file out of it',
        },
      );
    }
    found.push({ name, class: classes[0] as MigrationObject['class'] });
  }
  return found;
}

/** A class MikroORM can run as a migration: a constructor whose prototype has `up`. */
function isMigrationClass(value: unknown): boolean {
  return (
    typeof value === 'function' &&
    typeof (value as { prototype?: { up?: unknown } }).prototype?.up === 'function'
  );
}
