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
import type { MigrationObject } from '@mikro-orm/core';
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
