/**
 * `swl admin create` and `swl admin reset-password`, run as an operator runs them (the installed
 * tarball's executable, a child process) on every database, checked by signing in through
 * `UserService.authenticate` on an ORM the test opens. Passwords only ever on stdin: no
 * `--password` option, never printed. Source: issue 14.
 */
import { MikroORM } from '@mikro-orm/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { UserService } from '../../src/users/user.service.ts';
import { createTestDatabase, describeEachDialect, expectSwlError } from '../support/fixtures.ts';
import { type InstalledPackage, installedPackage, swl } from '../support/installed-package.ts';

let pkg: InstalledPackage;
beforeAll(async () => {
  pkg = await installedPackage();
}, 300_000);

const FIRST = 'first admin passphrase 1';
const SECOND = 'second admin passphrase 2';

describe('swl admin: passwords never in arguments', () => {
  it('no command has a --password option; one given is a usage error (exit 2)', async () => {
    for (const sub of ['create', 'reset-password']) {
      const help = await swl(pkg, ['admin', sub, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`Usage: swl admin ${sub}`);
      expect(help.stdout).not.toMatch(/--password/);
      expect(help.stdout).toMatch(/stdin/);
    }
    const given = await swl(pkg, ['admin', 'reset-password', '1', '--password', FIRST]);
    expect(given.code).toBe(2);
    expect(given.stderr).toContain("unknown option '--password'");
    expect(given.stderr).not.toContain(FIRST);
  });

  it('the password is checked against the policy before the database is opened, and not echoed; none on stdin is exit 2', async () => {
    // an unreachable database: these fail before any connection is tried
    const env = { DATABASE_URL: 'postgresql://nobody@127.0.0.1:1/none' };
    const short = await swl(pkg, ['admin', 'create', '--document-id', '7000000002', '--name', 'B'], {
      env,
      input: 'short pass\n',
    });
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/^swl: VALIDATION_FAILED: the password must be at least 12 characters/m);
    expect(short.stderr).not.toContain('short pass');
    const none = await swl(pkg, ['admin', 'reset-password', '7000000001'], { env });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no password on stdin');
  });
});

describe.concurrent('swl admin', () => {
  describeEachDialect('swl admin', (dialect, database) => {
    it('create, then sign-in works; reset-password, then the old password fails and the new one works', async () => {
      const db = await createTestDatabase(dialect, database.sqliteDriver ?? 'node:sqlite');
      const env = { DATABASE_URL: db.location };
      let orm: MikroORM | undefined;
      try {
        orm = await MikroORM.init(await db.options());
        await orm.migrator.up();
        const create = ['admin', 'create', '--document-id', '7000000001', '--name', 'Ana Admin'];
        const made = await swl(pkg, [...create, '--email', 'Ana@Example.edu', '--json'], {
          env,
          input: `${FIRST}\n`,
        });
        expect(made.code, made.stderr).toBe(0);
        expect(`${made.stdout}${made.stderr}`).not.toContain(FIRST);
        const { user } = JSON.parse(made.stdout);
        expect(user).toMatchObject({
          documentId: '7000000001',
          email: 'ana@example.edu',
          role: 'admin',
          active: true,
          mustChangePassword: true,
        });
        expect(user).not.toHaveProperty('passwordHash');

        // a typed error: the same document id
        const again = await swl(pkg, create, { env, input: `${FIRST}\n` });
        expect(again.code).toBe(1);
        expect(again.stderr).toMatch(/^swl: DUPLICATE: a user with this documentId already exists$/m);

        const users = () => new UserService(orm!.em.fork());
        expect(await users().authenticate({ login: 'ana@example.edu', password: FIRST })).toMatchObject({
          id: user.id,
          role: 'admin',
        });

        const reset = await swl(pkg, ['admin', 'reset-password', '7000000001', '--no-must-change'], {
          env,
          input: `${SECOND}\n`,
        });
        expect(reset.code, reset.stderr).toBe(0);
        expect(reset.stdout).toContain('password reset: Ana Admin');
        expect(`${reset.stdout}${reset.stderr}`).not.toContain(SECOND);
        await expectSwlError(users().authenticate({ login: '7000000001', password: FIRST }), 'AUTH_FAILED');
        expect(await users().authenticate({ login: '7000000001', password: SECOND })).toMatchObject({
          id: user.id,
          mustChangePassword: false,
        });

        const unknown = await swl(pkg, ['admin', 'reset-password', 'nobody@example.edu'], {
          env,
          input: `${SECOND}\n`,
        });
        expect(unknown.code).toBe(1);
        expect(unknown.stderr).toMatch(/^swl: NOT_FOUND: no admin with the login nobody@example\.edu/m);
      } finally {
        await orm?.close(true);
        await db.drop();
      }
    });
  });
});
