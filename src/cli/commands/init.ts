/**
 * `swl init`: the original system's first run — migrations, then the default data (admin,
 * policies, inventory) — idempotent. The admin password is the one given on stdin or at a prompt
 * (`--admin-password-stdin`), else `SWL_ADMIN_PASSWORD`, else generated and printed once (only by
 * the run that creates the admin). Source: docs/legacy/000_266b31aaf8610e4d.txt "First run".
 *
 * @module
 * @internal
 */
import { initializeDatabase } from '../../seeding/initialize.ts';
import type { RegisterCommands } from './index.ts';

export const registerInit: RegisterCommands = (program, context) => {
  program
    .command('init')
    .description(
      'apply pending migrations and seed what is missing (default admin, lending policies, ' +
        'inventory); safe to run again: a second run changes nothing',
    )
    .option(
      '--admin-password-stdin',
      'read the default admin password from stdin (or a prompt at a terminal)',
    )
    .action(async (options: { adminPasswordStdin?: boolean }, command) => {
      const ctx = context(command);
      const adminPassword = options.adminPasswordStdin
        ? await ctx.readPassword('password for the default admin')
        : undefined;
      const report = await ctx.withOrm((orm) =>
        initializeDatabase(orm, adminPassword === undefined ? {} : { adminPassword }),
      );
      ctx.print(report, (r) => [
        r.migrationsApplied.length === 0
          ? 'migrations: up to date'
          : `migrations applied: ${r.migrationsApplied.join(', ')}`,
        `admin: ${r.admin.created ? 'created' : 'already there'} (document ${r.admin.documentId})`,
        ...(r.admin.generatedPassword
          ? [`admin password (shown once; change it at first sign-in): ${r.admin.generatedPassword}`]
          : []),
        `policies created: ${r.policies.created}; booking policies created: ${r.reservationPolicies.created}; notice rules created: ${r.noticeRules.created}; catalog entries created: ${r.catalog.created.length}, copies: ${r.catalog.copiesCreated}`,
      ]);
    });
};
