/**
 * Every role × every public command, on SQLite and PostgreSQL.
 *
 * The matrix below is the contract, written out so it can be read. Each cell runs the command
 * once, as a fresh user of that role, against fixtures made just for it:
 *
 * - ✓ the command succeeds;
 * - ✗ it is refused with `FORBIDDEN` and no table changed. When the role lacks a capability the
 *   command checks up front, not one query reached the database (counted by a MikroORM logger that
 *   sees every statement, `begin` included). Some refusals can only be decided after reading the
 *   record — "another borrower's loan" (`…:any` checked against the loan's borrower) and "another
 *   staff member" (`user:change-role` checked against the target's role): those may read, but
 *   issue no insert, update or delete.
 *
 * The table is also derived from `ROLE_CAPABILITIES` (src/permissions.ts) plus the own/any rules
 * of each row, and the two must agree — so a change to the capability matrix fails here until
 * this table is updated on purpose. `authenticate` takes no acting user and is not in the matrix.
 */
import { DefaultLogger, type LogContext, type LoggerNamespace, type LoggerOptions } from '@mikro-orm/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { ROLES, type Role } from '../../src/domain/vocabulary.ts';
import { User } from '../../src/entities/user.entity.ts';
import { SwlError } from '../../src/errors.ts';
import { type Actor, type Capability, can } from '../../src/permissions.ts';
import { ReservationService } from '../../src/reservations/reservation.service.ts';
import type { ReservationPolicyRule } from '../../src/reservations/schemas.ts';
import { hashPassword } from '../../src/users/password.ts';
import {
  type Desk,
  describeEachDialect,
  expectSwlError,
  openServices,
  publicMethods,
  rowCounts,
  SERVICES,
  type Services,
  uniqueId,
  useDesk,
} from '../support/fixtures.ts';

/* biome-ignore format: the matrix is a table */
const MATRIX = `
                                                 admin  staff  teacher  student
loans.request (own)                                ✓      ✓      ✓        ✓
loans.request (for another borrower)               ✓      ✓      ✗        ✗
loans.approve                                      ✓      ✓      ✗        ✗
loans.reject                                       ✓      ✓      ✗        ✗
loans.cancel (own request)                         ✓      ✓      ✓        ✓
loans.cancel (another borrower's request)          ✓      ✗      ✗        ✗
loans.renew (own loan)                             ✓      ✓      ✓        ✓
loans.renew (another borrower's loan)              ✓      ✓      ✗        ✗
loans.return                                       ✓      ✓      ✗        ✗
loans.settlePenalty                                ✓      ✓      ✗        ✗
loans.getLoan (own)                                ✓      ✓      ✓        ✓
loans.getLoan (another borrower's)                 ✓      ✓      ✗        ✗
loans.listBorrowerLoans (own)                      ✓      ✓      ✓        ✓
loans.listBorrowerLoans (another borrower's)       ✓      ✓      ✗        ✗
loans.pendingQueue                                 ✓      ✓      ✗        ✗
loans.overdueLoans                                 ✓      ✓      ✗        ✗
loans.borrowerStanding (own)                       ✓      ✓      ✓        ✓
loans.borrowerStanding (another borrower's)        ✓      ✓      ✗        ✗
catalog.createEntry (no copies)                    ✓      ✓      ✗        ✗
catalog.createEntry (with copies)                  ✓      ✓      ✗        ✗
catalog.addCopies                                  ✓      ✓      ✗        ✗
catalog.updateEntry                                ✓      ✓      ✗        ✗
catalog.search                                     ✓      ✓      ✓        ✓
catalog.getEntry                                   ✓      ✓      ✓        ✓
catalog.listCopies                                 ✓      ✓      ✓        ✓
catalog.getCopyByCode                              ✓      ✓      ✓        ✓
catalog.copyHistory                                ✓      ✓      ✗        ✗
catalog.sendToMaintenance                          ✓      ✓      ✗        ✗
catalog.repair                                     ✓      ✓      ✗        ✗
catalog.markLost                                   ✓      ✓      ✗        ✗
catalog.markFound                                  ✓      ✓      ✗        ✗
catalog.withdrawCopy                               ✓      ✓      ✗        ✗
catalog.withdrawEntry                              ✓      ✓      ✗        ✗
users.createUser (a student)                       ✓      ✓      ✗        ✗
users.createUser (a staff member)                  ✓      ✗      ✗        ✗
users.updateUser (a student)                       ✓      ✓      ✗        ✗
users.updateUser (another staff member)            ✓      ✗      ✗        ✗
users.updateUser (themself)                        ✓      ✓      ✗        ✗
users.changeRole                                   ✓      ✗      ✗        ✗
users.changeRole (their own role)                  ✗      ✗      ✗        ✗
users.deactivate                                   ✓      ✗      ✗        ✗
users.deactivate (themself)                        ✗      ✗      ✗        ✗
users.reactivate                                   ✓      ✗      ✗        ✗
users.changePassword (own)                         ✓      ✓      ✓        ✓
users.changePassword (another user's)              ✓      ✗      ✗        ✗
users.getUser (themself)                           ✓      ✓      ✓        ✓
users.getUser (another user)                       ✓      ✓      ✗        ✗
users.listUsers                                    ✓      ✓      ✗        ✗
visits.recordVisit                                 ✓      ✓      ✗        ✗
visits.list                                        ✓      ✓      ✗        ✗
visits.statistics                                  ✓      ✓      ✗        ✗
visits.purge                                       ✓      ✗      ✗        ✗
policies.list                                      ✓      ✓      ✓        ✓
policies.get                                       ✓      ✓      ✓        ✓
policies.upsert                                    ✓      ✗      ✗        ✗
policies.update                                    ✓      ✗      ✗        ✗
policies.delete                                    ✓      ✗      ✗        ✗
reservations.reserve (own)                         ✓      ✓      ✓        ✓
reservations.reserve (for another borrower)        ✓      ✓      ✗        ✗
reservations.confirm                               ✓      ✓      ✗        ✗
reservations.cancel (own booking)                  ✓      ✓      ✓        ✓
reservations.cancel (another borrower's booking)   ✓      ✓      ✗        ✗
reservations.pickUp                                ✓      ✓      ✗        ✗
reservations.recordNoShows                         ✓      ✓      ✗        ✗
reservations.availability                          ✓      ✓      ✓        ✓
reservations.getReservation (own)                  ✓      ✓      ✓        ✓
reservations.getReservation (another borrower's)   ✓      ✓      ✗        ✗
reservations.listReservations (own)                ✓      ✓      ✓        ✓
reservations.listReservations (another borrower's) ✓      ✓      ✗        ✗
reservations.listReservations (an entry's)         ✓      ✓      ✗        ✗
reservations.upsertPolicy                          ✓      ✗      ✗        ✗
reservations.listPolicies                          ✓      ✓      ✓        ✓
holds.placeHold (own)                              ✓      ✓      ✓        ✓
holds.placeHold (for another borrower)             ✓      ✓      ✗        ✗
holds.cancelHold (own hold)                        ✓      ✓      ✓        ✓
holds.cancelHold (another borrower's hold)         ✓      ✓      ✗        ✗
holds.fulfillHold                                  ✓      ✓      ✗        ✗
holds.expireHolds                                  ✓      ✓      ✗        ✗
holds.holdQueue                                    ✓      ✓      ✗        ✗
holds.getHold (own)                                ✓      ✓      ✓        ✓
holds.getHold (another borrower's)                 ✓      ✓      ✗        ✗
holds.listHolds (own)                              ✓      ✓      ✓        ✓
holds.listHolds (another borrower's)               ✓      ✓      ✗        ✗
reports.overdueByBorrower                          ✓      ✓      ✗        ✗
reports.availability                               ✓      ✓      ✗        ✗
reports.loansPerMonth                              ✓      ✓      ✗        ✗
reports.visits                                     ✓      ✓      ✗        ✗
reports.topBorrowed                                ✓      ✓      ✗        ✗
reports.copiesOutOfService                         ✓      ✓      ✗        ✗
notices.listRules                                  ✓      ✓      ✓        ✓
notices.upsertRule                                 ✓      ✗      ✗        ✗
notices.removeRule                                 ✓      ✗      ✗        ✗
notices.due                                        ✓      ✓      ✗        ✗
notices.claim                                      ✓      ✓      ✗        ✗
notices.markSent                                   ✓      ✓      ✗        ✗
notices.markFailed                                 ✓      ✓      ✗        ✗
notices.listNotices                                ✓      ✓      ✗        ✗
`;

/** The matrix as data: row name → role → allowed. */
function parseMatrix(text: string): Map<string, Record<Role, boolean>> {
  const rows = new Map<string, Record<Role, boolean>>();
  for (const line of text.split('\n').slice(2)) {
    const match = /^(\S.*?)\s+([✓✗])\s+([✓✗])\s+([✓✗])\s+([✓✗])\s*$/u.exec(line);
    if (!match) continue;
    const [, name, ...marks] = match as unknown as [string, string, ...string[]];
    rows.set(
      name,
      Object.fromEntries(ROLES.map((role, k) => [role, marks[k] === '✓'])) as Record<Role, boolean>,
    );
  }
  return rows;
}

/** What a row's fixture step gets: the acting user of the cell and ways to build records. */
interface Cell {
  actor: Actor;
  role: Role;
  desk: Desk;
  admin: Services;
}

interface Row {
  /** Capabilities the command checks before reading anything. */
  needs: Capability[];
  /** A capability checked only after reading the record (ownership, the target's role). */
  afterRead?: Capability;
  /** Refused for every role (the actor acting on themself). */
  never?: 'self';
  prepare: (cell: Cell) => Promise<Record<string, unknown>>;
  run: (s: Services, actor: Actor, input: Record<string, unknown>) => Promise<unknown>;
}

const CURRENT_PASSWORD = 'the current password';
let currentHash: string;

/** A pending request, an approved loan or a returned one with an unsettled penalty, of `borrower`. */
async function loanOf(cell: Cell, borrower: Actor, state: 'pendiente' | 'aprobado' | 'penalty') {
  const entry = await cell.desk.entry('general', 1);
  const loan = await cell.admin.loans.request(cell.desk.admin, {
    borrowerId: borrower.id,
    catalogEntryId: entry.id,
  });
  if (state === 'pendiente') return loan.id;
  await cell.admin.loans.approve(cell.desk.admin, { loanId: loan.id });
  if (state === 'penalty')
    await cell.admin.loans.return(cell.desk.admin, { loanId: loan.id, outcome: 'lost' });
  return loan.id;
}

async function copyIn(cell: Cell, status: 'disponible' | 'mantenimiento' | 'perdido') {
  const { entry, copies } = await cell.admin.catalog.createEntry(cell.desk.admin, {
    titleOrName: `Matrix item ${uniqueId()}`,
    category: 'general',
    copies: 1,
  });
  const copy = copies[0] as { id: number; code: string };
  if (status === 'mantenimiento')
    await cell.admin.catalog.sendToMaintenance(cell.desk.admin, { copyId: copy.id });
  if (status === 'perdido') await cell.admin.catalog.markLost(cell.desk.admin, { copyId: copy.id });
  return { entryId: entry.id, copyId: copy.id, code: copy.code };
}

const other = (cell: Cell, role: Role = 'student') => cell.desk.user(role);
const period = { from: '2026-01-01T00:00:00Z', to: '2027-01-01T00:00:00Z' };

const HOUR_MS = 60 * 60 * 1000;
/** `hours` hours after the desk clock. */
const later = (cell: Cell, hours: number) => new Date(cell.desk.clock.now().getTime() + hours * HOUR_MS);
/** Tomorrow 2 h long: in the future and well within the 30 days a booking may start ahead. */
const tomorrow = (cell: Cell) => ({ startsAt: later(cell, 24), endsAt: later(cell, 26) });

/**
 * The default booking policies let no student book (premium × student has no lending policy, and
 * no category × student a booking policy): a refusal the policy makes, `POLICY_FORBIDS`, not the
 * capability matrix. So that the matrix checks the capability alone, students book general items
 * here, under this booking policy.
 */
const STUDENT_BOOKING_POLICY: ReservationPolicyRule = {
  category: 'general',
  role: 'student',
  maxAdvanceDays: 30,
  maxDurationMinutes: 8 * 60,
  bufferMinutes: 15,
  pickupWindowMinutes: 30,
  approvalRequired: false,
};

/** A new entry with two copies a borrower of `role` may book: premium, or general for a student. */
async function bookableEntry(cell: Cell, role: Role): Promise<number> {
  if (role !== 'student') return (await cell.desk.entry('premium', 2)).id;
  await cell.admin.reservations.upsertPolicy(cell.desk.admin, STUDENT_BOOKING_POLICY);
  return (await cell.desk.entry('general', 2)).id;
}

/**
 * A booking of `borrower` for tomorrow, made by the admin: `solicitada` for a teacher (the default
 * premium × teacher policy requires confirmation), `confirmada` at once for the other roles; with
 * `'confirmada'`, a teacher's is confirmed too.
 */
async function bookingOf(cell: Cell, borrower: Actor, state?: 'solicitada' | 'confirmada') {
  const booking = await cell.admin.reservations.reserve(cell.desk.admin, {
    borrowerId: borrower.id,
    catalogEntryId: await bookableEntry(cell, borrower.role),
    ...tomorrow(cell),
  });
  if (state === 'confirmada' && booking.status === 'solicitada') {
    await cell.admin.reservations.confirm(cell.desk.admin, { reservationId: booking.id });
  } else if (state && booking.status !== state) {
    throw new Error(`fixture: a ${borrower.role}'s booking is ${booking.status}, not ${state}`);
  }
  return booking;
}

/**
 * A teacher's booking whose pickup window has passed: made an hour before it started, on a clock
 * two hours behind the desk's (bookings may not start in the past), so that at the desk clock its
 * deadline (start + 30 min) is half an hour ago.
 */
async function missedBooking(cell: Cell) {
  const earlier = new ManualClock(later(cell, -2));
  const booking = await new ReservationService(cell.desk.em(), { clock: earlier }).reserve(cell.desk.admin, {
    borrowerId: (await other(cell, 'teacher')).id,
    catalogEntryId: await bookableEntry(cell, 'teacher'),
    startsAt: later(cell, -1),
    endsAt: later(cell, 1),
  });
  if (booking.pickupDeadline.getTime() > cell.desk.clock.now().getTime()) {
    throw new Error('fixture: the missed booking is still within its pickup window');
  }
  return booking.id;
}

/**
 * A new general entry (every role has a general lending policy) whose only copy is on loan to
 * another student: nothing can be lent now, so a hold may be placed on it (`placeHold` is refused,
 * `copy_available`, while a copy is on the shelf).
 */
async function lentOutEntry(cell: Cell, s: Services = cell.admin) {
  const entry = await cell.desk.entry('general', 1);
  const request = await s.loans.request(cell.desk.admin, {
    borrowerId: (await other(cell)).id,
    catalogEntryId: entry.id,
  });
  await s.loans.approve(cell.desk.admin, { loanId: request.id });
  return { entryId: entry.id, loanId: request.id };
}

/** A waiting hold (`en_espera`) of `borrower` on a title lent out, placed by the admin. */
async function holdOf(cell: Cell, borrower: Actor) {
  const { entryId } = await lentOutEntry(cell);
  return cell.admin.holds.placeHold(cell.desk.admin, { borrowerId: borrower.id, catalogEntryId: entryId });
}

/**
 * A hold of another student awaiting pickup (`lista`): placed while the title's only copy was on
 * loan, which then came back (`return`, outcome `ok`) and was set aside for it. With `clock`, all
 * of that happened at that clock's time (and the pickup deadline runs from it).
 */
async function readyHold(cell: Cell, clock?: ManualClock) {
  const s = clock ? openServices(cell.desk.orm, { clock }) : cell.admin;
  const { entryId, loanId } = await lentOutEntry(cell, s);
  const hold = await s.holds.placeHold(cell.desk.admin, {
    borrowerId: (await other(cell)).id,
    catalogEntryId: entryId,
  });
  const returned = await s.loans.return(cell.desk.admin, { loanId, outcome: 'ok' });
  if (returned.setAsideForHold?.holdId !== hold.id) {
    throw new Error('fixture: the returned copy was not set aside for the hold');
  }
  return returned.setAsideForHold;
}

/**
 * A `lista` hold whose pickup deadline has passed: made on a clock 49 hours behind the desk's, so
 * that at the desk clock its deadline (48 h by default, or a booking policy's shorter pickup
 * window) is behind it.
 */
async function lapsedHold(cell: Cell) {
  const ready = await readyHold(cell, new ManualClock(later(cell, -49)));
  if (ready.expiresAt.getTime() > cell.desk.clock.now().getTime()) {
    throw new Error('fixture: the lapsed hold is still within its pickup window');
  }
  return ready.holdId;
}

const ROWS: Record<string, Row> = {
  'loans.request (own)': {
    needs: ['loan:request:own'],
    prepare: async (c) => ({ catalogEntryId: (await c.desk.entry('general', 1)).id }),
    run: (s, a, i) => s.loans.request(a, i),
  },
  'loans.request (for another borrower)': {
    needs: ['loan:request:own', 'loan:request:any'],
    prepare: async (c) => ({
      borrowerId: (await other(c)).id,
      catalogEntryId: (await c.desk.entry('general', 1)).id,
    }),
    run: (s, a, i) => s.loans.request(a, i),
  },
  'loans.approve': {
    needs: ['loan:approve'],
    prepare: async (c) => ({ loanId: await loanOf(c, await other(c), 'pendiente') }),
    run: (s, a, i) => s.loans.approve(a, i as never),
  },
  'loans.reject': {
    needs: ['loan:reject'],
    prepare: async (c) => ({ loanId: await loanOf(c, await other(c), 'pendiente'), reason: 'no copies' }),
    run: (s, a, i) => s.loans.reject(a, i as never),
  },
  'loans.cancel (own request)': {
    needs: ['loan:cancel:own'],
    prepare: async (c) => ({ loanId: await loanOf(c, c.actor, 'pendiente') }),
    run: (s, a, i) => s.loans.cancel(a, i as never),
  },
  "loans.cancel (another borrower's request)": {
    needs: ['loan:cancel:own'],
    afterRead: 'loan:cancel:any',
    prepare: async (c) => ({ loanId: await loanOf(c, await other(c), 'pendiente') }),
    run: (s, a, i) => s.loans.cancel(a, i as never),
  },
  'loans.renew (own loan)': {
    needs: ['loan:renew:own'],
    prepare: async (c) => ({ loanId: await loanOf(c, c.actor, 'aprobado') }),
    run: (s, a, i) => s.loans.renew(a, i as never),
  },
  "loans.renew (another borrower's loan)": {
    needs: ['loan:renew:own'],
    afterRead: 'loan:renew:any',
    prepare: async (c) => ({ loanId: await loanOf(c, await other(c), 'aprobado') }),
    run: (s, a, i) => s.loans.renew(a, i as never),
  },
  'loans.return': {
    needs: ['loan:return'],
    prepare: async (c) => ({ loanId: await loanOf(c, await other(c), 'aprobado'), outcome: 'ok' }),
    run: (s, a, i) => s.loans.return(a, i as never),
  },
  'loans.settlePenalty': {
    needs: ['loan:settle'],
    prepare: async (c) => ({ loanId: await loanOf(c, await other(c), 'penalty'), settlement: 'paid' }),
    run: (s, a, i) => s.loans.settlePenalty(a, i as never),
  },
  'loans.getLoan (own)': {
    needs: ['loan:read:own'],
    prepare: async (c) => ({ loanId: await loanOf(c, c.actor, 'pendiente') }),
    run: (s, a, i) => s.loans.getLoan(a, i as never),
  },
  "loans.getLoan (another borrower's)": {
    needs: ['loan:read:own'],
    afterRead: 'loan:read:any',
    prepare: async (c) => ({ loanId: await loanOf(c, await other(c), 'pendiente') }),
    run: (s, a, i) => s.loans.getLoan(a, i as never),
  },
  'loans.listBorrowerLoans (own)': {
    needs: ['loan:read:own'],
    prepare: async () => ({ scope: 'all' }),
    run: (s, a, i) => s.loans.listBorrowerLoans(a, i),
  },
  "loans.listBorrowerLoans (another borrower's)": {
    needs: ['loan:read:own', 'loan:read:any'],
    prepare: async (c) => ({ borrowerId: (await other(c)).id }),
    run: (s, a, i) => s.loans.listBorrowerLoans(a, i),
  },
  'loans.pendingQueue': {
    needs: ['loan:read:any'],
    prepare: async () => ({}),
    run: (s, a, i) => s.loans.pendingQueue(a, i),
  },
  'loans.overdueLoans': {
    needs: ['loan:read:any'],
    prepare: async () => ({}),
    run: (s, a, i) => s.loans.overdueLoans(a, i),
  },
  'loans.borrowerStanding (own)': {
    needs: ['loan:read:own'],
    prepare: async () => ({}),
    run: (s, a, i) => s.loans.borrowerStanding(a, i),
  },
  "loans.borrowerStanding (another borrower's)": {
    needs: ['loan:read:own', 'loan:read:any'],
    prepare: async (c) => ({ borrowerId: (await other(c)).id }),
    run: (s, a, i) => s.loans.borrowerStanding(a, i),
  },
  'catalog.createEntry (no copies)': {
    needs: ['catalog:manage'],
    prepare: async () => ({ titleOrName: `Matrix ${uniqueId()}`, category: 'general' }),
    run: (s, a, i) => s.catalog.createEntry(a, i as never),
  },
  'catalog.createEntry (with copies)': {
    needs: ['catalog:manage', 'inventory:manage'],
    prepare: async () => ({ titleOrName: `Matrix ${uniqueId()}`, category: 'premium', copies: 2 }),
    run: (s, a, i) => s.catalog.createEntry(a, i as never),
  },
  'catalog.addCopies': {
    needs: ['inventory:manage'],
    prepare: async (c) => ({ catalogEntryId: (await copyIn(c, 'disponible')).entryId, count: 2 }),
    run: (s, a, i) => s.catalog.addCopies(a, i as never),
  },
  'catalog.updateEntry': {
    needs: ['catalog:manage'],
    prepare: async (c) => ({
      catalogEntryId: (await copyIn(c, 'disponible')).entryId,
      authorOrBrand: 'Sony',
    }),
    run: (s, a, i) => s.catalog.updateEntry(a, i as never),
  },
  'catalog.search': {
    needs: ['catalog:read'],
    prepare: async () => ({ text: 'matrix' }),
    run: (s, a, i) => s.catalog.search(a, i),
  },
  'catalog.getEntry': {
    needs: ['catalog:read'],
    prepare: async (c) => ({ catalogEntryId: (await copyIn(c, 'disponible')).entryId }),
    run: (s, a, i) => s.catalog.getEntry(a, i as never),
  },
  'catalog.listCopies': {
    needs: ['catalog:read'],
    prepare: async (c) => ({ catalogEntryId: (await copyIn(c, 'disponible')).entryId }),
    run: (s, a, i) => s.catalog.listCopies(a, i as never),
  },
  'catalog.getCopyByCode': {
    needs: ['catalog:read'],
    prepare: async (c) => ({ code: (await copyIn(c, 'disponible')).code }),
    run: (s, a, i) => s.catalog.getCopyByCode(a, i as never),
  },
  'catalog.copyHistory': {
    needs: ['inventory:manage'],
    prepare: async (c) => ({ copyId: (await copyIn(c, 'disponible')).copyId }),
    run: (s, a, i) => s.catalog.copyHistory(a, i as never),
  },
  'catalog.sendToMaintenance': {
    needs: ['inventory:manage'],
    prepare: async (c) => ({ copyId: (await copyIn(c, 'disponible')).copyId }),
    run: (s, a, i) => s.catalog.sendToMaintenance(a, i as never),
  },
  'catalog.repair': {
    needs: ['inventory:manage'],
    prepare: async (c) => ({ copyId: (await copyIn(c, 'mantenimiento')).copyId }),
    run: (s, a, i) => s.catalog.repair(a, i as never),
  },
  'catalog.markLost': {
    needs: ['inventory:manage'],
    prepare: async (c) => ({ copyId: (await copyIn(c, 'disponible')).copyId }),
    run: (s, a, i) => s.catalog.markLost(a, i as never),
  },
  'catalog.markFound': {
    needs: ['inventory:manage'],
    prepare: async (c) => ({ copyId: (await copyIn(c, 'perdido')).copyId }),
    run: (s, a, i) => s.catalog.markFound(a, i as never),
  },
  'catalog.withdrawCopy': {
    needs: ['inventory:manage'],
    prepare: async (c) => ({ copyId: (await copyIn(c, 'disponible')).copyId }),
    run: (s, a, i) => s.catalog.withdrawCopy(a, i as never),
  },
  'catalog.withdrawEntry': {
    needs: ['catalog:manage', 'inventory:manage'],
    prepare: async (c) => ({ catalogEntryId: (await copyIn(c, 'disponible')).entryId }),
    run: (s, a, i) => s.catalog.withdrawEntry(a, i as never),
  },
  'users.createUser (a student)': {
    needs: ['user:create'],
    prepare: async () => ({ documentId: uniqueId(), fullName: 'New Student', role: 'student' }),
    run: (s, a, i) => s.users.createUser(a, i as never),
  },
  'users.createUser (a staff member)': {
    needs: ['user:create', 'user:change-role'],
    prepare: async () => ({ documentId: uniqueId(), fullName: 'New Staff', role: 'staff' }),
    run: (s, a, i) => s.users.createUser(a, i as never),
  },
  'users.updateUser (a student)': {
    needs: ['user:update'],
    prepare: async (c) => ({ userId: (await other(c)).id, phone: '3001234567' }),
    run: (s, a, i) => s.users.updateUser(a, i as never),
  },
  'users.updateUser (another staff member)': {
    needs: ['user:update'],
    afterRead: 'user:change-role',
    prepare: async (c) => ({ userId: (await other(c, 'staff')).id, phone: '3001234567' }),
    run: (s, a, i) => s.users.updateUser(a, i as never),
  },
  'users.updateUser (themself)': {
    needs: ['user:update'],
    prepare: async (c) => ({ userId: c.actor.id, phone: '3001234567' }),
    run: (s, a, i) => s.users.updateUser(a, i as never),
  },
  'users.changeRole': {
    needs: ['user:change-role'],
    prepare: async (c) => ({ userId: (await other(c)).id, role: 'teacher' }),
    run: (s, a, i) => s.users.changeRole(a, i as never),
  },
  'users.changeRole (their own role)': {
    needs: ['user:change-role'],
    never: 'self',
    prepare: async (c) => ({ userId: c.actor.id, role: 'admin' }),
    run: (s, a, i) => s.users.changeRole(a, i as never),
  },
  'users.deactivate': {
    needs: ['user:deactivate'],
    prepare: async (c) => ({ userId: (await other(c)).id }),
    run: (s, a, i) => s.users.deactivate(a, i as never),
  },
  'users.deactivate (themself)': {
    needs: ['user:deactivate'],
    never: 'self',
    prepare: async (c) => ({ userId: c.actor.id }),
    run: (s, a, i) => s.users.deactivate(a, i as never),
  },
  'users.reactivate': {
    needs: ['user:deactivate'],
    prepare: async (c) => ({ userId: (await c.desk.user('student', { active: false })).id }),
    run: (s, a, i) => s.users.reactivate(a, i as never),
  },
  'users.changePassword (own)': {
    needs: [],
    prepare: async (c) => {
      const em = c.desk.em();
      const user = await em.findOneOrFail(User, c.actor.id);
      user.passwordHash = currentHash;
      await em.flush();
      return { currentPassword: CURRENT_PASSWORD, newPassword: 'a brand new passphrase' };
    },
    run: (s, a, i) => s.users.changePassword(a, i as never),
  },
  "users.changePassword (another user's)": {
    needs: ['user:change-role'],
    prepare: async (c) => ({ userId: (await other(c)).id, newPassword: 'a brand new passphrase' }),
    run: (s, a, i) => s.users.changePassword(a, i as never),
  },
  'users.getUser (themself)': {
    needs: [],
    prepare: async (c) => ({ userId: c.actor.id }),
    run: (s, a, i) => s.users.getUser(a, i as never),
  },
  'users.getUser (another user)': {
    needs: ['user:read'],
    prepare: async (c) => ({ userId: (await other(c)).id }),
    run: (s, a, i) => s.users.getUser(a, i as never),
  },
  'users.listUsers': {
    needs: ['user:read'],
    prepare: async () => ({ role: 'student' }),
    run: (s, a, i) => s.users.listUsers(a, i),
  },
  'visits.recordVisit': {
    needs: ['visitor-log:record'],
    prepare: async () => ({ visitorName: 'Ana', visitorId: '123', role: 'visitor', activity: 'estudio' }),
    run: (s, a, i) => s.visits.recordVisit(a, i as never),
  },
  'visits.list': {
    needs: ['visitor-log:read'],
    prepare: async () => ({ ...period }),
    run: (s, a, i) => s.visits.list(a, i as never),
  },
  'visits.statistics': {
    needs: ['visitor-log:read'],
    prepare: async () => ({ ...period, groupBy: 'day' }),
    run: (s, a, i) => s.visits.statistics(a, i as never),
  },
  'visits.purge': {
    needs: ['visitor-log:purge'],
    prepare: async () => ({ olderThanDays: 3650 }),
    run: (s, a, i) => s.visits.purge(a, i as never),
  },
  'policies.list': {
    needs: ['policy:read'],
    prepare: async () => ({}),
    run: (s, a, i) => s.policies.list(a, i),
  },
  'policies.get': {
    needs: ['policy:read'],
    prepare: async () => ({ category: 'general', role: 'student' }),
    run: (s, a, i) => s.policies.get(a, i as never),
  },
  'policies.upsert': {
    needs: ['policy:manage'],
    prepare: async () => ({
      category: 'premium',
      role: 'student',
      loanPeriod: 2,
      loanPeriodUnit: 'hours',
      maxActiveLoans: 1,
      maxRenewals: 0,
      environmentRequired: true,
      fineAmount: 200_000,
      fineInterval: 'hour',
    }),
    run: (s, a, i) => s.policies.upsert(a, i as never),
  },
  'policies.update': {
    needs: ['policy:manage'],
    prepare: async () => ({ category: 'general', role: 'teacher', maxRenewals: 2 }),
    run: (s, a, i) => s.policies.update(a, i as never),
  },
  'policies.delete': {
    needs: ['policy:manage'],
    prepare: async (c) => {
      const rule = {
        category: 'premium',
        role: 'student',
        loanPeriod: 2,
        loanPeriodUnit: 'hours',
        maxActiveLoans: 1,
        maxRenewals: 0,
        fineAmount: 200_000,
        fineInterval: 'hour',
      } as const;
      await c.admin.policies.upsert(c.desk.admin, rule);
      return { category: 'premium', role: 'student' };
    },
    run: (s, a, i) => s.policies.delete(a, i as never),
  },
  'reservations.reserve (own)': {
    needs: ['reservation:request:own'],
    prepare: async (c) => ({ catalogEntryId: await bookableEntry(c, c.role), ...tomorrow(c) }),
    run: (s, a, i) => s.reservations.reserve(a, i as never),
  },
  'reservations.reserve (for another borrower)': {
    needs: ['reservation:request:own', 'reservation:request:any'],
    prepare: async (c) => ({
      borrowerId: (await other(c, 'teacher')).id,
      catalogEntryId: await bookableEntry(c, 'teacher'),
      ...tomorrow(c),
    }),
    run: (s, a, i) => s.reservations.reserve(a, i as never),
  },
  'reservations.confirm': {
    needs: ['reservation:confirm'],
    prepare: async (c) => ({
      reservationId: (await bookingOf(c, await other(c, 'teacher'), 'solicitada')).id,
    }),
    run: (s, a, i) => s.reservations.confirm(a, i as never),
  },
  'reservations.cancel (own booking)': {
    needs: ['reservation:cancel:own'],
    prepare: async (c) => ({ reservationId: (await bookingOf(c, c.actor)).id, reason: 'no longer needed' }),
    run: (s, a, i) => s.reservations.cancel(a, i as never),
  },
  "reservations.cancel (another borrower's booking)": {
    needs: ['reservation:cancel:own'],
    afterRead: 'reservation:cancel:any',
    prepare: async (c) => ({ reservationId: (await bookingOf(c, await other(c, 'teacher'))).id }),
    run: (s, a, i) => s.reservations.cancel(a, i as never),
  },
  'reservations.pickUp': {
    needs: ['reservation:pickup'],
    prepare: async (c) => ({
      reservationId: (await bookingOf(c, await other(c, 'teacher'), 'confirmada')).id,
    }),
    run: (s, a, i) => s.reservations.pickUp(a, i as never),
  },
  'reservations.recordNoShows': {
    needs: ['reservation:expire'],
    prepare: async (c) => {
      await missedBooking(c);
      return {};
    },
    run: (s, a, i) => s.reservations.recordNoShows(a, i),
  },
  'reservations.availability': {
    needs: ['catalog:read'],
    prepare: async (c) => ({
      catalogEntryId: await bookableEntry(c, 'teacher'),
      from: later(c, 0),
      to: later(c, 7 * 24),
    }),
    run: (s, a, i) => s.reservations.availability(a, i as never),
  },
  'reservations.getReservation (own)': {
    needs: ['reservation:read:own'],
    prepare: async (c) => ({ reservationId: (await bookingOf(c, c.actor)).id }),
    run: (s, a, i) => s.reservations.getReservation(a, i as never),
  },
  "reservations.getReservation (another borrower's)": {
    needs: ['reservation:read:own'],
    afterRead: 'reservation:read:any',
    prepare: async (c) => ({ reservationId: (await bookingOf(c, await other(c, 'teacher'))).id }),
    run: (s, a, i) => s.reservations.getReservation(a, i as never),
  },
  'reservations.listReservations (own)': {
    needs: ['reservation:read:own'],
    prepare: async (c) => {
      await bookingOf(c, c.actor);
      return { statuses: ['solicitada', 'confirmada', 'cancelada'] };
    },
    run: (s, a, i) => s.reservations.listReservations(a, i),
  },
  "reservations.listReservations (another borrower's)": {
    needs: ['reservation:read:own', 'reservation:read:any'],
    prepare: async (c) => {
      const borrower = await other(c, 'teacher');
      await bookingOf(c, borrower);
      return { borrowerId: borrower.id };
    },
    run: (s, a, i) => s.reservations.listReservations(a, i),
  },
  "reservations.listReservations (an entry's)": {
    needs: ['reservation:read:own', 'reservation:read:any'],
    prepare: async (c) => ({
      catalogEntryId: (await bookingOf(c, await other(c, 'teacher'))).catalogEntryId,
    }),
    run: (s, a, i) => s.reservations.listReservations(a, i),
  },
  'reservations.upsertPolicy': {
    needs: ['policy:manage'],
    prepare: async () => ({
      category: 'general',
      role: 'teacher',
      maxAdvanceDays: 7,
      maxDurationMinutes: 120,
      bufferMinutes: 0,
      pickupWindowMinutes: 15,
      approvalRequired: true,
    }),
    run: (s, a, i) => s.reservations.upsertPolicy(a, i as never),
  },
  'reservations.listPolicies': {
    needs: ['policy:read'],
    prepare: async () => ({ category: 'premium' }),
    run: (s, a, i) => s.reservations.listPolicies(a, i),
  },
  'holds.placeHold (own)': {
    needs: ['hold:place:own'],
    prepare: async (c) => ({ catalogEntryId: (await lentOutEntry(c)).entryId }),
    run: (s, a, i) => s.holds.placeHold(a, i as never),
  },
  'holds.placeHold (for another borrower)': {
    needs: ['hold:place:own', 'hold:place:any'],
    prepare: async (c) => ({
      borrowerId: (await other(c)).id,
      catalogEntryId: (await lentOutEntry(c)).entryId,
    }),
    run: (s, a, i) => s.holds.placeHold(a, i as never),
  },
  'holds.cancelHold (own hold)': {
    needs: ['hold:cancel:own'],
    prepare: async (c) => ({ holdId: (await holdOf(c, c.actor)).id, reason: 'no longer needed' }),
    run: (s, a, i) => s.holds.cancelHold(a, i as never),
  },
  "holds.cancelHold (another borrower's hold)": {
    needs: ['hold:cancel:own'],
    afterRead: 'hold:cancel:any',
    prepare: async (c) => ({ holdId: (await holdOf(c, await other(c))).id }),
    run: (s, a, i) => s.holds.cancelHold(a, i as never),
  },
  'holds.fulfillHold': {
    needs: ['hold:fulfill'],
    prepare: async (c) => ({ holdId: (await readyHold(c)).holdId }),
    run: (s, a, i) => s.holds.fulfillHold(a, i as never),
  },
  'holds.expireHolds': {
    needs: ['hold:expire'],
    prepare: async (c) => {
      await lapsedHold(c);
      return {};
    },
    run: (s, a, i) => s.holds.expireHolds(a, i),
  },
  'holds.holdQueue': {
    needs: ['hold:read:any'],
    prepare: async (c) => ({ catalogEntryId: (await holdOf(c, await other(c))).catalogEntryId }),
    run: (s, a, i) => s.holds.holdQueue(a, i as never),
  },
  'holds.getHold (own)': {
    needs: ['hold:read:own'],
    prepare: async (c) => ({ holdId: (await holdOf(c, c.actor)).id }),
    run: (s, a, i) => s.holds.getHold(a, i as never),
  },
  "holds.getHold (another borrower's)": {
    needs: ['hold:read:own'],
    afterRead: 'hold:read:any',
    prepare: async (c) => ({ holdId: (await holdOf(c, await other(c))).id }),
    run: (s, a, i) => s.holds.getHold(a, i as never),
  },
  'holds.listHolds (own)': {
    needs: ['hold:read:own'],
    prepare: async (c) => {
      await holdOf(c, c.actor);
      return { statuses: ['en_espera', 'lista', 'cancelada'] };
    },
    run: (s, a, i) => s.holds.listHolds(a, i),
  },
  "holds.listHolds (another borrower's)": {
    needs: ['hold:read:own', 'hold:read:any'],
    prepare: async (c) => {
      const borrower = await other(c);
      await holdOf(c, borrower);
      return { borrowerId: borrower.id };
    },
    run: (s, a, i) => s.holds.listHolds(a, i),
  },
  'reports.overdueByBorrower': {
    needs: ['report:read'],
    prepare: async (c) => {
      await lentOutEntry(c);
      return { asOf: later(c, 24 * 30) };
    },
    run: (s, a, i) => s.reports.overdueByBorrower(a, i),
  },
  'reports.availability': {
    needs: ['report:read'],
    prepare: async (c) => {
      const { startsAt: from, endsAt: to } = tomorrow(c);
      return { catalogEntryIds: [(await c.desk.entry('premium', 2)).id], from, to };
    },
    run: (s, a, i) => s.reports.availability(a, i as never),
  },
  'reports.loansPerMonth': {
    needs: ['report:read'],
    prepare: async () => ({ ...period }),
    run: (s, a, i) => s.reports.loansPerMonth(a, i as never),
  },
  'reports.visits': {
    needs: ['report:read'],
    prepare: async () => ({ ...period, groupBy: 'role' }),
    run: (s, a, i) => s.reports.visits(a, i as never),
  },
  'reports.topBorrowed': {
    needs: ['report:read'],
    prepare: async () => ({ ...period, limit: 5 }),
    run: (s, a, i) => s.reports.topBorrowed(a, i as never),
  },
  'reports.copiesOutOfService': {
    needs: ['report:read'],
    prepare: async (c) => {
      await copyIn(c, 'perdido');
      return { status: 'perdido' };
    },
    run: (s, a, i) => s.reports.copiesOutOfService(a, i),
  },
  'notices.listRules': {
    needs: ['policy:read'],
    prepare: async () => ({}),
    run: (s, a, i) => s.notices.listRules(a, i as never),
  },
  'notices.upsertRule': {
    needs: ['notice:manage'],
    prepare: async () => ({
      category: 'general',
      role: 'student',
      trigger: 'loan_due',
      offsetMinutes: 90,
      templateKey: 'matrix',
    }),
    run: (s, a, i) => s.notices.upsertRule(a, i as never),
  },
  'notices.removeRule': {
    needs: ['notice:manage'],
    prepare: async (c) => {
      const offsetMinutes = 100 + Math.floor(Math.random() * 100_000);
      const rule = await c.admin.notices.upsertRule(c.desk.admin, {
        category: 'general',
        role: 'teacher',
        trigger: 'loan_due',
        offsetMinutes,
        templateKey: 'matrix',
      });
      return { ruleId: rule.id };
    },
    run: (s, a, i) => s.notices.removeRule(a, i as never),
  },
  'notices.due': {
    needs: ['notice:send'],
    prepare: async () => ({ limit: 5 }),
    run: (s, a, i) => s.notices.due(a, i),
  },
  'notices.claim': {
    needs: ['notice:send'],
    prepare: async () => ({ limit: 5 }),
    run: (s, a, i) => s.notices.claim(a, i),
  },
  'notices.markSent': {
    needs: ['notice:send'],
    prepare: async () => ({ digestId: `matrix.${uniqueId()}` }),
    run: (s, a, i) => s.notices.markSent(a, i as never),
  },
  'notices.markFailed': {
    needs: ['notice:send'],
    prepare: async () => ({ digestId: `matrix.${uniqueId()}`, error: 'smtp down' }),
    run: (s, a, i) => s.notices.markFailed(a, i as never),
  },
  'notices.listNotices': {
    needs: ['notice:send'],
    prepare: async () => ({ statuses: ['fallido'] }),
    run: (s, a, i) => s.notices.listNotices(a, i),
  },
};

/** Allowed by `ROLE_CAPABILITIES` and the row's own/any rule? */
function derived(row: Row, role: Role): boolean {
  if (row.never) return false;
  return row.needs.every((c) => can(role, c)) && (!row.afterRead || can(role, row.afterRead));
}

/**
 * A logger that records every statement sent — by MikroORM, and by the typed Kysely queries, which
 * the package logs only when the `query` namespace is enabled — and prints them only with
 * `SWL_TEST_SQL_DEBUG=1`.
 */
class RecordingLogger extends DefaultLogger {
  readonly #sink: string[];
  constructor(options: LoggerOptions, sink: string[]) {
    super(options);
    this.#sink = sink;
  }
  override isEnabled(namespace: LoggerNamespace, context?: LogContext): boolean {
    return namespace === 'query' || super.isEnabled(namespace, context);
  }
  override logQuery(context: { query: string } & LogContext): void {
    this.#sink.push(context.query);
    if (process.env.SWL_TEST_SQL_DEBUG === '1') super.logQuery(context);
  }
}

describe('the role matrix', () => {
  const table = parseMatrix(MATRIX);

  it('lists every row once, and matches ROLE_CAPABILITIES plus the own/any rules', () => {
    expect([...table.keys()].sort()).toEqual(Object.keys(ROWS).sort());
    for (const [name, row] of Object.entries(ROWS)) {
      for (const role of ROLES) {
        expect(table.get(name)?.[role], `${name} × ${role}`).toBe(derived(row, role));
      }
    }
  });

  it('covers every public method of every service', () => {
    const commands = new Set(Object.keys(ROWS).map((name) => name.split(' ')[0]));
    const noActor = new Set(['authenticate']); // signs in; there is no acting user to check
    for (const [prefix, service] of Object.entries(SERVICES)) {
      for (const method of publicMethods(service)) {
        if (!noActor.has(method)) expect(commands, `${prefix}.${method}`).toContain(`${prefix}.${method}`);
      }
    }
  });
});

describeEachDialect('every role × every command', (dialect) => {
  const statements: string[] = [];
  const table = parseMatrix(MATRIX);
  const desk = useDesk(dialect, {
    overrides: {
      debug: process.env.SWL_TEST_SQL_DEBUG === '1' ? ['query'] : false,
      loggerFactory: (options: LoggerOptions) => new RecordingLogger(options, statements),
    },
  });

  beforeAll(async () => {
    currentHash ??= await hashPassword(CURRENT_PASSWORD);
  });

  const services = () => openServices(desk.orm, { clock: desk.clock });

  for (const [name, row] of Object.entries(ROWS)) {
    it(name, async () => {
      for (const role of ROLES) {
        const allowed = table.get(name)?.[role] as boolean;
        const actor = await desk.user(role);
        const input = await row.prepare({ actor, role, desk, admin: services() });
        const s = services();
        const before = await rowCounts(desk.orm);
        const label = `${name} as ${role}`;
        statements.length = 0;
        if (allowed) {
          const error = await row.run(s, actor, input).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(
            error,
            `${label}: ${error instanceof SwlError ? `${error.code} ${error.message}` : error}`,
          ).toBe(undefined);
          expect(statements.length, `${label}: the query counter saw the command`).toBeGreaterThan(0);
          continue;
        }
        await expectSwlError(row.run(s, actor, input), 'FORBIDDEN', label);
        const issued = [...statements];
        expect(await rowCounts(desk.orm), `${label}: rows changed`).toEqual(before);
        const refusedUpFront = row.never !== undefined || !row.needs.every((c) => can(role, c));
        if (refusedUpFront) {
          expect(issued, `${label}: queried the database before refusing`).toEqual([]);
        } else {
          // Refused on what the record says (owner, target's role): reads only.
          expect(issued.length).toBeGreaterThan(0);
          expect(
            issued.filter((q) => /^\s*(insert|update|delete)\b/i.test(q)),
            label,
          ).toEqual([]);
        }
      }
    });
  }
});
