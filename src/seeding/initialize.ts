/**
 * One call that makes a database ready: pending migrations, then the default data. Source:
 * docs/DESIGN.md §8; `docs/legacy/000_266b31aaf8610e4d.txt` "Automatic Initialization" (tables,
 * default admin, inventory).
 *
 * @module
 */
import type { MikroORM } from '@mikro-orm/core';
import { toSwlError } from '../internal/translate-error.ts';
import { type SeedOptions, type SeedReport, seedDefaults } from './seed.ts';

/** What {@link initializeDatabase} did. */
export interface InitializeReport extends SeedReport {
  /** Names of the migrations applied by this call (empty when the schema was up to date). */
  migrationsApplied: string[];
}

/**
 * Initializes a database for the package: applies pending migrations (`orm.migrator.up()`), then
 * seeds what is missing — the default admin, the default lending policies, the six inventory items
 * with their copies. Idempotent: a second call applies nothing and seeds nothing, and never
 * touches rows a host has changed (an existing admin, policy or catalog entry is left as it is).
 *
 * The `orm` must have been created with the package's migrations and the `Migrator` extension, as
 * `swlOrmConfig()` does.
 *
 * @param orm - an initialized MikroORM instance.
 * @param options - admin password (else `SWL_ADMIN_PASSWORD`, else generated), clock, what to seed.
 * @returns the applied migrations and the seed report; `admin.generatedPassword` is set only when
 *   a password was generated — show it once and never store it.
 * @throws SwlError `VALIDATION_FAILED` (an admin password shorter than 12 characters), `UNAVAILABLE`,
 *   `INTERNAL`.
 */
export async function initializeDatabase(
  orm: MikroORM,
  options: SeedOptions = {},
): Promise<InitializeReport> {
  let migrationsApplied: string[];
  try {
    migrationsApplied = (await orm.migrator.up()).map((m) => m.name);
  } catch (error) {
    throw toSwlError(error);
  }
  const report = await seedDefaults(orm.em.fork(), options);
  return { migrationsApplied, ...report };
}
