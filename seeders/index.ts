/**
 * The package's seeders for MikroORM's seeder API (`@mikro-orm/seeder`), for hosts that seed
 * through `orm.seeder.seed(...)` or the MikroORM CLI. They do what `initializeDatabase` does after
 * migrating, and are just as idempotent. Source: docs/DESIGN.md §8;
 * `docs/legacy/000_266b31aaf8610e4d.txt` "Initial Database Setup".
 *
 * @example
 * ```ts
 * import { SwlDatabaseSeeder } from 'swl-library/seeders';
 * await orm.seeder.seed(SwlDatabaseSeeder); // admin password from SWL_ADMIN_PASSWORD, else generated
 * ```
 *
 * @module
 */
import type { EntityManager } from '@mikro-orm/core';
import { Seeder } from '@mikro-orm/seeder';
import { seedDefaults } from '../src/seeding/seed.ts';

/**
 * Seeds the default admin only (document `1000000000`, password from `SWL_ADMIN_PASSWORD` or
 * generated and printed to standard error once, `mustChangePassword` set).
 */
export class SwlAdminSeeder extends Seeder {
  /** Runs the seeder (called by MikroORM's `SeedManager`). */
  async run(em: EntityManager): Promise<void> {
    const report = await seedDefaults(em, { inventory: false, policies: false });
    announce(report.admin.generatedPassword);
  }
}

/** Seeds the default lending policies (docs/DESIGN.md §5) that are missing. */
export class SwlPolicySeeder extends Seeder {
  /** Runs the seeder (called by MikroORM's `SeedManager`). */
  async run(em: EntityManager): Promise<void> {
    const report = await seedDefaults(em, { inventory: false });
    announce(report.admin.generatedPassword);
  }
}

/** Seeds everything that is missing: admin, policies, the six inventory items with their copies. */
export class SwlDatabaseSeeder extends Seeder {
  /** Runs the seeder (called by MikroORM's `SeedManager`). */
  async run(em: EntityManager): Promise<void> {
    const report = await seedDefaults(em);
    announce(report.admin.generatedPassword);
  }
}

function announce(generatedPassword: string | null): void {
  if (generatedPassword) {
    process.stderr.write(
      `swl-library: created the default admin (document 1000000000) with the generated password:\n  ${generatedPassword}\nIt must be changed at first sign-in and is not shown again.\n`,
    );
  }
}

/**
 * The name `swlOrmConfig()` sets as MikroORM's `seeder.defaultSeeder`: the seeder the CLI's
 * `seeder:run` (and `migration:fresh --seed`) runs when no `--class` is given, looked up by this
 * name in `seeder.seedersList`. It is {@link SwlDatabaseSeeder}'s entry in {@link swlSeeders}.
 */
export const SWL_DEFAULT_SEEDER = 'SwlDatabaseSeeder';

/**
 * The seeders as MikroORM `seedersList` entries (`{ name, class }`), for the `seeder.seedersList`
 * option; `swlOrmConfig()` registers them.
 */
export function swlSeeders(): { name: string; class: new () => Seeder }[] {
  return [
    { name: SWL_DEFAULT_SEEDER, class: SwlDatabaseSeeder },
    { name: 'SwlAdminSeeder', class: SwlAdminSeeder },
    { name: 'SwlPolicySeeder', class: SwlPolicySeeder },
  ];
}
