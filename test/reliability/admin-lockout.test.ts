/**
 * Issue 10, defect 2: two admins could lock each other out on PostgreSQL.
 *
 * The docs promise at least one active admin always remains (nobody deactivates or re-roles
 * themself). Under READ COMMITTED each of two concurrent commands used to see the other admin as
 * still active, so "A deactivates B" and "B deactivates A" (or demote each other, or one of each)
 * both succeeded and left no active admin (19 of 20 trials; SQLite, which serializes writers with
 * `BEGIN IMMEDIATE`, 0 of 20). The guard now locks the rows it reads: every active admin, by id,
 * before anything else.
 *
 * Each trial starts from exactly two active admins and fires both commands at the same moment
 * from separate EntityManager forks. Afterwards (an SQL count) exactly one active admin remains —
 * the actor of the command that succeeded — and the other command failed with a typed SwlError:
 * `FORBIDDEN` (its actor is no longer an active admin) or `CONFLICT` (a lock/serialization
 * failure, retryable).
 */
import { expect, it } from 'vitest';
import { User } from '../../src/entities/user.entity.ts';
import { SwlError, type SwlErrorCode } from '../../src/errors.ts';
import type { Actor } from '../../src/permissions.ts';
import { UserService } from '../../src/users/user.service.ts';
import { createTestUser, describeEachDialect, useTestOrm } from '../support/fixtures.ts';

const TRIALS = 20;

/** What the losing command may fail with. */
const REFUSALS: readonly SwlErrorCode[] = ['FORBIDDEN', 'CONFLICT'];

/** One admin's command against the other admin. */
type AdminCommand = (users: UserService, actor: Actor, other: Actor) => Promise<unknown>;

const deactivateOther: AdminCommand = (users, actor, other) => users.deactivate(actor, { userId: other.id });
const demoteOther: AdminCommand = (users, actor, other) =>
  users.changeRole(actor, { userId: other.id, role: 'staff' });

describeEachDialect('admin lockout (issue 10, defect 2)', (dialect) => {
  const t = useTestOrm(dialect);

  /** Ids of the active admins, read with plain SQL. */
  async function activeAdminIds(): Promise<number[]> {
    const rows = await t.orm.em
      .fork()
      .getConnection()
      .execute<{ id: number | string }[]>(
        `select id from swl_user where role = 'admin' and active = true order by id`,
      );
    return rows.map((r: { id: number | string }) => Number(r.id));
  }

  /** Retires every admin left by earlier trials, then makes exactly two active admins. */
  async function twoActiveAdmins(): Promise<[Actor, Actor]> {
    await t.orm.em.fork().nativeUpdate(User, { role: 'admin', active: true }, { active: false });
    const a = await createTestUser(t.orm, 'admin');
    const b = await createTestUser(t.orm, 'admin');
    expect(await activeAdminIds()).toEqual([a.id, b.id]);
    return [a, b];
  }

  /**
   * Runs `TRIALS` trials: `first(a → b)` and `second(b → a)` at the same moment (`swap`: on odd
   * trials the two commands trade places). Returns a description of every trial that broke the
   * rule; empty when all held.
   */
  async function race(first: AdminCommand, second: AdminCommand, swap = false): Promise<string[]> {
    const broken: string[] = [];
    for (let trial = 0; trial < TRIALS; trial++) {
      const [a, b] = await twoActiveAdmins();
      const [ca, cb] = swap && trial % 2 === 1 ? [second, first] : [first, second];
      const outcomes = await Promise.allSettled([
        ca(new UserService(t.orm.em.fork()), a, b),
        cb(new UserService(t.orm.em.fork()), b, a),
      ]);
      const active = await activeAdminIds();
      const won = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [[a, b][i] as Actor] : []));
      const errors = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
      const problems: string[] = [];
      if (active.length < 1) problems.push('no active admin remains');
      if (won.length !== 1) problems.push(`${won.length} commands succeeded`);
      else if (active.length !== 1 || active[0] !== won[0]?.id) {
        problems.push(`active admins ${JSON.stringify(active)}, expected only the winner ${won[0]?.id}`);
      }
      for (const e of errors) {
        if (!(e instanceof SwlError) || !REFUSALS.includes(e.code)) {
          problems.push(`unexpected failure: ${e instanceof SwlError ? e.code : String(e)}`);
        }
      }
      if (problems.length > 0) broken.push(`trial ${trial + 1}: ${problems.join('; ')}`);
    }
    return broken;
  }

  it(`two admins deactivating each other at the same moment: at least one active admin remains (${TRIALS} trials)`, async () => {
    const broken = await race(deactivateOther, deactivateOther);
    expect(broken, `${broken.length}/${TRIALS} trials broke the guard`).toEqual([]);
  });

  it(`two admins demoting each other to staff at the same moment: at least one active admin remains (${TRIALS} trials)`, async () => {
    const broken = await race(demoteOther, demoteOther);
    expect(broken, `${broken.length}/${TRIALS} trials broke the guard`).toEqual([]);
  });

  it(`one admin deactivating the other while the other demotes them: at least one active admin remains (${TRIALS} trials)`, async () => {
    const broken = await race(deactivateOther, demoteOther, true);
    expect(broken, `${broken.length}/${TRIALS} trials broke the guard`).toEqual([]);
  });
});
