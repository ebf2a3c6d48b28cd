/**
 * Fixtures for loan tests: users, catalog entries with copies, and the default policies, written
 * straight through the ORM (the services under test are not used to build their own fixtures).
 */
import type { EntityManager, MikroORM } from '@mikro-orm/core';
import { ManualClock } from '../../src/clock.ts';
import type { Category, Role } from '../../src/domain/vocabulary.ts';
import { CatalogEntry } from '../../src/entities/catalog-entry.entity.ts';
import { ItemInstance } from '../../src/entities/item-instance.entity.ts';
import { LoanPolicy } from '../../src/entities/loan-policy.entity.ts';
import { User } from '../../src/entities/user.entity.ts';
import type { SwlDomainEvent, SwlEventBus } from '../../src/events.ts';
import type { Actor } from '../../src/permissions.ts';
import { recordingBus } from './fixtures.ts';

/** docs/DESIGN.md §5 defaults, COP minor units (1 COP = 100). */
export const TEST_POLICIES = [
  ...(['student'] as const).map((role) => ({
    category: 'general' as const,
    role,
    loanPeriod: 3,
    loanPeriodUnit: 'days' as const,
    maxActiveLoans: 3,
    maxRenewals: 1,
    environmentRequired: false,
    fineAmount: 100_000,
    fineInterval: 'day' as const,
    gracePeriodMinutes: 60,
    maxFine: 2_000_000,
  })),
  ...(['teacher', 'staff', 'admin'] as const).flatMap((role) => [
    {
      category: 'general' as const,
      role,
      loanPeriod: 7,
      loanPeriodUnit: 'days' as const,
      maxActiveLoans: 5,
      maxRenewals: 2,
      environmentRequired: false,
      fineAmount: 100_000,
      fineInterval: 'day' as const,
      gracePeriodMinutes: 60,
      maxFine: 2_000_000,
    },
    {
      category: 'premium' as const,
      role,
      loanPeriod: 8,
      loanPeriodUnit: 'hours' as const,
      maxActiveLoans: 2,
      maxRenewals: 0,
      environmentRequired: true,
      fineAmount: 200_000,
      fineInterval: 'hour' as const,
      gracePeriodMinutes: 15,
      maxFine: 5_000_000,
    },
  ]),
];

export const T0 = '2026-03-02T13:00:00.000Z';

let seq = 0;
const unique = () => `${process.pid}${Date.now() % 100000}${++seq}`;

export interface Desk {
  orm: MikroORM;
  clock: ManualClock;
  events: SwlEventBus;
  received: SwlDomainEvent[];
  em(): EntityManager;
  admin: Actor;
  staff: Actor;
  user(role: Role, options?: { active?: boolean }): Promise<Actor>;
  entry(
    category: Category,
    copies: number,
    options?: { title?: string; replacementCost?: number },
  ): Promise<{
    id: number;
    copies: number[];
  }>;
}

export async function openDesk(orm: MikroORM): Promise<Desk> {
  const clock = new ManualClock(T0);
  const { events, received } = recordingBus();
  const em0 = orm.em.fork();
  for (const p of TEST_POLICIES) em0.create(LoanPolicy, p);
  await em0.flush();

  const user = async (role: Role, options: { active?: boolean } = {}): Promise<Actor> => {
    const em = orm.em.fork();
    const id = unique();
    const u = em.create(User, {
      documentId: id.slice(0, 20),
      fullName: `${role} ${id}`,
      role,
      active: options.active ?? true,
    });
    await em.flush();
    return { id: u.id, role };
  };
  const entry: Desk['entry'] = async (category, copies, options = {}) => {
    const em = orm.em.fork();
    const e = em.create(CatalogEntry, {
      titleOrName: options.title ?? `Item ${unique()}`,
      category,
      replacementCost: options.replacementCost ?? 5_000_000,
    });
    await em.flush();
    const made = Array.from({ length: copies }, (_, k) =>
      em.create(ItemInstance, { catalogEntry: e, sequence: k + 1, code: `TST-${e.id}-${k + 1}` }),
    );
    await em.flush();
    return { id: e.id, copies: made.map((c) => c.id) };
  };
  return {
    orm,
    clock,
    events,
    received,
    em: () => orm.em.fork(),
    admin: await user('admin'),
    staff: await user('staff'),
    user,
    entry,
  };
}
