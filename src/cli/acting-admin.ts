/**
 * The user an operator's command acts as: the default admin seeded by `swl init` (document
 * `1000000000`) when it is active, else the active admin with the lowest id — the rule `swl init`
 * uses to seed the inventory. The services' capability checks then apply unchanged.
 *
 * @module
 * @internal
 */
import type { EntityManager } from '@mikro-orm/core';
import { User } from '../entities/user.entity.ts';
import { SwlError } from '../errors.ts';
import type { Actor } from '../permissions.ts';
import { DEFAULT_ADMIN } from '../seeding/defaults.ts';

/**
 * The admin an operator's command acts as (see the module comment).
 * @param what - what the command does, for the error (`purge the visitor log`).
 * @throws SwlError `CONFLICT` when the database has no active admin.
 */
export async function actingAdmin(em: EntityManager, what: string): Promise<Actor> {
  const admin =
    (await em.fork().findOne(User, { documentId: DEFAULT_ADMIN.documentId, active: true, role: 'admin' })) ??
    (await em.fork().findOne(User, { active: true, role: 'admin' }, { orderBy: { id: 'asc' } }));
  if (!admin) {
    throw new SwlError('CONFLICT', `no active admin to ${what} as`, {
      fix: 'run swl init, or reactivate an admin',
    });
  }
  return { id: admin.id, role: 'admin' };
}
