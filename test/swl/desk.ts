/**
 * A desk for the `swl` tests: `swl init` run through the installed executable, then — with the
 * library's services from this process — a general entry added 31 days ago (its copies' `created`
 * events come before every loan event) and one loan per status: an approved loan overdue now (a
 * student's general loan is 3 days), one returned 10 days late with its fine paid, one rejected,
 * one pending; one copy is left free. Shared by doctor.test.ts and ops.test.ts.
 */
import { MikroORM } from '@mikro-orm/core';
import { expect } from 'vitest';
import { CatalogService } from '../../src/catalog/catalog.service.ts';
import { ManualClock } from '../../src/clock.ts';
import { LoanService } from '../../src/loans/loan.service.ts';
import type { Actor } from '../../src/permissions.ts';
import { createTestUser, type ScratchDatabase } from '../support/fixtures.ts';
import { type InstalledPackage, swl } from '../support/installed-package.ts';

/** One day, in milliseconds. */
export const DAY = 86_400_000;

/** What {@link operatedDesk} made. */
export interface OperatedDesk {
  /** The environment for `swl` on this database. */
  env: Record<string, string | undefined>;
  /** An ORM on the database, for the test's own reads and writes; close it. */
  orm: MikroORM;
  /** The admin `swl init` created. */
  admin: Actor;
  /** The instant the desk was built around (ms since the epoch). */
  now: number;
  /** Loan ids, one per status. */
  loans: { overdue: number; returned: number; rejected: number; pending: number };
  /** A copy no loan holds. */
  spareCopy: number;
}

export async function operatedDesk(pkg: InstalledPackage, db: ScratchDatabase): Promise<OperatedDesk> {
  const env = { DATABASE_URL: db.location, SWL_ADMIN_PASSWORD: 'operator-test-password' };
  const init = await swl(pkg, ['init', '--json'], { env });
  expect(init.code, init.stderr).toBe(0);
  const admin: Actor = { id: JSON.parse(init.stdout).admin.id, role: 'admin' };
  const orm = await MikroORM.init(await db.options());

  const now = Date.now();
  const clock = new ManualClock(now - 30 * DAY);
  const service = new LoanService(orm.em.fork(), { clock });
  const made = await new CatalogService(orm.em.fork(), {
    clock: new ManualClock(now - 31 * DAY),
  }).createEntry(admin, {
    titleOrName: 'Mouse inalámbrico',
    category: 'general',
    replacementCost: 4_000_000,
    copies: 5,
  });
  const copies = made.copies.map((c) => c.id);
  const s: Actor[] = [];
  for (let k = 0; k < 4; k++) s.push(await createTestUser(orm, 'student'));
  const overdue = (await service.request(s[0] as Actor, { copyId: copies[0] })).id;
  await service.approve(admin, { loanId: overdue });
  const returned = (await service.request(s[1] as Actor, { copyId: copies[1] })).id;
  await service.approve(admin, { loanId: returned });
  const rejected = (await service.request(s[2] as Actor, { copyId: copies[2] })).id;
  await service.reject(admin, { loanId: rejected, reason: 'not today' });
  clock.set(now - 20 * DAY);
  const back = await service.return(admin, { loanId: returned });
  expect(back.finalPenalty).toBeGreaterThan(0);
  await service.settlePenalty(admin, { loanId: returned, settlement: 'paid' });
  const pending = (await service.request(s[3] as Actor, { copyId: copies[3] })).id;
  return {
    env,
    orm,
    admin,
    now,
    loans: { overdue, returned, rejected, pending },
    spareCopy: copies[4] as number,
  };
}
