/**
 * The holds queue: title-level requests when no copy is available. Source: issue 16; the shape of
 * Koha's reserves and FOLIO's title-level requests (FOLIO mod-circulation, "Request queue").
 *
 * @module
 */
import type { EntityManager } from '@mikro-orm/core';
import { CopyStatus, HoldStatus } from '../domain/vocabulary.ts';
import { HoldEvent } from '../entities/hold-event.entity.ts';
import { SwlError } from '../errors.ts';
import { assertRowIds } from '../internal/id-ceiling.ts';
import {
  type CommandScope,
  defineCommand,
  defineQuery,
  ServiceBase,
  type ServiceOptions,
  unlessOwn,
} from '../internal/service-base.ts';
import {
  instantParam,
  kyselyOf,
  type StoredInstant,
  type SwlKysely,
  toInstant,
  toInt,
} from '../kernel/db.ts';
import { lendingChecks, lendNow } from '../loans/create.ts';
import { readCopy, readLendingFacts } from '../loans/loan-queries.ts';
import {
  blockRefusal,
  copyUnavailable,
  dueDateAtApproval,
  inactiveBorrower,
  policyForbids,
} from '../loans/rules.ts';
import { type Actor, can } from '../permissions.ts';
import { firstInstantOver, lockEntry, readStockTimeline } from '../reservations/availability.ts';
import { dueDateBeforeReservations } from '../reservations/loan-guard.ts';
import type { Page } from '../validation.ts';
import {
  CancelHoldInput,
  ExpireHoldsInput,
  FulfillHoldInput,
  GetHoldInput,
  HoldQueueInput,
  ListHoldsInput,
  PlaceHoldInput,
} from './schemas.ts';
import { notSetAside, serveHolds } from './serve.ts';
import { applyHoldTransition, HOLD_MACHINE, type HoldTransition, recordHoldEvent } from './transitions.ts';
import {
  type FulfilledHold,
  type HoldDetails,
  type HoldExpirySweep,
  type HoldQueue,
  type HoldView,
  toHoldEventView,
} from './views.ts';

const { Waiting, AwaitingPickup } = HoldStatus;
const ACTIVE = [Waiting, AwaitingPickup];

const PLACE = defineCommand({
  name: 'hold.place',
  capability: 'hold:place:own',
  input: PlaceHoldInput,
  authorize: unlessOwn('hold:place:any'),
});
const CANCEL = defineCommand({ name: 'hold.cancel', capability: 'hold:cancel:own', input: CancelHoldInput });
const FULFILL = defineCommand({ name: 'hold.fulfill', capability: 'hold:fulfill', input: FulfillHoldInput });
const EXPIRE = defineCommand({ name: 'hold.expire', capability: 'hold:expire', input: ExpireHoldsInput });
const QUEUE = defineQuery({ capability: 'hold:read:any', input: HoldQueueInput });
const GET = defineQuery({ capability: 'hold:read:own', input: GetHoldInput });
const LIST = defineQuery({
  capability: 'hold:read:own',
  input: ListHoldsInput,
  authorize: unlessOwn('hold:read:any'),
});

/**
 * Holds: a borrower's place in the queue for a title when no copy can be lent now.
 *
 * - **Placing** (`placeHold`): refused when a copy is available now (`INVALID_TRANSITION`,
 *   `details.reason: 'copy_available'` — request a loan instead), when the borrower already has the
 *   title on loan or an active hold for it (`DUPLICATE`, `details.reason` `on_loan` /
 *   `hold_exists`), without a lending policy for the role (`POLICY_FORBIDS`), or when blocked.
 * - **Order:** first come, first served by `placedAt` (then id); positions are 1, 2, 3… among the
 *   waiting holds, recomputed on every read, so they stay sequential after cancellations and expiries.
 * - **Serving:** when a copy of the entry comes back (`LoanService.return` with outcome `ok`,
 *   `CatalogService.repair`, `markFound`) it is set aside for the first waiting hold (`lista`),
 *   until a pickup deadline: the booking policy's pickup window for the entry's category and the
 *   borrower's role, else {@link DEFAULT_HOLD_PICKUP_MINUTES}. A copy a booking needs before that
 *   deadline is not set aside. A set-aside copy is lent to nobody else (approvals skip it).
 * - **Pickup** (`fulfillHold`): the set-aside copy is checked out to the borrower (a loan,
 *   `aprobado`, under the lending policy's terms). **Expiry** (`expireHolds`, the injected clock):
 *   past the deadline the hold is `vencida` and the copy goes to the next waiting hold.
 */
export class HoldService extends ServiceBase {
  /**
   * @param em - the caller's EntityManager (a request-scoped fork, or that of an open host transaction).
   * @param options - clock and event bus.
   */
  constructor(em: EntityManager, options: ServiceOptions = {}) {
    super(em, options);
  }

  /**
   * Places a hold on a title for the acting user, or — staff — for `borrowerId`.
   * @param actor - the borrower (`hold:place:own`), staff/admin for another (`hold:place:any`).
   * @returns the hold (`en_espera`) with its position.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND`, `BORROWER_INACTIVE`,
   *   `BORROWER_BLOCKED`, `POLICY_FORBIDS`, `COPY_UNAVAILABLE` (entry withdrawn), `DUPLICATE`,
   *   `INVALID_TRANSITION` (`reason: 'copy_available'`), `IDEMPOTENCY_KEY_REUSED`,
   *   `CAPACITY_EXCEEDED`, `CONFLICT`, `UNAVAILABLE`.
   */
  async placeHold(actor: Actor, input: PlaceHoldInput): Promise<HoldView> {
    return this.command(PLACE, actor, input, async (s) => {
      const { db, postgres, input: i } = s;
      const borrowerId = i.borrowerId ?? s.actor.id;
      if (!(await lockEntry(db, postgres, i.catalogEntryId)))
        throw SwlError.notFound('catalogEntry', i.catalogEntryId);
      const now = s.instant();
      const facts = await readLendingFacts(db, borrowerId, i.catalogEntryId, now, postgres);
      const { borrower, entry, policy } = facts;
      if (!borrower) throw SwlError.notFound('user', borrowerId);
      if (!borrower.active) throw inactiveBorrower(borrower.id);
      if (!entry) throw SwlError.notFound('catalogEntry', i.catalogEntryId);
      if (entry.withdrawnAt) {
        throw copyUnavailable(`"${entry.titleOrName}" was withdrawn from circulation`, {
          catalogEntryId: entry.id,
        });
      }
      if (!policy) throw policyForbids(entry.category, borrower.role);
      const blocked = blockRefusal(borrower.id, facts.figures);
      if (blocked) throw blocked;
      const onLoan = await db
        .selectFrom('swl_loan')
        .select('id')
        .where('borrower_id', '=', borrower.id)
        .where('catalog_entry_id', '=', entry.id)
        .where('status', '=', 'aprobado')
        .executeTakeFirst();
      if (onLoan) {
        throw new SwlError('DUPLICATE', 'the borrower already has this title on loan', {
          reason: 'on_loan',
          loanId: toInt(onLoan.id),
        });
      }
      const active = await db
        .selectFrom('swl_hold')
        .select('id')
        .where('borrower_id', '=', borrower.id)
        .where('catalog_entry_id', '=', entry.id)
        .where('status', 'in', ACTIVE)
        .executeTakeFirst();
      if (active) {
        throw new SwlError('DUPLICATE', 'the borrower already has a hold on this title', {
          reason: 'hold_exists',
          holdId: toInt(active.id),
        });
      }
      if (await copyFreeNow(db, postgres, entry.id, now)) {
        throw SwlError.invalidTransition('hold', 'none', Waiting, {
          reason: 'copy_available',
          catalogEntryId: entry.id,
        });
      }
      const at = instantParam(postgres, now);
      const creation = HOLD_MACHINE.find('place', null) as HoldTransition;
      const row = {
        borrower_id: borrower.id,
        catalog_entry_id: entry.id,
        status: creation.to,
        placed_at: at,
        placed_by_id: s.actor.id,
        version: 1,
        created_at: at,
        updated_at: at,
      };
      const inserted = await db.insertInto('swl_hold').values(row).returning('id').executeTakeFirstOrThrow();
      const id = toInt(inserted.id);
      assertRowIds('swl_hold', [id]);
      recordHoldEvent(s, { holdId: id, transition: creation, actorId: s.actor.id, at: now, data: {} });
      await s.writes.run();
      return (await readHolds(db, postgres, { id }, false))[0] as HoldView;
    });
  }

  /**
   * Leaves the queue (`en_espera` or `lista` → `cancelada`); a copy set aside goes to the next hold.
   * @param actor - the borrower (`hold:cancel:own`), staff/admin for anyone's (`hold:cancel:any`).
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND`, `INVALID_TRANSITION`,
   *   `IDEMPOTENCY_KEY_REUSED`, `CAPACITY_EXCEEDED`, `CONFLICT`, `UNAVAILABLE`.
   */
  async cancelHold(actor: Actor, input: CancelHoldInput): Promise<HoldView> {
    return this.command(CANCEL, actor, input, async (s) => {
      const hold = await this.#hold(s, s.input.holdId, 'cancel');
      if (hold.borrowerId !== s.actor.id && !can(s.actor.role, 'hold:cancel:any')) {
        throw SwlError.forbidden("another borrower's hold", { holdId: hold.id });
      }
      const now = s.instant(hold.placedAt, hold.readyAt);
      const reason = s.input.reason ?? null;
      applyHoldTransition(s, {
        hold,
        command: 'cancel',
        changes: { cancelled_at: now, cancelled_by_id: s.actor.id, cancel_reason: reason },
        actorId: s.actor.id,
        at: now,
        data: { reason },
      });
      await s.writes.run();
      if (hold.status === AwaitingPickup && hold.copyId !== null) {
        await serveHolds(s, {
          catalogEntryId: hold.catalogEntryId,
          copyId: hold.copyId,
          actorId: s.actor.id,
          now,
        });
        await s.writes.run();
      }
      return (await readHolds(s.db, s.postgres, { id: hold.id }, false))[0] as HoldView;
    });
  }

  /**
   * Checks out the copy set aside for a `lista` hold to its borrower: a loan (`aprobado` at once,
   * events `requested` and `approved`, the copy `prestado`) under the lending policy's terms, due
   * like any approval (capped before a booking, `LoanService.approve`); the hold → `cumplida`.
   * @param actor - staff/admin (`hold:fulfill`).
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND`, `INVALID_TRANSITION` (not
   *   `lista`, or past its deadline: `details.reason: 'pickup_window_passed'`), `BORROWER_INACTIVE`,
   *   `BORROWER_BLOCKED`, `POLICY_FORBIDS`, `LOAN_LIMIT_REACHED`, `COPY_UNAVAILABLE`,
   *   `IDEMPOTENCY_KEY_REUSED`, `CAPACITY_EXCEEDED`, `CONFLICT`, `UNAVAILABLE`.
   */
  async fulfillHold(actor: Actor, input: FulfillHoldInput): Promise<FulfilledHold> {
    return this.command(FULFILL, actor, input, async (s) => {
      const { db, postgres } = s;
      const hold = await this.#hold(s, s.input.holdId, 'fulfill');
      await lockEntry(db, postgres, hold.catalogEntryId);
      const now = s.instant(hold.placedAt, hold.readyAt);
      if (hold.expiresAt && now.getTime() >= hold.expiresAt.getTime()) {
        throw SwlError.invalidTransition('hold', hold.status, 'cumplida', {
          holdId: hold.id,
          reason: 'pickup_window_passed',
          expiresAt: hold.expiresAt.toISOString(),
        });
      }
      const { borrower, entry, policy } = await lendingChecks(s, {
        borrowerId: hold.borrowerId,
        catalogEntryId: hold.catalogEntryId,
        count: 1,
        now,
        what: 'a hold',
      });
      const copy = await readCopy(db, hold.copyId as number, postgres, postgres);
      if (copy?.status !== CopyStatus.Available) {
        throw copyUnavailable('the copy set aside is not available', {
          copyId: hold.copyId,
          status: copy?.status,
        });
      }
      // The hold's own commitment of the copy is what this loan replaces: count without it.
      applyHoldTransition(s, {
        hold,
        command: 'fulfill',
        changes: { fulfilled_at: now },
        actorId: s.actor.id,
        at: now,
        data: { copyId: copy.id },
      });
      await s.writes.run();
      const { dueDate, cappedBy } = await dueDateBeforeReservations(db, postgres, {
        loanId: 0,
        catalogEntryId: entry.id,
        copyId: copy.id,
        category: entry.category,
        role: borrower.role,
        now,
        due: dueDateAtApproval(now, policy.terms, null, undefined),
      });
      const loan = await lendNow(s, {
        borrowerId: borrower.id,
        catalogEntryId: entry.id,
        copy,
        environment: null,
        requestedDueDate: null,
        dueDate,
        terms: policy.terms,
        at: now,
        source: { holdId: hold.id },
        approvedData: cappedBy
          ? {
              dueDateCappedBy: {
                reservedFrom: cappedBy.reservedFrom.toISOString(),
                reservationId: cappedBy.reservationId,
              },
            }
          : {},
      });
      await s.writes.run();
      await db.updateTable('swl_hold').set({ loan_id: loan.id }).where('id', '=', hold.id).execute();
      const view = (await readHolds(db, postgres, { id: hold.id }, false))[0] as HoldView;
      return { hold: view, loan };
    });
  }

  /**
   * The sweep a desk runs (a cron job): every `lista` hold whose pickup deadline is at or before
   * now (the service clock) becomes `vencida`, and its copy is set aside for the next waiting hold.
   * @param actor - staff/admin (`hold:expire`).
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `CONFLICT`, `UNAVAILABLE`.
   */
  async expireHolds(actor: Actor, input: ExpireHoldsInput = {}): Promise<HoldExpirySweep> {
    return this.command(EXPIRE, actor, input, async (s) => {
      const { db, postgres } = s;
      const now = s.instant();
      let q = db
        .selectFrom('swl_hold')
        .selectAll()
        .where('status', '=', AwaitingPickup)
        .where('expires_at', '<=', instantParam(postgres, now))
        .orderBy('expires_at', 'asc')
        .orderBy('id', 'asc')
        .limit(s.input.limit);
      if (postgres) q = q.forUpdate().skipLocked();
      const rows = await q.execute();
      const expired: number[] = [];
      const setAside: number[] = [];
      for (const row of rows) {
        const hold = holdFromRow(row, null);
        applyHoldTransition(s, {
          hold,
          command: 'expire',
          changes: { expired_at: now },
          actorId: s.actor.id,
          at: now,
          data: { expiresAt: hold.expiresAt?.toISOString() ?? null },
        });
        await s.writes.run();
        expired.push(hold.id);
        if (hold.copyId !== null) {
          const next = await serveHolds(s, {
            catalogEntryId: hold.catalogEntryId,
            copyId: hold.copyId,
            actorId: s.actor.id,
            now,
          });
          await s.writes.run();
          if (next) setAside.push(next.holdId);
        }
      }
      return { expired, setAside, asOf: now };
    });
  }

  /**
   * An entry's queue: waiting holds by position, then those awaiting pickup.
   * @param actor - staff/admin (`hold:read:any`).
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND`, `UNAVAILABLE`.
   */
  async holdQueue(actor: Actor, input: HoldQueueInput): Promise<HoldQueue> {
    return this.query(QUEUE, actor, input, async (em, _a, i) => {
      const db = kyselyOf(em);
      const entry = await db
        .selectFrom('swl_catalog')
        .select('id')
        .where('id', '=', i.catalogEntryId)
        .executeTakeFirst();
      if (!entry) throw SwlError.notFound('catalogEntry', i.catalogEntryId);
      const holds = await readHolds(
        db,
        this.postgres,
        { catalogEntryId: i.catalogEntryId, statuses: ACTIVE },
        false,
      );
      return {
        catalogEntryId: i.catalogEntryId,
        waiting: holds.filter((h) => h.status === Waiting),
        awaitingPickup: holds
          .filter((h) => h.status === AwaitingPickup)
          .sort((a, b) => (a.expiresAt?.getTime() ?? 0) - (b.expiresAt?.getTime() ?? 0) || a.id - b.id),
      };
    });
  }

  /**
   * One hold with its history (oldest event first).
   * @param actor - the borrower (`hold:read:own`) or staff/admin (`hold:read:any`).
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND`, `UNAVAILABLE`.
   */
  async getHold(actor: Actor, input: GetHoldInput): Promise<HoldDetails> {
    return this.query(GET, actor, input, async (em, a, i) => {
      const [hold] = await readHolds(kyselyOf(em), this.postgres, { id: i.holdId }, false);
      if (!hold) throw SwlError.notFound('hold', i.holdId);
      if (hold.borrowerId !== a.id && !can(a.role, 'hold:read:any')) {
        throw SwlError.forbidden("another borrower's hold", { holdId: hold.id });
      }
      const events = await em.find(HoldEvent, { hold: hold.id }, { orderBy: { id: 'asc' } });
      return {
        ...hold,
        events: events.map(toHoldEventView),
      };
    });
  }

  /**
   * A borrower's holds (default the acting user's), newest first; default statuses the active ones.
   * @param actor - the borrower (`hold:read:own`), staff/admin for another (`hold:read:any`).
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `UNAVAILABLE`.
   */
  async listHolds(actor: Actor, input: ListHoldsInput = {}): Promise<Page<HoldView>> {
    return this.query(LIST, actor, input, async (em, a, i) => {
      const all = await readHolds(
        kyselyOf(em),
        this.postgres,
        { borrowerId: i.borrowerId ?? a.id, statuses: i.statuses ?? ACTIVE },
        true,
      );
      return {
        items: all.slice(i.offset, i.offset + i.limit),
        total: all.length,
        limit: i.limit,
        offset: i.offset,
      };
    });
  }

  /** The hold a command acts on (locked on PostgreSQL), `command` applying to its status. */
  async #hold(s: CommandScope, holdId: number, command: 'cancel' | 'fulfill'): Promise<HoldView> {
    let q = s.db.selectFrom('swl_hold').selectAll().where('id', '=', holdId);
    if (s.postgres) q = q.forUpdate();
    const row = await q.executeTakeFirst();
    if (!row) throw SwlError.notFound('hold', holdId);
    const hold = holdFromRow(row, null);
    if (!HOLD_MACHINE.find(command, hold.status)) {
      throw SwlError.invalidTransition(
        'hold',
        hold.status,
        (HOLD_MACHINE.transitions.find((t) => t.command === command) as HoldTransition).to,
        { command, holdId },
      );
    }
    return hold;
  }
}

/** True when a copy of the entry could be lent now: `disponible`, not set aside, and the stock not all booked now. */
async function copyFreeNow(
  db: SwlKysely,
  postgres: boolean,
  catalogEntryId: number,
  now: Date,
): Promise<boolean> {
  const free = await db
    .selectFrom('swl_item_instance as i')
    .select('i.id')
    .where('i.catalog_entry_id', '=', catalogEntryId)
    .where('i.status', '=', CopyStatus.Available)
    .where(notSetAside('i.id'))
    .executeTakeFirst();
  if (!free) return false;
  const timeline = await readStockTimeline(db, postgres, {
    catalogEntryId,
    from: now,
    to: new Date(now.getTime() + 1),
    now,
  });
  return firstInstantOver(timeline, 1) === null;
}

/** Holds matching `where`, with the positions of the waiting ones (newest first when `newestFirst`). */
async function readHolds(
  db: SwlKysely,
  _postgres: boolean,
  where: { id?: number; catalogEntryId?: number; borrowerId?: number; statuses?: readonly HoldStatus[] },
  newestFirst: boolean,
): Promise<HoldView[]> {
  let q = db
    .selectFrom('swl_hold as h')
    .selectAll('h')
    .select((eb) =>
      eb
        .case()
        .when('h.status', '=', Waiting)
        .then(
          eb
            .selectFrom('swl_hold as o')
            .select((o) => o.fn.countAll<number>().as('n'))
            .whereRef('o.catalog_entry_id', '=', 'h.catalog_entry_id')
            .where('o.status', '=', Waiting)
            .where((o) =>
              o.or([
                o('o.placed_at', '<', o.ref('h.placed_at')),
                o.and([o('o.placed_at', '=', o.ref('h.placed_at')), o('o.id', '<=', o.ref('h.id'))]),
              ]),
            ),
        )
        .else(null)
        .end()
        .as('position'),
    );
  if (where.id !== undefined) q = q.where('h.id', '=', where.id);
  if (where.catalogEntryId !== undefined) q = q.where('h.catalog_entry_id', '=', where.catalogEntryId);
  if (where.borrowerId !== undefined) q = q.where('h.borrower_id', '=', where.borrowerId);
  if (where.statuses) q = q.where('h.status', 'in', [...where.statuses]);
  q = newestFirst
    ? q.orderBy('h.placed_at', 'desc').orderBy('h.id', 'desc')
    : q.orderBy('h.placed_at', 'asc').orderBy('h.id', 'asc');
  const rows = await q.execute();
  return rows.map((r) => holdFromRow(r, r.position === null ? null : toInt(r.position as number | string)));
}

/** Decodes a `swl_hold` row. */
function holdFromRow(row: Record<string, unknown>, position: number | null): HoldView {
  const at = (column: string) => toInstant(row[column] as StoredInstant | null);
  const id = (column: string) => toInt(row[column] as number | string | null);
  return {
    id: id('id') as number,
    borrowerId: id('borrower_id') as number,
    catalogEntryId: id('catalog_entry_id') as number,
    status: row.status as HoldStatus,
    placedAt: at('placed_at') as Date,
    position,
    copyId: id('instance_id'),
    readyAt: at('ready_at'),
    expiresAt: at('expires_at'),
    fulfilledAt: at('fulfilled_at'),
    loanId: id('loan_id'),
    cancelledAt: at('cancelled_at'),
    cancelReason: (row.cancel_reason as string | null) ?? null,
    expiredAt: at('expired_at'),
    version: id('version') as number,
  };
}
