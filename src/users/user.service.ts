/**
 * People and sign-in: creating and editing users, roles, deactivation, passwords (argon2id) and
 * authentication. Source: docs/DESIGN.md §2 (User), §6 (permissions), §8 (passwords);
 * `docs/legacy/000_266b31aaf8610e4d.txt` User Table.
 *
 * @module
 */
import { type EntityManager, LockMode } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/sql';
import { User } from '../entities/user.entity.ts';
import { isSwlError, SwlError } from '../errors.ts';
import {
  type CommandScope,
  defineCommand,
  defineQuery,
  lockFor,
  parseInput,
  ServiceBase,
  type ServiceOptions,
} from '../internal/service-base.ts';
import { LIKE_ESCAPE, likeContains } from '../internal/text.ts';
import { toSwlError } from '../internal/translate-error.ts';
import { type Actor, assertCan, can } from '../permissions.ts';
import type { Page } from '../validation.ts';
import { hashPassword, type LegacyPasswordVerifier, SignInAttempt, verifyPassword } from './password.ts';
import {
  AuthenticateInput,
  ChangePasswordInput,
  ChangeRoleInput,
  CreateUserInput,
  ListUsersInput,
  UpdateUserInput,
  UserIdInput,
} from './schemas.ts';
import { toUserView, type UserView } from './views.ts';

/** Roles only an admin may grant or manage (creating them, editing them). */
const PRIVILEGED_ROLES: ReadonlySet<string> = new Set(['admin', 'staff']);

/** The one sign-in failure: same code, message and details whatever went wrong. */
const AUTH_FAILED_MESSAGE = 'invalid login or password';

/**
 * Reads the active admins for the "at least one active admin remains" rule, in id order, and on
 * PostgreSQL locks their rows (`select … where role = 'admin' and active = true order by id for
 * update`). It runs first in the command, before the acting user is loaded and before any other
 * lock, so two such commands always lock in the same order (no deadlock) and the second waits for
 * the first to commit. After waiting, PostgreSQL re-checks the condition on each row's latest
 * version, so an admin the other command just deactivated or demoted drops out of the set — and
 * the actor check that follows sees that commit too. On SQLite writers are already serialized
 * (`BEGIN IMMEDIATE`), so a plain read is exact. Returns the ids; while the transaction lasts none
 * of them can stop being an active admin.
 */
async function lockActiveAdmins(em: EntityManager, postgres: boolean): Promise<ReadonlySet<number>> {
  const admins = await em.find(
    User,
    { role: 'admin', active: true },
    { orderBy: { id: 'asc' }, refresh: true, ...(postgres ? { lockMode: LockMode.PESSIMISTIC_WRITE } : {}) },
  );
  return new Set(admins.map((u) => u.id));
}

/** The active admins locked by each running command's `beforeActor`, by its transaction's EntityManager. */
const lockedAdmins = new WeakMap<EntityManager, ReadonlySet<number>>();

/**
 * The `beforeActor` of the commands that may remove the last active admin (`changeRole`,
 * `deactivate`): locks every active admin's row ({@link lockActiveAdmins}) before the pipeline
 * checks the acting user, and keeps the locked set for the body ({@link adminsLockedBy}).
 */
async function lockActiveAdminsFirst({ em, postgres }: CommandScope<unknown>): Promise<void> {
  lockedAdmins.set(em, await lockActiveAdmins(em, postgres));
}

/** The active admins {@link lockActiveAdminsFirst} locked in the transaction of `em`. */
function adminsLockedBy(em: EntityManager): ReadonlySet<number> {
  const admins = lockedAdmins.get(em);
  if (!admins) throw new Error('the active admins were not locked before the actor check');
  return admins;
}

/**
 * Refuses a change that would leave no active admin: `user` is an active admin losing that status
 * and no other (locked) active admin remains. With the self-checks and the actor check this never
 * fires for an admin acting on someone else; it is the rule itself, counted from the locked set.
 */
function assertAnotherAdminRemains(
  admins: ReadonlySet<number>,
  user: User,
  change: { role?: string; active?: boolean },
): void {
  const wasAdmin = user.role === 'admin' && user.active;
  const staysAdmin = (change.role ?? user.role) === 'admin' && (change.active ?? user.active);
  if (!wasAdmin || staysAdmin) return;
  if ([...admins].some((id) => id !== user.id)) return;
  throw SwlError.forbidden('at least one active admin must remain', {
    reason: 'last-admin',
    userId: user.id,
  });
}

/**
 * Options of {@link UserService}: the common ones (clock, event bus) and the legacy-hash hook.
 */
export interface UserServiceOptions extends ServiceOptions {
  /**
   * Verifiers of password hashes made by another system, e.g. `[werkzeugPasswordVerifier()]` for
   * users imported from the original SWL (Flask) application. Such users sign in (and change
   * their password) with them; `authenticate` replaces the hash with argon2id at the first
   * successful sign-in. Default: none — only argon2 hashes match.
   */
  legacyPasswordVerifiers?: readonly LegacyPasswordVerifier[];
}

function authFailed(): SwlError {
  return new SwlError('AUTH_FAILED', AUTH_FAILED_MESSAGE, {});
}

/**
 * Names the field of a unique violation on `swl_user` (`documentId` or `email`).
 * @internal
 */
export function duplicateUser(error: unknown): SwlError {
  const e = toSwlError(error);
  if (!isSwlError(e, 'DUPLICATE')) return e;
  const where = `${String(e.details.constraint ?? '')} ${(e.cause as Error | undefined)?.message ?? ''}`;
  const field = /email/i.test(where) ? 'email' : /document_id/i.test(where) ? 'documentId' : undefined;
  if (!field) return e;
  return new SwlError(
    'DUPLICATE',
    `a user with this ${field} already exists`,
    { entity: 'user', field },
    { cause: e.cause },
  );
}

/** `FORBIDDEN` with `details.reason: 'self'`: nobody changes their own role or deactivates themself. */
function refuseSelf(action: string, actor: Actor): never {
  throw SwlError.forbidden(`you cannot ${action}`, { reason: 'self', userId: actor.id });
}

const CREATE_USER = defineCommand({
  name: 'user.createUser',
  capability: 'user:create',
  input: CreateUserInput,
  authorize: (actor, input) => {
    if (PRIVILEGED_ROLES.has(input.role) && !can(actor.role, 'user:change-role')) {
      throw SwlError.forbidden(`role ${actor.role} may not create ${input.role} users`, {
        capability: 'user:change-role',
        role: actor.role,
      });
    }
  },
  mapError: duplicateUser,
  // Hashed before the transaction opens: argon2 must not hold SQLite's write lock.
  prepare: async (_actor, input) =>
    input.password === undefined ? null : await hashPassword(input.password),
});
const UPDATE_USER = defineCommand({
  name: 'user.updateUser',
  capability: 'user:update',
  input: UpdateUserInput,
  mapError: duplicateUser,
});
const CHANGE_ROLE = defineCommand({
  name: 'user.changeRole',
  capability: 'user:change-role',
  input: ChangeRoleInput,
  authorize: (actor, input) => {
    if (input.userId === actor.id) refuseSelf('change your own role', actor);
  },
  beforeActor: lockActiveAdminsFirst,
});
const DEACTIVATE = defineCommand({
  name: 'user.deactivate',
  capability: 'user:deactivate',
  input: UserIdInput,
  authorize: (actor, input) => {
    if (input.userId === actor.id) refuseSelf('deactivate yourself', actor);
  },
  beforeActor: lockActiveAdminsFirst,
});
const REACTIVATE = defineCommand({
  name: 'user.reactivate',
  capability: 'user:deactivate',
  input: UserIdInput,
});
const CHANGE_PASSWORD = defineCommand({
  name: 'user.changePassword',
  capability: null,
  input: ChangePasswordInput,
  authorize: (actor, input) => {
    const own = isOwnPassword(actor, input);
    if (!own) assertCan(actor, 'user:change-role');
    if (own && input.currentPassword === undefined) {
      throw new SwlError('VALIDATION_FAILED', 'the current password is required to change your own', {
        issues: [{ path: ['currentPassword'], code: 'custom', message: 'required' }],
      });
    }
  },
  // Hashed before the transaction opens: argon2 must not hold SQLite's write lock.
  prepare: (_actor, input) => hashPassword(input.newPassword),
});

const GET_USER = defineQuery({
  capability: null,
  input: UserIdInput,
  authorize: (actor, input) => {
    if (input.userId !== actor.id) assertCan(actor, 'user:read');
  },
});
const LIST_USERS = defineQuery({ capability: 'user:read', input: ListUsersInput });

/** `changePassword` on the actor's own account (`userId` absent or the actor's). */
function isOwnPassword(actor: Actor, input: { userId?: number | undefined }): boolean {
  return input.userId === undefined || input.userId === actor.id;
}

/** `deactivate`/`reactivate`: sets `active` on the user, after the last-admin rule when deactivating. */
async function setActive(
  { em, postgres, input }: CommandScope<{ userId: number }>,
  active: boolean,
): Promise<UserView> {
  const user = await em.findOne(User, input.userId, lockFor(postgres));
  if (!user) throw SwlError.notFound('user', input.userId);
  if (!active) assertAnotherAdminRemains(adminsLockedBy(em), user, { active });
  user.active = active;
  await em.flush();
  return toUserView(user);
}

/**
 * Users of the desk and their sign-in.
 *
 * Who may do what (docs/DESIGN.md §6; `ROLE_CAPABILITIES`):
 * - `createUser` (`user:create`: staff, admin). Creating an `admin` or `staff` user also needs
 *   `user:change-role` (admin only): staff register borrowers, only admins grant desk roles.
 * - `updateUser` (`user:update`: staff, admin). Editing another `admin`/`staff` user needs
 *   `user:change-role` (admin); staff may edit borrowers and themselves.
 * - `changeRole` (`user:change-role`: admin), `deactivate`/`reactivate` (`user:deactivate`:
 *   admin). Nobody changes their own role or deactivates themself, so at least one active admin
 *   always remains — also under concurrency: `changeRole` and `deactivate` first lock every
 *   active admin's row (PostgreSQL, in id order) and count from that locked set, so two admins
 *   deactivating or demoting each other at the same moment cannot both succeed; the second gets
 *   `FORBIDDEN` (it is no longer an active admin).
 * - `changePassword`: everyone their own (with the current password); an admin anybody's
 *   (`user:change-role`), which sets `mustChangePassword`.
 * - `getUser`: everyone themself; others with `user:read` (staff, admin). `listUsers`: `user:read`.
 * - `authenticate`: no acting user (it is how a host finds one).
 *
 * Password hashes: argon2id with `PASSWORD_HASH_PARAMS`. Hashes with weaker argon2 parameters, and
 * hashes of another system verified by the `legacyPasswordVerifiers` option, are replaced by
 * argon2id at the user's next successful sign-in.
 *
 * Users are never deleted (their loans reference them): they are deactivated. E-mails are stored
 * lower-case; document ids trimmed. Uniqueness is enforced by the database and reported as
 * `DUPLICATE` with `details.field`. Views never contain the password hash. Errors are only
 * {@link SwlError}.
 *
 * @example
 * ```ts
 * const users = new UserService(em, { clock, legacyPasswordVerifiers: [werkzeugPasswordVerifier()] });
 * const ana = await users.createUser(staff, { documentId: '1020304050', fullName: 'Ana Pérez', email: 'Ana@Uni.edu', password: 'correct horse battery' });
 * const me = await users.authenticate({ login: 'ana@uni.edu', password: 'correct horse battery' });
 * ```
 */
export class UserService extends ServiceBase {
  readonly #legacyVerifiers: readonly LegacyPasswordVerifier[];

  /**
   * @param em - the caller's EntityManager (a request-scoped fork, or the one of an open host transaction).
   * @param options - clock, event bus and legacy password verifiers ({@link UserServiceOptions}).
   */
  constructor(em: EntityManager, options: UserServiceOptions = {}) {
    super(em, options);
    this.#legacyVerifiers = Object.freeze([...(options.legacyPasswordVerifiers ?? [])]);
  }

  /**
   * Creates a user. The password (if any) is hashed with argon2id before the transaction opens.
   *
   * @param actor - acting user; capability `user:create`, plus `user:change-role` for `admin`/`staff` users.
   * @param input - {@link CreateUserInput}.
   * @returns the new user (no hash).
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `DUPLICATE` (`details.field`: `documentId` | `email`),
   *   `CAPACITY_EXCEEDED`, `CONFLICT`, `UNAVAILABLE`.
   */
  async createUser(actor: Actor, input: CreateUserInput): Promise<UserView> {
    return this.command(CREATE_USER, actor, input, async ({ em, input: i, prepared: passwordHash }) => {
      const user = em.create(User, {
        documentId: i.documentId,
        fullName: i.fullName,
        email: i.email ?? null,
        phone: i.phone ?? null,
        role: i.role,
        programName: i.programName ?? null,
        passwordHash,
        active: true,
        mustChangePassword: i.mustChangePassword ?? passwordHash !== null,
      });
      await em.flush();
      return toUserView(user);
    });
  }

  /**
   * Changes a user's name, e-mail, phone or programme.
   *
   * @param actor - acting user; capability `user:update` (`user:change-role` to edit another admin/staff user).
   * @param input - {@link UpdateUserInput}.
   * @returns the user after the change.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND`, `DUPLICATE` (`email`), `CONFLICT`, `UNAVAILABLE`.
   */
  async updateUser(actor: Actor, input: UpdateUserInput): Promise<UserView> {
    return this.command(UPDATE_USER, actor, input, async ({ em, postgres, actor: a, input: i }) => {
      const user = await em.findOne(User, i.userId, lockFor(postgres));
      if (!user) throw SwlError.notFound('user', i.userId);
      if (user.id !== a.id && PRIVILEGED_ROLES.has(user.role)) assertCan(a, 'user:change-role');
      if (i.fullName !== undefined) user.fullName = i.fullName;
      if (i.email !== undefined) user.email = i.email;
      if (i.phone !== undefined) user.phone = i.phone;
      if (i.programName !== undefined) user.programName = i.programName;
      await em.flush();
      return toUserView(user);
    });
  }

  /**
   * Gives a user another role. Changing your own role is refused (so an admin cannot lock the
   * desk out of administration by accident). Setting the role a user already has changes nothing.
   *
   * At least one active admin remains even under concurrency: the command first locks the rows of
   * all active admins (PostgreSQL, in id order; SQLite serializes writers) and checks the actor
   * and the rule against that locked set. Of two admins demoting each other at the same moment,
   * one succeeds and the other is refused with `FORBIDDEN` (no longer an active admin).
   *
   * @param actor - acting user; capability `user:change-role` (admin).
   * @param input - {@link ChangeRoleInput}.
   * @returns the user after the change.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN` (including `details.reason: 'self'`, or
   *   `'last-admin'` if no other active admin would remain), `NOT_FOUND`, `CONFLICT`, `UNAVAILABLE`.
   */
  async changeRole(actor: Actor, input: ChangeRoleInput): Promise<UserView> {
    // CHANGE_ROLE's beforeActor locked what the last-admin rule reads, before the actor check.
    return this.command(CHANGE_ROLE, actor, input, async ({ em, postgres, input: i }) => {
      const user = await em.findOne(User, i.userId, lockFor(postgres));
      if (!user) throw SwlError.notFound('user', i.userId);
      assertAnotherAdminRemains(adminsLockedBy(em), user, { role: i.role });
      user.role = i.role;
      await em.flush();
      return toUserView(user);
    });
  }

  /**
   * Deactivates a user: they can no longer sign in, borrow, or act. Nothing is deleted — loans,
   * events and visits keep referring to them. Deactivating yourself is refused; deactivating an
   * inactive user changes nothing. Open loans stay as they are (staff still receive the returns).
   *
   * At least one active admin remains even under concurrency: the command first locks the rows of
   * all active admins (PostgreSQL, in id order; SQLite serializes writers) and checks the actor
   * and the rule against that locked set. Of two admins deactivating each other at the same
   * moment, one succeeds and the other is refused with `FORBIDDEN` (no longer an active admin).
   *
   * @param actor - acting user; capability `user:deactivate` (admin).
   * @param input - {@link UserIdInput}.
   * @returns the user, `active: false`.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN` (including `details.reason: 'self'`, or
   *   `'last-admin'` if no other active admin would remain), `NOT_FOUND`, `CONFLICT`, `UNAVAILABLE`.
   */
  async deactivate(actor: Actor, input: UserIdInput): Promise<UserView> {
    // DEACTIVATE's beforeActor locked what the last-admin rule reads, before the actor check.
    return this.command(DEACTIVATE, actor, input, (s) => setActive(s, false));
  }

  /**
   * Reactivates a deactivated user (a no-op for an active one).
   *
   * @param actor - acting user; capability `user:deactivate` (admin).
   * @param input - {@link UserIdInput}.
   * @returns the user, `active: true`.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND`, `CONFLICT`, `UNAVAILABLE`.
   */
  async reactivate(actor: Actor, input: UserIdInput): Promise<UserView> {
    return this.command(REACTIVATE, actor, input, (s) => setActive(s, true));
  }

  /**
   * Checks a login and password and returns the user. Not gated by an acting user. `login` is an
   * e-mail address when it contains `@` (compared lower-case), else a document id (trimmed).
   *
   * The password is verified by the stored hash's scheme: argon2 (current or other parameters) or
   * a legacy verifier of the `legacyPasswordVerifiers` option.
   *
   * **Upgrade.** When the password matches a hash that is not argon2id with at least the current
   * parameters (weaker argon2, or a legacy hash), it is hashed with the current parameters and
   * stored, in one transaction that re-reads the user — locking the row on PostgreSQL — and
   * replaces the hash only if it is still the one just verified. If it changed meanwhile (a
   * concurrent sign-in upgraded it first, or the password was changed), the password is checked
   * against the new hash instead: a concurrent sign-in with the same password still succeeds.
   * The slow hashing runs outside the transaction, so no lock is held during it. If the write
   * meets a lock conflict (`CONFLICT`), the sign-in still succeeds and the upgrade waits for the
   * next one.
   *
   * **Failures look alike.** An unknown login, a user without a password, a wrong password and an
   * inactive user all fail the same way — `AUTH_FAILED`, message `invalid login or password`,
   * empty details — and take the same time whatever the stored hash: every failure spends one
   * argon2id verification with the current parameters (the real one, or a dummy one after checking
   * a weaker or legacy hash) and then waits until a floor — 1.3 × the typical current argon2id
   * verification time (a running median) × (1 + the largest relative cost of any other hash
   * scheme in use: the legacy verifiers' reference hashes, measured once at the process's first
   * sign-in, and the hashes met since) — that the slowest path reaches too. Neither the answer nor
   * its timing tells whether an account exists or how old its hash is. Successful sign-ins are
   * not padded.
   *
   * @param input - {@link AuthenticateInput}.
   * @returns the user (no hash); check `mustChangePassword`.
   * @throws SwlError `VALIDATION_FAILED` (malformed input), `AUTH_FAILED`, `UNAVAILABLE`.
   */
  async authenticate(input: AuthenticateInput): Promise<UserView> {
    const { login, password } = parseInput(AuthenticateInput, input);
    const attempt = await SignInAttempt.begin(password, this.#legacyVerifiers);
    const where = login.includes('@') ? { email: login.toLowerCase() } : { documentId: login };
    const user = await this.anonymousRead((em) => em.findOne(User, where, { populate: ['passwordHash'] }));
    const stored = user?.passwordHash ?? null;
    const { ok, rehash } = await attempt.check(stored);
    if (!user || !ok || !user.active || stored === null) {
      await attempt.fail();
      throw authFailed();
    }
    if (!rehash) return toUserView(user);
    try {
      return await this.#upgradeHash(user, stored, password);
    } catch (error) {
      if (isSwlError(error, 'AUTH_FAILED')) await attempt.fail();
      throw error;
    }
  }

  /**
   * Stores an argon2id hash of `password` for `user`, whose hash `verified` it just matched: in one
   * transaction, re-reads the user (row locked on PostgreSQL) and replaces the hash if it is still
   * `verified`; else checks `password` against the hash found. Returns the user as re-read.
   */
  async #upgradeHash(user: User, verified: string, password: string): Promise<UserView> {
    const upgraded = await hashPassword(password);
    try {
      return await this.commandWithoutActor('user.upgradeHash', async ({ em, postgres }) => {
        const fresh = await em.findOne(User, user.id, { populate: ['passwordHash'], ...lockFor(postgres) });
        if (!fresh?.active) throw authFailed();
        if (fresh.passwordHash !== verified) {
          const legacyVerifiers = this.#legacyVerifiers;
          if (!(await verifyPassword(fresh.passwordHash, password, { legacyVerifiers }))) throw authFailed();
          return toUserView(fresh);
        }
        fresh.passwordHash = upgraded;
        await em.flush();
        return toUserView(fresh);
      });
    } catch (error) {
      if (isSwlError(error, 'CONFLICT')) return toUserView(user);
      throw error;
    }
  }

  /**
   * Changes a password.
   * - Your own (`userId` absent or yours): `currentPassword` must match (`AUTH_FAILED` otherwise);
   *   clears `mustChangePassword`.
   * - Another user's (admin, `user:change-role`): no current password; sets `mustChangePassword`
   *   so they choose their own at next sign-in.
   *
   * The new password is hashed before the transaction opens. The current password is checked
   * against the stored hash by its scheme (argon2, or a `legacyPasswordVerifiers` one).
   *
   * The new password may be the current one (nothing is gained by refusing it, and it re-hashes a
   * weaker or legacy hash with the current parameters), except while `mustChangePassword` is set
   * on your own account: that password was chosen by someone else (an admin, the installer), and
   * keeping it would defeat the flag — `VALIDATION_FAILED` on `newPassword`.
   *
   * @param actor - acting user.
   * @param input - {@link ChangePasswordInput}.
   * @returns the user (no hash).
   * @throws SwlError `VALIDATION_FAILED` (policy: 12..256 characters; missing current password;
   *   the same password while `mustChangePassword`), `FORBIDDEN`, `NOT_FOUND`, `AUTH_FAILED` (wrong
   *   current password), `CONFLICT`, `UNAVAILABLE`.
   */
  async changePassword(actor: Actor, input: ChangePasswordInput): Promise<UserView> {
    return this.command(
      CHANGE_PASSWORD,
      actor,
      input,
      async ({ em, postgres, actor: a, input: i, prepared: newHash }) => {
        const own = isOwnPassword(a, i);
        const targetId = i.userId ?? a.id;
        const user = await em.findOne(User, targetId, { populate: ['passwordHash'], ...lockFor(postgres) });
        if (!user) throw SwlError.notFound('user', targetId);
        if (own) {
          const current = i.currentPassword as string;
          const legacyVerifiers = this.#legacyVerifiers;
          if (!(await verifyPassword(user.passwordHash, current, { legacyVerifiers }))) {
            throw new SwlError('AUTH_FAILED', 'the current password is incorrect', {});
          }
          if (user.mustChangePassword && current.normalize('NFC') === i.newPassword.normalize('NFC')) {
            const message = 'choose a new password: the current one was set for you';
            throw new SwlError('VALIDATION_FAILED', message, {
              issues: [{ path: ['newPassword'], code: 'custom', message }],
            });
          }
          user.mustChangePassword = false;
        } else {
          user.mustChangePassword = true;
        }
        user.passwordHash = newHash;
        await em.flush();
        return toUserView(user);
      },
    );
  }

  /**
   * One user. Everyone may read themself; others need `user:read`.
   *
   * @param actor - acting user.
   * @param input - {@link UserIdInput}.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND`, `UNAVAILABLE`.
   */
  async getUser(actor: Actor, input: UserIdInput): Promise<UserView> {
    return this.query(GET_USER, actor, input, async (em, _actor, i) => {
      const user = await em.findOne(User, i.userId);
      if (!user) throw SwlError.notFound('user', i.userId);
      return toUserView(user);
    });
  }

  /**
   * Users whose document id, name or e-mail contains `text` (case-insensitive; on SQLite for ASCII
   * letters only), optionally of one role and active state, ordered by name then id.
   *
   * @param actor - acting user; capability `user:read`.
   * @param input - {@link ListUsersInput}.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `UNAVAILABLE`.
   */
  async listUsers(actor: Actor, input: ListUsersInput = {}): Promise<Page<UserView>> {
    return this.query(LIST_USERS, actor, input, async (em, _actor, i) => {
      const qb = (em as unknown as SqlEntityManager).createQueryBuilder(User, 'u').select('*');
      if (i.role) qb.andWhere({ role: i.role });
      if (i.active !== undefined) qb.andWhere({ active: i.active });
      if (i.text) {
        const pattern = likeContains(i.text.toLowerCase());
        const like = `like ? escape '${LIKE_ESCAPE}'`;
        qb.andWhere(
          `(lower(u.document_id) ${like} or lower(u.full_name) ${like} or lower(coalesce(u.email, '')) ${like})`,
          [pattern, pattern, pattern],
        );
      }
      const [users, total] = await qb
        .orderBy([{ fullName: 'asc' }, { id: 'asc' }])
        .limit(i.limit)
        .offset(i.offset)
        .getResultAndCount();
      return { items: users.map(toUserView), total, limit: i.limit, offset: i.offset };
    });
  }
}
