import { beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.ts';
import { CatalogEntry, ItemInstance, Loan, User } from '../src/entities/index.ts';
import type { SwlError } from '../src/errors.ts';
import type { Actor } from '../src/permissions.ts';
import {
  dummyHashParameters,
  hashPassword,
  PASSWORD_HASH_PARAMS,
  passwordNeedsRehash,
  verifyPassword,
} from '../src/users/password.ts';
import { UserService } from '../src/users/user.service.ts';
import {
  createTestUser,
  describeEachDialect,
  expectSwlError,
  rowCounts,
  storedPasswordHash,
  uniqueId,
  useTestOrm,
} from './support/fixtures.ts';

const PASSWORD = 'correct horse battery staple';
const PHC_PREFIX = `$argon2id$v=19$m=${PASSWORD_HASH_PARAMS.memoryCost},t=${PASSWORD_HASH_PARAMS.timeCost},p=${PASSWORD_HASH_PARAMS.parallelism}$`;

describe('password hashing (argon2id)', () => {
  it('uses at least the OWASP argon2id minimum and the dummy hash has the same cost', () => {
    expect(PASSWORD_HASH_PARAMS.algorithm).toBe('argon2id');
    expect(PASSWORD_HASH_PARAMS.memoryCost).toBeGreaterThanOrEqual(19_456);
    expect(PASSWORD_HASH_PARAMS.timeCost).toBeGreaterThanOrEqual(2);
    expect(PASSWORD_HASH_PARAMS.parallelism).toBeGreaterThanOrEqual(1);
    expect(dummyHashParameters()).toEqual({
      memoryCost: PASSWORD_HASH_PARAMS.memoryCost,
      timeCost: PASSWORD_HASH_PARAMS.timeCost,
      parallelism: PASSWORD_HASH_PARAMS.parallelism,
    });
  });

  it('hashes to a salted PHC string, verifies, normalizes Unicode, and flags weak hashes', async () => {
    const a = await hashPassword(PASSWORD);
    const b = await hashPassword(PASSWORD);
    expect(a.startsWith(PHC_PREFIX)).toBe(true);
    expect(a).not.toBe(b);
    expect(await verifyPassword(a, PASSWORD)).toBe(true);
    expect(await verifyPassword(a, `${PASSWORD}!`)).toBe(false);
    expect(await verifyPassword(null, PASSWORD)).toBe(false);
    expect(await verifyPassword('not a hash', PASSWORD)).toBe(false);
    const composed = 'contraseña café 2026'.normalize('NFC');
    const decomposed = composed.normalize('NFD');
    expect(decomposed).not.toBe(composed);
    expect(await verifyPassword(await hashPassword(composed), decomposed)).toBe(true);
    expect(passwordNeedsRehash(a)).toBe(false);
    expect(
      passwordNeedsRehash(
        '$argon2id$v=19$m=4096,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g',
      ),
    ).toBe(true);
    expect(passwordNeedsRehash('garbage')).toBe(true);
  });
});

describeEachDialect('users', (dialect) => {
  const t = useTestOrm(dialect);
  let admin: Actor;
  let staff: Actor;
  let student: Actor;
  const clock = new ManualClock('2026-03-02T08:00:00Z');
  const users = () => new UserService(t.orm.em.fork(), { clock });

  const storedHash = (userId: number) => storedPasswordHash(t.orm, userId);

  beforeAll(async () => {
    admin = await createTestUser(t.orm, 'admin');
    staff = await createTestUser(t.orm, 'staff');
    student = await createTestUser(t.orm, 'student');
  });

  it('creates users with a normalized e-mail and trimmed document id, and an argon2id hash', async () => {
    const created = await users().createUser(staff, {
      documentId: '  1020304050 ',
      fullName: 'Ana Pérez',
      email: '  Ana.Perez@Uni.EDU ',
      phone: '3001234567',
      programName: 'Ingeniería',
      password: PASSWORD,
    });
    expect(created).toMatchObject({
      documentId: '1020304050',
      fullName: 'Ana Pérez',
      email: 'ana.perez@uni.edu',
      role: 'student',
      active: true,
      mustChangePassword: true,
    });
    const hash = await storedHash(created.id);
    expect(hash?.startsWith(PHC_PREFIX)).toBe(true);
    expect(hash).toContain('m=19456,t=2,p=1');
    expect(JSON.stringify(created)).not.toContain(hash!);
    expect(JSON.stringify(created)).not.toContain('argon2');
    expect(Object.keys(created)).not.toContain('passwordHash');
  });

  describe('authenticate', () => {
    let ana: { id: number; documentId: string; email: string };
    let inactive: { documentId: string };

    beforeAll(async () => {
      const documentId = uniqueId();
      const view = await users().createUser(staff, {
        documentId,
        fullName: 'Auth Tester',
        email: `auth.${documentId}@uni.edu`,
        password: PASSWORD,
      });
      ana = { id: view.id, documentId, email: view.email! };
      const goneId = uniqueId();
      const gone = await users().createUser(admin, {
        documentId: goneId,
        fullName: 'Gone',
        password: PASSWORD,
      });
      await users().deactivate(admin, { userId: gone.id });
      inactive = { documentId: goneId };
    });

    it('returns the user view for the right password, by document id or e-mail (any case)', async () => {
      const byDoc = await users().authenticate({ login: ` ${ana.documentId} `, password: PASSWORD });
      expect(byDoc.id).toBe(ana.id);
      const byEmail = await users().authenticate({ login: ana.email.toUpperCase(), password: PASSWORD });
      expect(byEmail.id).toBe(ana.id);
      const hash = (await storedHash(ana.id))!;
      for (const view of [byDoc, byEmail]) {
        expect(JSON.stringify(view)).not.toContain(hash);
        expect(JSON.stringify(view)).not.toContain('$argon2');
      }
    });

    it('fails wrong password, unknown user, no password and inactive user identically', async () => {
      const noPassword = await users().createUser(staff, {
        documentId: uniqueId(),
        fullName: 'No Pass',
      });
      const attempts = [
        { login: ana.documentId, password: 'wrong password here' },
        { login: ana.email, password: `${PASSWORD} ` },
        { login: '9999999999', password: PASSWORD },
        { login: 'nobody@uni.edu', password: PASSWORD },
        { login: noPassword.documentId, password: PASSWORD },
        { login: inactive.documentId, password: PASSWORD },
      ];
      const errors: SwlError[] = [];
      for (const attempt of attempts)
        errors.push(await expectSwlError(users().authenticate(attempt), 'AUTH_FAILED'));
      const shapes = errors.map((e) => JSON.stringify(e.toJSON()));
      expect(new Set(shapes).size).toBe(1);
      expect(errors[0]!.toJSON()).toEqual({
        code: 'AUTH_FAILED',
        message: 'invalid login or password',
        details: {},
      });
      expect(errors.every((e) => e.httpStatus === 401)).toBe(true);
    });

    it('spends comparable argon2 time on unknown and known logins', async () => {
      const median = async (login: string) => {
        const times: number[] = [];
        for (let k = 0; k < 7; k++) {
          const start = performance.now();
          await users()
            .authenticate({ login, password: 'wrong password here' })
            .catch(() => undefined);
          times.push(performance.now() - start);
        }
        return times.sort((x, y) => x - y)[3]!;
      };
      const known = await median(ana.documentId);
      const unknown = await median('8888888888');
      // Without the dummy verification an unknown login is ~10× faster (no argon2 at all).
      // Bounds are wide so a busy machine does not make the test flaky.
      expect(unknown / known).toBeGreaterThan(0.25);
      expect(unknown / known).toBeLessThan(4);
    });
  });

  it('refuses duplicate document ids and e-mails (any case) with DUPLICATE, from the database', async () => {
    const documentId = uniqueId();
    await users().createUser(staff, { documentId, fullName: 'First', email: `dup.${documentId}@uni.edu` });
    const before = await rowCounts(t.orm);
    const byDoc = await expectSwlError(
      users().createUser(staff, { documentId: ` ${documentId}`, fullName: 'Second' }),
      'DUPLICATE',
    );
    expect(byDoc.details).toEqual({ entity: 'user', field: 'documentId' });
    const byEmail = await expectSwlError(
      users().createUser(staff, {
        documentId: uniqueId(),
        fullName: 'Third',
        email: `DUP.${documentId}@UNI.edu`,
      }),
      'DUPLICATE',
    );
    expect(byEmail.details).toEqual({ entity: 'user', field: 'email' });
    const other = await users().createUser(staff, { documentId: uniqueId(), fullName: 'Fourth' });
    const onUpdate = await expectSwlError(
      users().updateUser(staff, { userId: other.id, email: `dup.${documentId}@uni.edu` }),
      'DUPLICATE',
    );
    expect(onUpdate.details.field).toBe('email');
    const after = await rowCounts(t.orm);
    expect(after).toEqual({ ...before, swl_user: before.swl_user! + 1 });
  });

  it('updates name, e-mail, phone and programme, and clears optional fields', async () => {
    const u = await users().createUser(staff, {
      documentId: uniqueId(),
      fullName: 'Carlos',
      email: 'carlos@uni.edu',
      phone: '1',
    });
    const updated = await users().updateUser(staff, {
      userId: u.id,
      fullName: 'Carlos Gómez',
      email: 'CGOMEZ@uni.edu',
      phone: null,
      programName: 'Física',
    });
    expect(updated).toMatchObject({
      fullName: 'Carlos Gómez',
      email: 'cgomez@uni.edu',
      phone: null,
      programName: 'Física',
      documentId: u.documentId,
      role: 'student',
    });
    const stored = await t.orm.em.fork().findOneOrFail(User, u.id);
    expect([stored.fullName, stored.email, stored.phone]).toEqual(['Carlos Gómez', 'cgomez@uni.edu', null]);
  });

  it('enforces who may create, edit, re-role and deactivate whom, writing nothing when refused', async () => {
    const teacher = await createTestUser(t.orm, 'teacher');
    const otherStaff = await createTestUser(t.orm, 'staff');
    const before = await rowCounts(t.orm);
    const doc = () => uniqueId();
    for (const who of [student, teacher]) {
      await expectSwlError(users().createUser(who, { documentId: doc(), fullName: 'X' }), 'FORBIDDEN');
      await expectSwlError(users().updateUser(who, { userId: staff.id, fullName: 'X' }), 'FORBIDDEN');
      await expectSwlError(users().changeRole(who, { userId: who.id, role: 'admin' }), 'FORBIDDEN');
      await expectSwlError(users().changeRole(who, { userId: staff.id, role: 'student' }), 'FORBIDDEN');
      await expectSwlError(users().deactivate(who, { userId: staff.id }), 'FORBIDDEN');
      await expectSwlError(users().listUsers(who, {}), 'FORBIDDEN');
      await expectSwlError(users().getUser(who, { userId: admin.id }), 'FORBIDDEN');
      await expectSwlError(
        users().changePassword(who, { userId: admin.id, newPassword: 'another long password' }),
        'FORBIDDEN',
      );
    }
    // Staff register borrowers, but only admins grant desk roles or manage desk users.
    for (const role of ['staff', 'admin'] as const) {
      await expectSwlError(
        users().createUser(staff, { documentId: doc(), fullName: 'X', role }),
        'FORBIDDEN',
      );
    }
    await expectSwlError(users().changeRole(staff, { userId: student.id, role: 'teacher' }), 'FORBIDDEN');
    await expectSwlError(users().deactivate(staff, { userId: student.id }), 'FORBIDDEN');
    await expectSwlError(users().updateUser(staff, { userId: otherStaff.id, fullName: 'X' }), 'FORBIDDEN');
    await expectSwlError(users().updateUser(staff, { userId: admin.id, email: 'evil@x.org' }), 'FORBIDDEN');
    // Admins cannot re-role or deactivate themselves.
    const self1 = await expectSwlError(
      users().changeRole(admin, { userId: admin.id, role: 'student' }),
      'FORBIDDEN',
    );
    expect(self1.details.reason).toBe('self');
    const self2 = await expectSwlError(users().deactivate(admin, { userId: admin.id }), 'FORBIDDEN');
    expect(self2.details.reason).toBe('self');
    expect(await rowCounts(t.orm)).toEqual(before);
    const stored = await t.orm.em
      .fork()
      .find(User, { id: { $in: [admin.id, staff.id, otherStaff.id, student.id] } });
    expect(stored.every((u) => u.active)).toBe(true);
    expect(stored.find((u) => u.id === admin.id)?.role).toBe('admin');

    // What they may do.
    const made = await users().createUser(admin, { documentId: doc(), fullName: 'New Staff', role: 'staff' });
    expect(made.role).toBe('staff');
    expect((await users().changeRole(admin, { userId: made.id, role: 'teacher' })).role).toBe('teacher');
    expect((await users().updateUser(staff, { userId: staff.id, phone: '555' })).phone).toBe('555');
    expect((await users().getUser(student, { userId: student.id })).id).toBe(student.id);
    expect((await users().listUsers(staff, { role: 'admin' })).items.map((u) => u.id)).toContain(admin.id);
  });

  it('deactivates (never deletes) a user with loan history; they can no longer sign in or act', async () => {
    const view = await users().createUser(staff, {
      documentId: uniqueId(),
      fullName: 'Borrower With History',
      password: PASSWORD,
    });
    const em = t.orm.em.fork();
    const entry = em.create(CatalogEntry, { titleOrName: 'Libro', category: 'general' });
    const copy = em.create(ItemInstance, { catalogEntry: entry, sequence: 1, code: `LIB-H-${view.id}` });
    const at = clock.now();
    em.create(Loan, {
      borrower: view.id,
      catalogEntry: entry,
      copy,
      status: 'devuelto',
      requestDate: at,
      approvalDate: at,
      dueDate: at,
      returnDate: at,
    });
    await em.flush();
    const actorOfThem: Actor = { id: view.id, role: 'student' };
    expect((await users().getUser(actorOfThem, { userId: view.id })).active).toBe(true);

    const before = await rowCounts(t.orm);
    const out = await users().deactivate(admin, { userId: view.id });
    expect(out.active).toBe(false);
    expect(await rowCounts(t.orm)).toEqual(before);
    expect(await t.orm.em.fork().count(Loan, { borrower: view.id })).toBe(1);
    await expectSwlError(users().authenticate({ login: view.documentId, password: PASSWORD }), 'AUTH_FAILED');
    await expectSwlError(users().getUser(actorOfThem, { userId: view.id }), 'FORBIDDEN');
    expect((await users().deactivate(admin, { userId: view.id })).active).toBe(false); // idempotent

    expect((await users().reactivate(admin, { userId: view.id })).active).toBe(true);
    expect((await users().authenticate({ login: view.documentId, password: PASSWORD })).id).toBe(view.id);
  });

  it('changes passwords: own with the current one (clears the flag), admin reset (sets it), same one only once chosen', async () => {
    const documentId = uniqueId();
    const u = await users().createUser(staff, { documentId, fullName: 'Pw User', password: PASSWORD });
    expect(u.mustChangePassword).toBe(true);
    const me: Actor = { id: u.id, role: 'student' };
    const hashBefore = await storedHash(u.id);

    await expectSwlError(
      users().changePassword(me, { currentPassword: 'not my password', newPassword: 'brand new password 1' }),
      'AUTH_FAILED',
    );
    await expectSwlError(
      users().changePassword(me, { newPassword: 'brand new password 1' }),
      'VALIDATION_FAILED',
    );
    await expectSwlError(
      users().changePassword(me, { currentPassword: PASSWORD, newPassword: 'short' }),
      'VALIDATION_FAILED',
    );
    // mustChangePassword is set (staff chose PASSWORD): keeping it is refused.
    await expectSwlError(
      users().changePassword(me, { currentPassword: PASSWORD, newPassword: PASSWORD }),
      'VALIDATION_FAILED',
    );
    await expectSwlError(
      users().changePassword(me, { currentPassword: PASSWORD, newPassword: 'x'.repeat(257) }),
      'VALIDATION_FAILED',
    );
    expect(await storedHash(u.id)).toBe(hashBefore);

    const changed = await users().changePassword(me, {
      currentPassword: PASSWORD,
      newPassword: 'brand new password 1',
    });
    expect(changed.mustChangePassword).toBe(false);
    const newHash = (await storedHash(u.id))!;
    expect(newHash).not.toBe(hashBefore);
    expect(newHash.startsWith(PHC_PREFIX)).toBe(true);
    expect(JSON.stringify(changed)).not.toContain(newHash);
    await expectSwlError(users().authenticate({ login: documentId, password: PASSWORD }), 'AUTH_FAILED');
    expect((await users().authenticate({ login: documentId, password: 'brand new password 1' })).id).toBe(
      u.id,
    );
    // Their own choice now: setting the same password again is allowed (it is hashed afresh).
    const again = await users().changePassword(me, {
      currentPassword: 'brand new password 1',
      newPassword: 'brand new password 1',
    });
    expect(again.mustChangePassword).toBe(false);
    const againHash = (await storedHash(u.id))!;
    expect(againHash).not.toBe(newHash);
    expect(againHash.startsWith(PHC_PREFIX)).toBe(true);
    expect((await users().authenticate({ login: documentId, password: 'brand new password 1' })).id).toBe(
      u.id,
    );

    await expectSwlError(
      users().changePassword(staff, { userId: u.id, newPassword: 'staff chosen password' }),
      'FORBIDDEN',
    );
    const reset = await users().changePassword(admin, { userId: u.id, newPassword: 'admin chosen password' });
    expect(reset.mustChangePassword).toBe(true);
    expect((await users().authenticate({ login: documentId, password: 'admin chosen password' })).id).toBe(
      u.id,
    );
    await expectSwlError(
      users().changePassword(admin, { userId: 999_999, newPassword: 'admin chosen password' }),
      'NOT_FOUND',
    );
  });

  it('never puts the hash in any returned view or error', async () => {
    const documentId = uniqueId();
    const views: unknown[] = [];
    const created = await users().createUser(admin, {
      documentId,
      fullName: 'Leak Check',
      email: `leak.${documentId}@uni.edu`,
      password: PASSWORD,
    });
    views.push(created);
    const hash = (await storedHash(created.id))!;
    const me: Actor = { id: created.id, role: 'student' };
    views.push(await users().authenticate({ login: documentId, password: PASSWORD }));
    views.push(await users().updateUser(admin, { userId: created.id, fullName: 'Leak Check 2' }));
    views.push(await users().getUser(admin, { userId: created.id }));
    views.push(await users().getUser(me, { userId: created.id }));
    views.push(await users().listUsers(admin, { text: documentId }));
    views.push(await users().changeRole(admin, { userId: created.id, role: 'teacher' }));
    views.push(await users().changeRole(admin, { userId: created.id, role: 'student' }));
    const next = await users().changePassword(me, {
      currentPassword: PASSWORD,
      newPassword: 'another fine password',
    });
    views.push(next);
    const hash2 = (await storedHash(created.id))!;
    views.push(await users().deactivate(admin, { userId: created.id }));
    views.push(await users().reactivate(admin, { userId: created.id }));
    const failure = await expectSwlError(
      users().authenticate({ login: documentId, password: PASSWORD }),
      'AUTH_FAILED',
    );
    views.push(failure.toJSON());
    const dup = await expectSwlError(
      users().createUser(admin, { documentId, fullName: 'Dup', password: PASSWORD }),
      'DUPLICATE',
    );
    views.push(dup.toJSON());
    expect((views[5] as { items: unknown[] }).items).toHaveLength(1);
    for (const v of views) {
      const json = JSON.stringify(v);
      expect(json).not.toContain(hash);
      expect(json).not.toContain(hash2);
      expect(json).not.toContain('$argon2');
      expect(json.toLowerCase()).not.toContain('passwordhash');
    }
  });

  it('refuses bad input to every command with VALIDATION_FAILED or NOT_FOUND, writing nothing', async () => {
    const before = await rowCounts(t.orm);
    const svc = () => users() as unknown as Record<string, (a: unknown, i?: unknown) => Promise<unknown>>;
    const cases: Array<[string, unknown, 'VALIDATION_FAILED' | 'NOT_FOUND']> = [
      ['createUser', {}, 'VALIDATION_FAILED'],
      ['createUser', { documentId: '', fullName: 'A' }, 'VALIDATION_FAILED'],
      ['createUser', { documentId: '   ', fullName: 'A' }, 'VALIDATION_FAILED'],
      ['createUser', { documentId: '1'.repeat(21), fullName: 'A' }, 'VALIDATION_FAILED'],
      ['createUser', { documentId: 123, fullName: 'A' }, 'VALIDATION_FAILED'],
      ['createUser', { documentId: '77', fullName: 'A'.repeat(101) }, 'VALIDATION_FAILED'],
      ['createUser', { documentId: '77', fullName: 'A', email: 'not-an-email' }, 'VALIDATION_FAILED'],
      [
        'createUser',
        { documentId: '77', fullName: 'A', email: `${'a'.repeat(120)}@x.org` },
        'VALIDATION_FAILED',
      ],
      ['createUser', { documentId: '77', fullName: 'A', role: 'root' }, 'VALIDATION_FAILED'],
      ['createUser', { documentId: '77', fullName: 'A', password: 'short' }, 'VALIDATION_FAILED'],
      ['createUser', { documentId: '77', fullName: 'A', password: 'p'.repeat(257) }, 'VALIDATION_FAILED'],
      ['createUser', { documentId: '77', fullName: 'A', passwordHash: '$argon2id$x' }, 'VALIDATION_FAILED'],
      ['createUser', { documentId: '77', fullName: 'A', active: false }, 'VALIDATION_FAILED'],
      ['updateUser', { userId: staff.id }, 'VALIDATION_FAILED'],
      ['updateUser', { userId: -3, fullName: 'A' }, 'VALIDATION_FAILED'],
      ['updateUser', { userId: staff.id, fullName: '' }, 'VALIDATION_FAILED'],
      ['updateUser', { userId: staff.id, role: 'admin' }, 'VALIDATION_FAILED'],
      ['updateUser', { userId: 999_999, fullName: 'A' }, 'NOT_FOUND'],
      ['changeRole', { userId: student.id, role: 'superuser' }, 'VALIDATION_FAILED'],
      ['changeRole', { userId: 999_999, role: 'teacher' }, 'NOT_FOUND'],
      ['deactivate', { userId: '1' }, 'VALIDATION_FAILED'],
      ['deactivate', { userId: 999_999 }, 'NOT_FOUND'],
      ['reactivate', { userId: 999_999 }, 'NOT_FOUND'],
      ['getUser', { userId: 999_999 }, 'NOT_FOUND'],
      ['getUser', { userId: 1.5 }, 'VALIDATION_FAILED'],
      ['listUsers', { limit: -1 }, 'VALIDATION_FAILED'],
      ['listUsers', { role: 'x' }, 'VALIDATION_FAILED'],
      ['listUsers', { active: 'yes' }, 'VALIDATION_FAILED'],
      ['changePassword', { userId: 999_999, newPassword: 'a fine new password' }, 'NOT_FOUND'],
      ['changePassword', { userId: student.id, newPassword: 12345678901234 }, 'VALIDATION_FAILED'],
      [
        'changePassword',
        { userId: student.id, newPassword: 'a fine new password', x: 1 },
        'VALIDATION_FAILED',
      ],
    ];
    for (const [method, input, code] of cases) {
      await expectSwlError(svc()[method]!(admin, input), code);
    }
    for (const input of [
      {},
      { login: '', password: 'x' },
      { login: 'a', password: '' },
      { login: 'a'.repeat(121), password: 'x' },
      { login: 'a', password: 'p'.repeat(257) },
      { login: 'a', password: 'x', role: 'admin' },
      { login: 5, password: 'x' },
    ]) {
      await expectSwlError(users().authenticate(input as never), 'VALIDATION_FAILED');
    }
    expect(await rowCounts(t.orm)).toEqual(before);
  });
});
