/**
 * `swl admin …`: the operator's way in when nobody can sign in as an admin — create an admin, or
 * set a new password for a locked-out admin. The operator has the database, so these bypass the
 * services' acting user; the rules stay the domain's: the user input schema (`CreateUserInput`),
 * the password policy (`PasswordSchema`) and argon2id hashing (`hashPassword`). Passwords come
 * from a hidden prompt or stdin, never from argv, and are never printed.
 * Source: issue 14; docs/legacy/000_266b31aaf8610e4d.txt "Default Admin Account" ("Changing Default
 * Password").
 *
 * @module
 * @internal
 */
import type { MikroORM } from '@mikro-orm/core';
import { User } from '../../entities/user.entity.ts';
import { SwlError } from '../../errors.ts';
import { toSwlError } from '../../internal/translate-error.ts';
import { hashPassword, PasswordSchema } from '../../users/password.ts';
import { CreateUserInput } from '../../users/schemas.ts';
import { duplicateUser } from '../../users/user.service.ts';
import { toUserView, type UserView } from '../../users/views.ts';
import { parseInput } from '../../validation.ts';
import type { RegisterCommands } from './index.ts';

/** The password checked against the domain's policy (12..256 characters, no NUL). */
function checkedPassword(password: string): string {
  const checked = PasswordSchema.safeParse(password);
  if (!checked.success) {
    throw new SwlError(
      'VALIDATION_FAILED',
      `the password ${checked.error.issues[0]?.message ?? 'is not accepted'}`,
      {
        issues: checked.error.issues.map((i) => ({ path: ['password'], code: i.code, message: i.message })),
      },
    );
  }
  return checked.data;
}

/** Creates an admin with `passwordHash`, in one transaction. */
async function createAdmin(
  orm: MikroORM,
  input: { documentId: string; fullName: string; email: string | null; phone: string | null },
  passwordHash: string,
  mustChangePassword: boolean,
): Promise<UserView> {
  try {
    return await orm.em.fork().transactional(async (em) => {
      const user = em.create(User, {
        ...input,
        role: 'admin',
        programName: null,
        passwordHash,
        active: true,
        mustChangePassword,
      });
      await em.flush();
      return toUserView(user);
    });
  } catch (error) {
    throw duplicateUser(error);
  }
}

/** Replaces the password hash of the admin `login` names (document id, or e-mail with `@`). */
async function resetAdminPassword(
  orm: MikroORM,
  login: string,
  passwordHash: string,
  mustChangePassword: boolean,
): Promise<UserView> {
  const where = login.includes('@') ? { email: login.trim().toLowerCase() } : { documentId: login.trim() };
  try {
    return await orm.em.fork().transactional(async (em) => {
      const user = await em.findOne(User, where, { populate: ['passwordHash'] });
      if (user?.role !== 'admin') {
        throw new SwlError(
          'NOT_FOUND',
          `no admin with the login ${login} (reset-password is for admins; an admin resets other users' passwords in the application)`,
          { entity: 'user', login, ...(user ? { role: user.role } : {}) },
        );
      }
      user.passwordHash = passwordHash;
      user.mustChangePassword = mustChangePassword;
      await em.flush();
      return toUserView(user);
    });
  } catch (error) {
    throw toSwlError(error);
  }
}

/** The view printed for an admin: no hash ever, dates as ISO strings. */
function adminLines(verb: string, u: UserView): string[] {
  return [
    `${verb}: ${u.fullName} (id ${u.id}, document ${u.documentId}${u.email ? `, ${u.email}` : ''})`,
    u.mustChangePassword
      ? 'must change the password at the next sign-in'
      : 'keeps this password (no change required at sign-in)',
    ...(u.active
      ? []
      : ['note: this admin is deactivated and cannot sign in until another admin reactivates them']),
  ];
}

export const registerAdmin: RegisterCommands = (program, context) => {
  const admin = program
    .command('admin')
    .description(
      'administrators, for the operator who has the database: create one, or set a new password ' +
        'for one who is locked out (passwords from a hidden prompt or stdin, never from arguments)',
    );

  admin
    .command('create')
    .description(
      'create an admin; the password is read from a hidden prompt (or stdin: one line), checked ' +
        'against the password policy (12..256 characters) and stored as argon2id; the admin must ' +
        'change it at the first sign-in unless --no-must-change',
    )
    .requiredOption('--document-id <id>', 'document id, the login (1..20 characters, unique)')
    .requiredOption('--name <name>', 'full name (1..100 characters)')
    .option('--email <email>', 'e-mail address, also a login (unique)')
    .option('--phone <phone>', 'phone number (up to 20 characters)')
    .option(
      '--no-must-change',
      'do not require a new password at the first sign-in (the admin chose this one)',
    )
    .action(
      async (
        options: { documentId: string; name: string; email?: string; phone?: string; mustChange: boolean },
        command,
      ) => {
        const ctx = context(command);
        // Everything but the password first, so a typo fails before the prompt.
        const input = parseInput(CreateUserInput, {
          documentId: options.documentId,
          fullName: options.name,
          email: options.email ?? null,
          ...(options.phone === undefined ? {} : { phone: options.phone }),
          role: 'admin',
        });
        const password = checkedPassword(await ctx.readPassword('password for the new admin'));
        // Hashed before the transaction opens: argon2 must not hold SQLite's write lock.
        const passwordHash = await hashPassword(password);
        const user = await ctx.withOrm((orm) =>
          createAdmin(
            orm,
            {
              documentId: input.documentId,
              fullName: input.fullName,
              email: input.email ?? null,
              phone: input.phone ?? null,
            },
            passwordHash,
            options.mustChange,
          ),
        );
        ctx.print({ ok: true, user }, (r) => adminLines('admin created', r.user));
      },
    );

  admin
    .command('reset-password')
    .description(
      'set a new password for an admin who is locked out (login: document id or e-mail); the ' +
        'password is read from a hidden prompt (or stdin: one line); the admin must change it at ' +
        'the next sign-in unless --no-must-change; a deactivated admin stays deactivated',
    )
    .argument('<login>', "the admin's document id, or e-mail address")
    .option(
      '--no-must-change',
      'do not require a new password at the next sign-in (the admin chose this one)',
    )
    .action(async (login: string, options: { mustChange: boolean }, command) => {
      const ctx = context(command);
      const password = checkedPassword(await ctx.readPassword(`new password for ${login}`));
      const passwordHash = await hashPassword(password);
      const user = await ctx.withOrm((orm) =>
        resetAdminPassword(orm, login, passwordHash, options.mustChange),
      );
      ctx.print({ ok: true, user }, (r) => adminLines('password reset', r.user));
    });
};
