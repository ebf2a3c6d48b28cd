/**
 * Secrets.
 *
 * - No default password anywhere the package ships or runs from: `src/`, `migrations/`,
 *   `seeders/`, `examples/`, `scripts/` and the built `dist/` (when present) contain none of the
 *   classic ones.
 * - Password hashes are argon2id with at least OWASP's parameters (m ≥ 19 456 KiB, t ≥ 2, p ≥ 1),
 *   read from real stored hashes: a user created through the service, a changed password, and the
 *   seeded default admin.
 * - The hash never leaves: not in any returned object (checked with `JSON.stringify` and a deep
 *   `util.inspect` that also shows non-enumerable and hidden properties), not in a seed report, not
 *   in an error — its `details`, its JSON, nor its cause chain (`DUPLICATE`, `AUTH_FAILED`).
 * - Failed sign-ins look the same whatever the reason (unknown login, wrong password, inactive
 *   user, user without a password): same class, code, message, details, HTTP status, JSON.
 * - Legacy hashes (a weaker argon2id, an imported Werkzeug `pbkdf2:` hash) do not stay: the first
 *   successful sign-in stores argon2id with at least OWASP's parameters; neither the old nor the
 *   new hash is in the returned view; a wrong password against them fails like any other.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { type Algorithm, hash as argon2Hash } from '@node-rs/argon2';
import { beforeAll, describe, expect, it } from 'vitest';
import { CatalogService } from '../../src/catalog/catalog.service.ts';
import { ManualClock } from '../../src/clock.ts';
import type { SwlErrorCode } from '../../src/errors.ts';
import { LoanService } from '../../src/loans/loan.service.ts';
import type { Actor } from '../../src/permissions.ts';
import { PolicyService } from '../../src/policies/policy.service.ts';
import { seedDefaults } from '../../src/seeding/seed.ts';
import { werkzeugPasswordVerifier } from '../../src/users/password.ts';
import { UserService } from '../../src/users/user.service.ts';
import { VisitorLogService } from '../../src/visitors/visitor-log.service.ts';
import {
  describeEachDialect,
  expectSwlError,
  setStoredPasswordHash,
  storedPasswordHash,
  uniqueId,
  useDesk,
} from '../support/fixtures.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const DEFAULT_PASSWORDS = ['admin123', 'password123', 'changeme'];

/** Every file under `dir` (recursively), skipping nothing. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else out.push(path);
  }
  return out;
}

/** OWASP Password Storage Cheat Sheet, argon2id minimum. */
const OWASP = { memoryKiB: 19_456, iterations: 2, parallelism: 1 };

/** Parses a PHC argon2 string: `$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>`. */
function phc(hash: string) {
  const m =
    /^\$(argon2(?:id|i|d))\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(hash);
  if (!m) throw new Error(`not an argon2 PHC string: ${hash.slice(0, 12)}…`);
  const bytes = (b64: string) => Buffer.from(b64, 'base64').length;
  return {
    algorithm: m[1],
    version: Number(m[2]),
    memoryKiB: Number(m[3]),
    iterations: Number(m[4]),
    parallelism: Number(m[5]),
    saltBytes: bytes(m[6] as string),
    hashBytes: bytes(m[7] as string),
  };
}

/** Everything that can be seen of a value: its JSON and a deep inspection (hidden and non-enumerable too, causes included). */
function everythingIn(value: unknown): string {
  let json = '';
  try {
    json = JSON.stringify(value) ?? '';
  } catch {
    json = '';
  }
  return `${json}\n${inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true, getters: true })}`;
}

describe('no default password in what the package ships or runs from', () => {
  it('src, migrations, seeders, examples, scripts and dist contain none of the classic defaults', () => {
    const files = ['src', 'migrations', 'seeders', 'examples', 'scripts', 'dist']
      .map((dir) => join(ROOT, dir))
      .filter((dir) => {
        try {
          return statSync(dir).isDirectory();
        } catch {
          return false;
        }
      })
      .flatMap(filesUnder);
    expect(files.length).toBeGreaterThan(40);
    let sawHashing = false;
    for (const file of files) {
      const text = readFileSync(file, 'utf8').toLowerCase();
      for (const word of DEFAULT_PASSWORDS) {
        expect(text.includes(word), `${file.slice(ROOT.length + 1)} contains "${word}"`).toBe(false);
      }
      sawHashing ||= text.includes('argon2id');
    }
    expect(sawHashing, 'the scan read the sources').toBe(true);
  });
});

describeEachDialect('secrets', (dialect) => {
  const desk = useDesk(dialect);
  let admin: Actor;
  const clock = new ManualClock('2026-03-02T08:00:00Z');
  const users = () => new UserService(desk.em(), { clock });
  const PASSWORD = 'correct horse battery staple';

  const storedHash = async (userId: number) => (await storedPasswordHash(desk.orm, userId)) as string;

  beforeAll(() => {
    admin = desk.admin;
  });

  it('stores argon2id hashes with at least OWASP parameters (created, changed, and the seeded admin)', async () => {
    const created = await users().createUser(admin, {
      documentId: uniqueId(),
      fullName: 'Hash Check',
      password: PASSWORD,
    });
    const changed = await users().createUser(admin, { documentId: uniqueId(), fullName: 'Changes' });
    await users().changePassword(admin, { userId: changed.id, newPassword: 'another long passphrase' });
    const seeded = await seedDefaults(desk.em(), {
      adminPassword: 'the installer chose this',
      inventory: false,
      policies: false,
      clock,
    });
    expect(seeded.admin.created).toBe(true);
    expect(everythingIn(seeded)).not.toContain('$argon2');

    const hashes = [
      await storedHash(created.id),
      await storedHash(changed.id),
      await storedHash(seeded.admin.id),
    ];
    expect(new Set(hashes).size).toBe(3);
    for (const hash of hashes) {
      const p = phc(hash);
      expect(p.algorithm).toBe('argon2id');
      expect(p.version).toBe(19);
      expect(p.memoryKiB).toBeGreaterThanOrEqual(OWASP.memoryKiB);
      expect(p.iterations).toBeGreaterThanOrEqual(OWASP.iterations);
      expect(p.parallelism).toBeGreaterThanOrEqual(OWASP.parallelism);
      expect(p.saltBytes).toBeGreaterThanOrEqual(16);
      expect(p.hashBytes).toBeGreaterThanOrEqual(32);
    }
  });

  it('never returns the hash: not from any user command or read, not from the other services', async () => {
    const documentId = uniqueId();
    const email = `${documentId}@example.edu`;
    const results: Array<[string, unknown]> = [];
    const keep = async <T>(label: string, promise: Promise<T>) => {
      const value = await promise;
      results.push([label, value]);
      return value;
    };
    const user = await keep(
      'createUser',
      users().createUser(admin, { documentId, fullName: 'Secret Keeper', email, password: PASSWORD }),
    );
    const hash = await storedHash(user.id);
    expect(hash.startsWith('$argon2id$')).toBe(true);
    const self: Actor = { id: user.id, role: 'student' };
    await keep('authenticate (document)', users().authenticate({ login: documentId, password: PASSWORD }));
    await keep(
      'authenticate (email)',
      users().authenticate({ login: email.toUpperCase(), password: PASSWORD }),
    );
    await keep('updateUser', users().updateUser(admin, { userId: user.id, phone: '3000000000' }));
    await keep('getUser (self)', users().getUser(self, { userId: user.id }));
    await keep('getUser (admin)', users().getUser(admin, { userId: user.id }));
    await keep('listUsers', users().listUsers(admin, { limit: 500 }));
    await keep('changeRole', users().changeRole(admin, { userId: user.id, role: 'teacher' }));
    const teacher: Actor = { id: user.id, role: 'teacher' };
    await keep(
      'changePassword (own)',
      users().changePassword(teacher, { currentPassword: PASSWORD, newPassword: 'a second passphrase' }),
    );
    await keep(
      'changePassword (admin)',
      users().changePassword(admin, { userId: user.id, newPassword: PASSWORD }),
    );
    await keep('deactivate', users().deactivate(admin, { userId: user.id }));
    await keep('reactivate', users().reactivate(admin, { userId: user.id }));
    // Reads of the other services that mention users.
    const entry = await desk.entry('general', 1);
    const loans = new LoanService(desk.em(), { clock });
    const loan = await keep('request', loans.request(teacher, { catalogEntryId: entry.id }));
    await keep('getLoan', loans.getLoan(teacher, { loanId: loan.id }));
    await keep('listBorrowerLoans', loans.listBorrowerLoans(admin, { borrowerId: user.id, scope: 'all' }));
    await keep('pendingQueue', loans.pendingQueue(admin, { limit: 500 }));
    await keep('borrowerStanding', loans.borrowerStanding(admin, { borrowerId: user.id }));
    const visits = new VisitorLogService(desk.em(), { clock });
    await keep(
      'recordVisit',
      visits.recordVisit(desk.staff, {
        visitorName: 'Secret Keeper',
        visitorId: documentId,
        role: 'teacher',
        activity: 'estudio',
        userId: user.id,
      }),
    );
    await keep(
      'visits.list',
      visits.list(admin, { from: '2026-01-01T00:00:00Z', to: '2027-01-01T00:00:00Z' }),
    );
    await keep(
      'copyHistory',
      new CatalogService(desk.em(), { clock }).copyHistory(admin, {
        copyId: entry.copies[0] as number,
      }),
    );
    await keep('policies.list', new PolicyService(desk.em()).list(admin));

    const latest = await storedHash(user.id);
    for (const [label, value] of results) {
      const seen = everythingIn(value);
      expect(seen, label).not.toContain('$argon2');
      expect(seen, label).not.toContain(hash.split('$').at(-1));
      expect(seen, label).not.toContain(latest.split('$').at(-1));
      expect(seen, label).not.toMatch(/passwordHash|password_hash/);
    }
  });

  it('keeps the hash out of errors: DUPLICATE and AUTH_FAILED, details, JSON and causes', async () => {
    const documentId = uniqueId();
    const email = `${documentId}@example.edu`;
    const first = await users().createUser(admin, {
      documentId,
      fullName: 'Original',
      email,
      password: PASSWORD,
    });
    const hash = await storedHash(first.id);
    const failures: Array<[string, () => Promise<unknown>]> = [
      [
        'DUPLICATE document',
        () => users().createUser(admin, { documentId, fullName: 'Copy', password: PASSWORD }),
      ],
      [
        'DUPLICATE email',
        () =>
          users().createUser(admin, {
            documentId: uniqueId(),
            fullName: 'Copy',
            email,
            password: PASSWORD,
          }),
      ],
      [
        'AUTH_FAILED wrong password',
        () => users().authenticate({ login: documentId, password: 'not the password' }),
      ],
      [
        'AUTH_FAILED wrong current password',
        () =>
          users().changePassword(
            { id: first.id, role: 'student' },
            { currentPassword: 'not the password', newPassword: 'a third passphrase' },
          ),
      ],
    ];
    for (const [label, attempt] of failures) {
      const e = await expectSwlError(attempt, label.split(' ')[0] as SwlErrorCode, label);
      for (const seen of [everythingIn(e), everythingIn(e.details), JSON.stringify(e), e.message]) {
        expect(seen, label).not.toContain('$argon2');
        expect(seen, label).not.toContain(hash.split('$').at(-1));
      }
    }
  });

  it('fails every sign-in the same way: unknown login, wrong password, inactive user, no password', async () => {
    const active = uniqueId();
    const inactive = uniqueId();
    const passwordless = uniqueId();
    await users().createUser(admin, {
      documentId: active,
      fullName: 'Active',
      email: `${active}@x.edu`,
      password: PASSWORD,
    });
    const gone = await users().createUser(admin, {
      documentId: inactive,
      fullName: 'Gone',
      password: PASSWORD,
    });
    await users().deactivate(admin, { userId: gone.id });
    await users().createUser(admin, { documentId: passwordless, fullName: 'No password' });
    expect(await users().authenticate({ login: active, password: PASSWORD })).toMatchObject({
      documentId: active,
    });

    const attempts: Array<[string, { login: string; password: string }]> = [
      ['unknown document id', { login: uniqueId(), password: PASSWORD }],
      ['unknown e-mail', { login: 'nobody@x.edu', password: PASSWORD }],
      ['wrong password', { login: active, password: `${PASSWORD}!` }],
      ['wrong password by e-mail', { login: `${active}@x.edu`, password: 'Correct Horse Battery Staple' }],
      ['inactive user, right password', { login: inactive, password: PASSWORD }],
      ['user without a password', { login: passwordless, password: PASSWORD }],
    ];
    const seen: Array<[string, unknown]> = [];
    for (const [label, input] of attempts) {
      const e = await expectSwlError(users().authenticate(input), 'AUTH_FAILED', label);
      seen.push([
        label,
        {
          name: e.name,
          code: e.code,
          message: e.message,
          details: e.details,
          json: JSON.stringify(e),
          httpStatus: e.httpStatus,
          retryable: e.retryable,
          keys: Object.keys(e).sort(),
          cause: e.cause,
        },
      ]);
    }
    const [, reference] = seen[0] as [string, unknown];
    expect(reference).toMatchObject({ code: 'AUTH_FAILED', details: {}, httpStatus: 401, cause: undefined });
    for (const [label, shape] of seen) expect(shape, label).toEqual(reference);
  });

  it('upgrades legacy hashes at sign-in to OWASP argon2id, never returns either, fails alike', async () => {
    // Werkzeug 3.1.8: generate_password_hash('contraseña de café', 'pbkdf2:sha256:1000') (few
    // iterations keep this test fast; the verifier is told so through its reference hashes).
    const werkzeug = {
      password: 'contraseña de café',
      hash: 'pbkdf2:sha256:1000$7URzygqLjL7K4WQT$6a459a3ace6d59d3d2fc0d93e94e48af5369ec2904847b70542795cbda7a5692',
    };
    const legacyPasswordVerifiers = [werkzeugPasswordVerifier({ referenceHashes: [werkzeug.hash] })];
    const legacyUsers = () => new UserService(desk.em(), { clock, legacyPasswordVerifiers });
    const weak = await argon2Hash(PASSWORD, {
      algorithm: 2 as Algorithm,
      memoryCost: 4096,
      timeCost: 1,
      parallelism: 1,
    });
    const unknownLogin = await expectSwlError(
      legacyUsers().authenticate({ login: uniqueId(), password: PASSWORD }),
      'AUTH_FAILED',
    );
    const reference = JSON.stringify(unknownLogin.toJSON());
    for (const [label, stored, password] of [
      ['weaker argon2id', weak, PASSWORD],
      ['Werkzeug pbkdf2', werkzeug.hash, werkzeug.password],
    ] as const) {
      const documentId = uniqueId();
      const user = await legacyUsers().createUser(admin, { documentId, fullName: `Legacy ${label}` });
      await setStoredPasswordHash(desk.orm, user.id, stored);
      const failed = await expectSwlError(
        legacyUsers().authenticate({ login: documentId, password: `${password}!` }),
        'AUTH_FAILED',
        label,
      );
      expect(JSON.stringify(failed.toJSON()), label).toBe(reference);
      expect(everythingIn(failed), label).not.toContain(stored.split('$').at(-1));
      expect(await storedHash(user.id), label).toBe(stored);

      const view = await legacyUsers().authenticate({ login: documentId, password });
      const upgraded = await storedHash(user.id);
      const p = phc(upgraded);
      expect(p.algorithm, label).toBe('argon2id');
      expect(p.memoryKiB).toBeGreaterThanOrEqual(OWASP.memoryKiB);
      expect(p.iterations).toBeGreaterThanOrEqual(OWASP.iterations);
      expect(p.parallelism).toBeGreaterThanOrEqual(OWASP.parallelism);
      expect(p.saltBytes).toBeGreaterThanOrEqual(16);
      expect(p.hashBytes).toBeGreaterThanOrEqual(32);
      const seen = everythingIn(view);
      expect(seen, label).not.toContain(stored.split('$').at(-1));
      expect(seen, label).not.toContain(upgraded.split('$').at(-1));
      expect(seen, label).not.toContain('$argon2');
    }
  });
});
