/**
 * Reservations: bookings of equipment for a date range with no double booking. Source: issue 16.
 *
 * The guarantee — at no instant are more units of an entry committed than it has copies that can
 * be lent — is kept by serializing every command that adds a commitment to an entry: on
 * PostgreSQL each locks the entry's row (`FOR UPDATE`) before it counts (bookings here, loan
 * approvals and renewals in `LoanService`), on SQLite the write lock of `BEGIN IMMEDIATE` does the
 * same. Bookings of a named copy have a last line in the database on PostgreSQL: the exclusion
 * constraint `swl_reservation_copy_no_overlap` (`btree_gist`) refuses two holding bookings of one
 * copy over overlapping ranges whatever the application does.
 *
 * @module
 */
import type { EntityManager } from '@mikro-orm/core';
import { CopyStatus, HOLDING_RESERVATION_STATUSES, type ReservationStatus } from '../domain/vocabulary.ts';
import { Reservation } from '../entities/reservation.entity.ts';
import { ReservationEvent } from '../entities/reservation-event.entity.ts';
import { ReservationPolicy } from '../entities/reservation-policy.entity.ts';
import { SwlError } from '../errors.ts';
import { holdSetAsideOn, notSetAside } from '../holds/serve.ts';
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
  kyselyOf as kyselyOfEm,
  type StoredInstant,
  type SwlKysely,
  toInstant,
  toInt,
} from '../kernel/db.ts';
import { lendingChecks, lendNow } from '../loans/create.ts';
import { type CopyRecord, readCopy, readLendingFacts } from '../loans/loan-queries.ts';
import {
  blockRefusal,
  copyUnavailable,
  inactiveBorrower,
  loanLimitRefusal,
  validationError,
} from '../loans/rules.ts';
import type { LoanView } from '../loans/views.ts';
import { type Actor, assertCan, can } from '../permissions.ts';
import type { Page } from '../validation.ts';
import {
  firstInstantOver,
  lockEntry,
  peakBooked,
  readCopyCommitments,
  readStockTimeline,
  type StockTimeline,
} from './availability.ts';
import {
  AvailabilityInput,
  CancelReservationInput,
  ConfirmReservationInput,
  GetReservationInput,
  ListReservationPoliciesInput,
  ListReservationsInput,
  PickUpReservationInput,
  RecordNoShowsInput,
  ReserveInput,
  UpsertReservationPolicyInput,
} from './schemas.ts';
import {
  applyReservationTransition,
  RESERVATION_MACHINE,
  type ReservationTransition,
  recordReservationEvent,
} from './transitions.ts';
import {
  type Availability,
  type NoShowSweep,
  type PickUpResult,
  type ReservationDetails,
  type ReservationPolicyView,
  type ReservationView,
  toReservationEventView,
} from './views.ts';

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

const RESERVE = defineCommand({
  name: 'reservation.reserve',
  capability: 'reservation:request:own',
  input: ReserveInput,
  authorize: unlessOwn('reservation:request:any'),
});
const CONFIRM = defineCommand({
  name: 'reservation.confirm',
  capability: 'reservation:confirm',
  input: ConfirmReservationInput,
});
const CANCEL = defineCommand({
  name: 'reservation.cancel',
  capability: 'reservation:cancel:own',
  input: CancelReservationInput,
});
const PICK_UP = defineCommand({
  name: 'reservation.pickUp',
  capability: 'reservation:pickup',
  input: PickUpReservationInput,
});
const NO_SHOWS = defineCommand({
  name: 'reservation.recordNoShows',
  capability: 'reservation:expire',
  input: RecordNoShowsInput,
});
const UPSERT_POLICY = defineCommand({
  name: 'reservation.upsertPolicy',
  capability: 'policy:manage',
  input: UpsertReservationPolicyInput,
});
const AVAILABILITY = defineQuery({ capability: 'catalog:read', input: AvailabilityInput });
const GET = defineQuery({ capability: 'reservation:read:own', input: GetReservationInput });
const LIST = defineQuery({
  capability: 'reservation:read:own',
  input: ListReservationsInput,
  authorize: (actor, input) => {
    const other = input.borrowerId !== undefined && input.borrowerId !== actor.id;
    if (other || input.catalogEntryId !== undefined) assertCan(actor, 'reservation:read:any');
  },
});
const LIST_POLICIES = defineQuery({ capability: 'policy:read', input: ListReservationPoliciesInput });

/** A reservation row as a command reads it. */
interface ReservationRecord {
  view: ReservationView;
  /** Instants a new transition may not precede. */
  instants: Date[];
}

/**
 * Bookings of equipment for a date range, their confirmation, pickup (they become loans),
 * cancellation and no-shows, the availability calendar of an entry, and the booking policies.
 *
 * Every command follows the package's pipeline (zod input, capability, one transaction joining the
 * host's, idempotency key, typed errors, events after commit, the injected clock). The rules:
 *
 * - **Who:** a borrower books for themself (`reservation:request:own`), staff for anyone
 *   (`reservation:request:any`). A missing `swl_reservation_policy` row for the entry's category
 *   and the borrower's role — or a missing lending policy — means `POLICY_FORBIDS`.
 * - **When:** `[startsAt, endsAt)`, half-open, UTC. `startsAt` not in the past, at most
 *   `maxAdvanceDays` ahead; `endsAt − startsAt` at most `maxDurationMinutes`.
 * - **How much:** at every instant of `[startsAt, endsAt + bufferMinutes)` the units already
 *   committed (holding bookings, approved loans — an overdue loan for ever) plus `quantity` stay
 *   within the entry's lendable copies (`disponible` or `prestado`); a named copy must also be
 *   free of other bookings and loans over that range. Else `COPY_UNAVAILABLE`
 *   (`details.reason: 'booked'`, with the first instant that is full).
 * - **Touching is not overlapping:** `[8:00, 12:00)` and `[12:00, 14:00)` both fit one copy
 *   unless a buffer extends the first.
 */
export class ReservationService extends ServiceBase {
  /**
   * @param em - the caller's EntityManager (a request-scoped fork, or that of an open host transaction).
   * @param options - clock and event bus.
   */
  constructor(em: EntityManager, options: ServiceOptions = {}) {
    super(em, options);
  }

  /**
   * Books `quantity` copies of an entry, or one named copy, for `[startsAt, endsAt)`. The booking
   * is `solicitada` when its policy requires staff approval, else `confirmada` at once (events
   * `requested`, then `confirmed`). It holds its stock from the moment it is made.
   *
   * @param actor - the borrower (`reservation:request:own`), or staff/admin for another borrower
   *   (`reservation:request:any`).
   * @param input - {@link ReserveInput}.
   * @returns the booking.
   * @throws SwlError `VALIDATION_FAILED` (bad input, `startsAt` in the past), `FORBIDDEN`,
   *   `NOT_FOUND` (borrower, entry, copy), `BORROWER_INACTIVE`, `BORROWER_BLOCKED`,
   *   `POLICY_FORBIDS` (no policy; `details.rule` `maxAdvanceDays` / `maxDurationMinutes`),
   *   `LOAN_LIMIT_REACHED` (quantity above the lending policy's `maxActiveLoans`),
   *   `COPY_UNAVAILABLE` (entry withdrawn, copy not lendable, or the range is booked:
   *   `details.reason: 'booked'`), `IDEMPOTENCY_KEY_REUSED`, `CAPACITY_EXCEEDED`, `CONFLICT`,
   *   `UNAVAILABLE`.
   */
  async reserve(actor: Actor, input: ReserveInput): Promise<ReservationView> {
    return this.command(RESERVE, actor, input, async (s) => {
      const { db, postgres, input: i } = s;
      const borrowerId = i.borrowerId ?? s.actor.id;
      let copy: CopyRecord | undefined;
      if (i.copyId !== undefined) {
        copy = await readCopy(db, i.copyId, postgres, false);
        if (!copy) throw SwlError.notFound('copy', i.copyId);
      }
      const entryId = copy ? copy.catalogEntryId : (i.catalogEntryId as number);
      // Serialize every command that commits stock of this entry (then the copy, in that order).
      if (!(await lockEntry(db, postgres, entryId))) throw SwlError.notFound('catalogEntry', entryId);
      if (copy && postgres) copy = await readCopy(db, copy.id, true, true);
      const now = s.instant();
      const facts = await readLendingFacts(db, borrowerId, entryId, now, postgres);
      const { borrower, entry } = facts;
      if (!borrower) throw SwlError.notFound('user', borrowerId);
      if (!borrower.active) throw inactiveBorrower(borrower.id);
      if (!entry) throw SwlError.notFound('catalogEntry', entryId);
      if (entry.withdrawnAt) {
        throw copyUnavailable(`"${entry.titleOrName}" was withdrawn from circulation`, {
          catalogEntryId: entry.id,
        });
      }
      if (copy && copy.status !== CopyStatus.Available && copy.status !== CopyStatus.OnLoan) {
        throw copyUnavailable(`the copy is ${copy.status}`, { copyId: copy.id, status: copy.status });
      }
      const policy = await readPolicy(db, entry.category, borrower.role);
      if (!policy || !facts.policy) {
        throw new SwlError(
          'POLICY_FORBIDS',
          `role ${borrower.role} may not reserve ${entry.category} items`,
          {
            category: entry.category,
            role: borrower.role,
            rule: 'reserve',
          },
        );
      }
      const blocked = blockRefusal(borrower.id, facts.figures);
      if (blocked) throw blocked;
      const limit = loanLimitRefusal(
        borrower.id,
        entry.category,
        i.quantity - 1,
        facts.policy.maxActiveLoans,
      );
      if (limit) throw limit;
      if (i.startsAt.getTime() < now.getTime()) throw validationError('startsAt', 'is in the past');
      if (i.startsAt.getTime() > now.getTime() + policy.maxAdvanceDays * DAY_MS) {
        throw new SwlError('POLICY_FORBIDS', `bookings start at most ${policy.maxAdvanceDays} days ahead`, {
          rule: 'maxAdvanceDays',
          maxAdvanceDays: policy.maxAdvanceDays,
        });
      }
      if (i.endsAt.getTime() - i.startsAt.getTime() > policy.maxDurationMinutes * MINUTE_MS) {
        throw new SwlError('POLICY_FORBIDS', `bookings last at most ${policy.maxDurationMinutes} minutes`, {
          rule: 'maxDurationMinutes',
          maxDurationMinutes: policy.maxDurationMinutes,
        });
      }
      const blocksUntil = new Date(i.endsAt.getTime() + policy.bufferMinutes * MINUTE_MS);
      await assertStockFor(db, postgres, {
        catalogEntryId: entryId,
        copyId: copy?.id ?? null,
        quantity: i.quantity,
        from: i.startsAt,
        to: blocksUntil,
        now,
      });

      const at = instantParam(postgres, now);
      const creation = RESERVATION_MACHINE.find('reserve', null) as ReservationTransition;
      const row = {
        borrower_id: borrower.id,
        catalog_entry_id: entryId,
        instance_id: copy?.id ?? null,
        quantity: i.quantity,
        starts_at: instantParam(postgres, i.startsAt),
        ends_at: instantParam(postgres, i.endsAt),
        blocks_until: instantParam(postgres, blocksUntil),
        buffer_minutes: policy.bufferMinutes,
        pickup_deadline: instantParam(
          postgres,
          new Date(i.startsAt.getTime() + policy.pickupWindowMinutes * MINUTE_MS),
        ),
        status: creation.to,
        environment: i.environment ?? null,
        note: i.note ?? null,
        requested_by_id: s.actor.id,
        version: 1,
        created_at: at,
        updated_at: at,
      };
      const inserted = await db
        .insertInto('swl_reservation')
        .values(row)
        .returning('id')
        .executeTakeFirstOrThrow();
      const id = toInt(inserted.id);
      assertRowIds('swl_reservation', [id]);
      const data = {
        catalogEntryId: entryId,
        copyId: copy?.id ?? null,
        quantity: i.quantity,
        startsAt: i.startsAt.toISOString(),
        endsAt: i.endsAt.toISOString(),
        blocksUntil: blocksUntil.toISOString(),
      };
      recordReservationEvent(s, {
        reservationId: id,
        transition: creation,
        actorId: s.actor.id,
        at: now,
        data,
      });
      let view = reservationFromRow({ ...row, id });
      if (!policy.approvalRequired) {
        const version = applyReservationTransition(s, {
          reservation: view,
          command: 'confirm',
          changes: { confirmed_at: now, confirmed_by_id: s.actor.id },
          actorId: s.actor.id,
          at: now,
          data: { automatic: true },
        });
        view = { ...view, status: 'confirmada', confirmedAt: now, version };
      }
      await s.writes.run();
      return view;
    });
  }

  /**
   * Confirms a `solicitada` booking (→ `confirmada`).
   * @param actor - staff/admin (`reservation:confirm`).
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND`, `INVALID_TRANSITION`,
   *   `IDEMPOTENCY_KEY_REUSED`, `CAPACITY_EXCEEDED`, `CONFLICT`, `UNAVAILABLE`.
   */
  async confirm(actor: Actor, input: ConfirmReservationInput): Promise<ReservationView> {
    return this.command(CONFIRM, actor, input, async (s) => {
      const { view: r, instants } = await this.#reservation(s, s.input.reservationId, 'confirm');
      const now = s.instant(...instants);
      const version = applyReservationTransition(s, {
        reservation: r,
        command: 'confirm',
        changes: { confirmed_at: now, confirmed_by_id: s.actor.id },
        actorId: s.actor.id,
        at: now,
        data: {},
      });
      await s.writes.run();
      return { ...r, status: 'confirmada', confirmedAt: now, version };
    });
  }

  /**
   * Cancels a holding booking (`solicitada` or `confirmada` → `cancelada`); its stock is free at once.
   * @param actor - the borrower (`reservation:cancel:own`), or staff/admin for anyone's (`reservation:cancel:any`).
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN` (another borrower's booking), `NOT_FOUND`,
   *   `INVALID_TRANSITION`, `IDEMPOTENCY_KEY_REUSED`, `CAPACITY_EXCEEDED`, `CONFLICT`, `UNAVAILABLE`.
   */
  async cancel(actor: Actor, input: CancelReservationInput): Promise<ReservationView> {
    return this.command(CANCEL, actor, input, async (s) => {
      const { view: r, instants } = await this.#reservation(s, s.input.reservationId, 'cancel', true);
      const now = s.instant(...instants);
      const reason = s.input.reason ?? null;
      const version = applyReservationTransition(s, {
        reservation: r,
        command: 'cancel',
        changes: { cancelled_at: now, cancelled_by_id: s.actor.id, cancel_reason: reason },
        actorId: s.actor.id,
        at: now,
        data: { reason },
      });
      await s.writes.run();
      return { ...r, status: 'cancelada', cancelledAt: now, cancelReason: reason, version };
    });
  }

  /**
   * Hands out a confirmed booking before its pickup deadline: makes one loan per booked copy
   * (`aprobado` at once — events `requested` and `approved`, the copy `prestado` — under the
   * lending policy's terms, due at the booking's `endsAt`), and the booking becomes `recogida`.
   * The copies: the named one, else `copyIds` (copies of the entry, as many as booked), else the
   * first available copies neither set aside for a hold nor held by another booking of a named
   * copy; a copy set aside for a hold is refused (`COPY_UNAVAILABLE`, `details.reason: 'held'`). Picked up early, the
   * loans also commit `[now, startsAt)`, which must fit like a booking.
   *
   * @param actor - staff/admin (`reservation:pickup`).
   * @returns the booking and its loans.
   * @throws SwlError `VALIDATION_FAILED` (wrong number of `copyIds`, a copy of another entry),
   *   `FORBIDDEN`, `NOT_FOUND`, `INVALID_TRANSITION` (not `confirmada`; past the deadline:
   *   `details.reason: 'pickup_window_passed'`), `BORROWER_INACTIVE`, `BORROWER_BLOCKED`,
   *   `POLICY_FORBIDS`, `LOAN_LIMIT_REACHED`, `COPY_UNAVAILABLE`, `IDEMPOTENCY_KEY_REUSED`,
   *   `CAPACITY_EXCEEDED`, `CONFLICT`, `UNAVAILABLE`.
   */
  async pickUp(actor: Actor, input: PickUpReservationInput): Promise<PickUpResult> {
    return this.command(PICK_UP, actor, input, async (s) => {
      const { db, postgres, input: i } = s;
      const { view: r, instants } = await this.#reservation(s, i.reservationId, 'pickUp');
      await lockEntry(db, postgres, r.catalogEntryId);
      const now = s.instant(...instants);
      if (now.getTime() >= r.pickupDeadline.getTime()) {
        throw SwlError.invalidTransition('reservation', r.status, 'recogida', {
          reservationId: r.id,
          reason: 'pickup_window_passed',
          pickupDeadline: r.pickupDeadline.toISOString(),
        });
      }
      const { policy } = await lendingChecks(s, {
        borrowerId: r.borrowerId,
        catalogEntryId: r.catalogEntryId,
        count: r.quantity,
        now,
        what: 'a booking',
      });
      if (now.getTime() < r.startsAt.getTime()) {
        // Early: the loans also hold [now, startsAt), which must fit beside everything else.
        await assertStockFor(db, postgres, {
          catalogEntryId: r.catalogEntryId,
          copyId: r.copyId,
          quantity: r.quantity,
          from: now,
          to: r.blocksUntil,
          now,
          excludeReservationId: r.id,
        });
      }
      const copies = await this.#copiesForPickup(s, r, i.copyIds, now);
      const loans: LoanView[] = [];
      for (const copy of copies) {
        loans.push(
          await lendNow(s, {
            borrowerId: r.borrowerId,
            catalogEntryId: r.catalogEntryId,
            copy,
            environment: r.environment,
            requestedDueDate: r.endsAt,
            dueDate: r.endsAt,
            terms: policy.terms,
            at: now,
            source: { reservationId: r.id },
          }),
        );
      }
      const loanIds = loans.map((l) => l.id);
      const version = applyReservationTransition(s, {
        reservation: r,
        command: 'pickUp',
        changes: { picked_up_at: now, picked_up_by_id: s.actor.id, loan_ids: JSON.stringify(loanIds) },
        actorId: s.actor.id,
        at: now,
        data: { loanIds, copyIds: copies.map((c) => c.id) },
      });
      await s.writes.run();
      return { reservation: { ...r, status: 'recogida', pickedUpAt: now, loanIds, version }, loans };
    });
  }

  /**
   * The sweep a desk runs (a cron job, `swl`): every holding booking whose pickup deadline is at
   * or before now (the service clock) becomes `no_recogida` (event `no_show`, the acting user
   * recorded as its actor), releasing its stock. Oldest deadline first, at most `limit` per call.
   * @param actor - staff/admin (`reservation:expire`).
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `CONFLICT`, `UNAVAILABLE`.
   */
  async recordNoShows(actor: Actor, input: RecordNoShowsInput = {}): Promise<NoShowSweep> {
    return this.command(NO_SHOWS, actor, input, async (s) => {
      const { db, postgres } = s;
      const now = s.instant();
      let q = db
        .selectFrom('swl_reservation')
        .selectAll()
        .where('status', 'in', [...HOLDING_RESERVATION_STATUSES])
        .where('pickup_deadline', '<=', instantParam(postgres, now))
        .orderBy('pickup_deadline', 'asc')
        .orderBy('id', 'asc')
        .limit(s.input.limit);
      if (postgres) q = q.forUpdate().skipLocked();
      const rows = await q.execute();
      const ids: number[] = [];
      for (const row of rows) {
        const r = reservationFromRow(row);
        applyReservationTransition(s, {
          reservation: r,
          command: 'noShow',
          changes: { no_show_at: now },
          actorId: s.actor.id,
          at: now,
          data: { pickupDeadline: r.pickupDeadline.toISOString() },
        });
        ids.push(r.id);
      }
      await s.writes.run();
      return { reservationIds: ids, asOf: now };
    });
  }

  /**
   * The free quantity of an entry over `[from, to)`: consecutive intervals, one per change,
   * computed by the database in one statement — what a booking calendar draws. `minFree` is what
   * one more booking of the whole range could take (before its buffer).
   * @param actor - any role (`catalog:read`).
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND`, `UNAVAILABLE`.
   */
  async availability(actor: Actor, input: AvailabilityInput): Promise<Availability> {
    return this.query(AVAILABILITY, actor, input, async (em, _a, i) => {
      const db = kyselyOfEm(em);
      const exists = await db
        .selectFrom('swl_catalog')
        .select('id')
        .where('id', '=', i.catalogEntryId)
        .executeTakeFirst();
      if (!exists) throw SwlError.notFound('catalogEntry', i.catalogEntryId);
      const timeline = await readStockTimeline(db, this.postgres, {
        catalogEntryId: i.catalogEntryId,
        from: i.from,
        to: i.to,
        now: this.clock.now(),
      });
      return availabilityOf(i.catalogEntryId, i.from, i.to, timeline);
    });
  }

  /**
   * One booking with its history (oldest event first).
   * @param actor - the borrower (`reservation:read:own`) or staff/admin (`reservation:read:any`).
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND`, `UNAVAILABLE`.
   */
  async getReservation(actor: Actor, input: GetReservationInput): Promise<ReservationDetails> {
    return this.query(GET, actor, input, async (em, a, i) => {
      const row = await kyselyOfEm(em)
        .selectFrom('swl_reservation')
        .selectAll()
        .where('id', '=', i.reservationId)
        .executeTakeFirst();
      if (!row) throw SwlError.notFound('reservation', i.reservationId);
      const view = reservationFromRow(row);
      if (view.borrowerId !== a.id && !can(a.role, 'reservation:read:any')) {
        throw SwlError.forbidden("another borrower's reservation", { reservationId: view.id });
      }
      const events = await em.find(ReservationEvent, { reservation: view.id }, { orderBy: { id: 'asc' } });
      return {
        ...view,
        events: events.map(toReservationEventView),
      };
    });
  }

  /**
   * Bookings, earliest start first: a borrower's (default the acting user's), or — staff — an
   * entry's. Default statuses: the holding ones (`solicitada`, `confirmada`).
   * @param actor - the borrower (`reservation:read:own`); staff/admin for another borrower or an
   *   entry (`reservation:read:any`).
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `UNAVAILABLE`.
   */
  async listReservations(actor: Actor, input: ListReservationsInput = {}): Promise<Page<ReservationView>> {
    return this.query(LIST, actor, input, async (em, a, i) => {
      const where = {
        status: { $in: i.statuses ?? [...HOLDING_RESERVATION_STATUSES] },
        ...(i.catalogEntryId !== undefined ? { catalogEntry: i.catalogEntryId } : {}),
        ...(i.catalogEntryId === undefined || i.borrowerId !== undefined
          ? { borrower: i.borrowerId ?? a.id }
          : {}),
      };
      const [items, total] = await em.findAndCount(Reservation, where, {
        orderBy: { startsAt: 'asc', id: 'asc' },
        limit: i.limit,
        offset: i.offset,
      });
      return { items: items.map(reservationFromEntity), total, limit: i.limit, offset: i.offset };
    });
  }

  /**
   * Creates or replaces the booking rules of one category × role.
   * @param actor - admin (`policy:manage`).
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `CONFLICT`, `UNAVAILABLE`.
   */
  async upsertPolicy(actor: Actor, input: UpsertReservationPolicyInput): Promise<ReservationPolicyView> {
    return this.command(UPSERT_POLICY, actor, input, async (s) => {
      const { category, role, ...rule } = s.input;
      const existing = await s.em.findOne(ReservationPolicy, { category, role });
      const policy = existing ?? s.em.create(ReservationPolicy, { category, role, ...rule });
      if (existing) s.em.assign(existing, rule);
      await s.em.flush();
      return policyView(policy);
    });
  }

  /**
   * The booking rules (all, or of one category/role), by category then role.
   * @param actor - any role (`policy:read`).
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `UNAVAILABLE`.
   */
  async listPolicies(
    actor: Actor,
    input: ListReservationPoliciesInput = {},
  ): Promise<ReservationPolicyView[]> {
    return this.query(LIST_POLICIES, actor, input, async (em, _a, i) => {
      const rows = await em.find(
        ReservationPolicy,
        { ...(i.category ? { category: i.category } : {}), ...(i.role ? { role: i.role } : {}) },
        { orderBy: { category: 'asc', role: 'asc' } },
      );
      return rows.map(policyView);
    });
  }

  /** The booking a command acts on (locked on PostgreSQL); own unless `reservation:cancel:any`-like rights. */
  async #reservation(
    s: CommandScope,
    reservationId: number,
    command: 'confirm' | 'cancel' | 'pickUp',
    ownOrAny = false,
  ): Promise<ReservationRecord> {
    let q = s.db.selectFrom('swl_reservation').selectAll().where('id', '=', reservationId);
    if (s.postgres) q = q.forUpdate();
    const row = await q.executeTakeFirst();
    if (!row) throw SwlError.notFound('reservation', reservationId);
    const view = reservationFromRow(row);
    if (ownOrAny && view.borrowerId !== s.actor.id && !can(s.actor.role, 'reservation:cancel:any')) {
      throw SwlError.forbidden("another borrower's reservation", { reservationId });
    }
    if (!RESERVATION_MACHINE.find(command, view.status)) {
      throw SwlError.invalidTransition(
        'reservation',
        view.status,
        (RESERVATION_MACHINE.transitions.find((t) => t.command === command) as ReservationTransition).to,
        { command, reservationId },
      );
    }
    const instants = [
      toInstant(row.updated_at),
      view.confirmedAt,
      view.cancelledAt,
      view.pickedUpAt,
      view.noShowAt,
    ].filter((d): d is Date => d !== null);
    return { view, instants };
  }

  /** The copies a pickup lends, locked on PostgreSQL, each `disponible`. */
  async #copiesForPickup(
    s: CommandScope,
    r: ReservationView,
    copyIds: number[] | undefined,
    now: Date,
  ): Promise<CopyRecord[]> {
    const { db, postgres } = s;
    let ids: number[];
    if (r.copyId !== null) {
      if (copyIds && (copyIds.length !== 1 || copyIds[0] !== r.copyId)) {
        throw validationError('copyIds', 'the booking is of another copy');
      }
      ids = [r.copyId];
    } else if (copyIds) {
      if (new Set(copyIds).size !== r.quantity || copyIds.length !== r.quantity) {
        throw validationError('copyIds', `name ${r.quantity} different copies`);
      }
      ids = copyIds;
    } else {
      // The first available copies not set aside for a hold nor held over the loans' range by a
      // booking of a named copy.
      const rows = await db
        .selectFrom('swl_item_instance as i')
        .select('i.id')
        .where('i.catalog_entry_id', '=', r.catalogEntryId)
        .where('i.status', '=', CopyStatus.Available)
        .where(notSetAside('i.id'))
        .where(({ not, exists, selectFrom }) =>
          not(
            exists(
              selectFrom('swl_reservation as o')
                .select('o.id')
                .whereRef('o.instance_id', '=', 'i.id')
                .where('o.id', '<>', r.id)
                .where('o.status', 'in', [...HOLDING_RESERVATION_STATUSES])
                .where('o.starts_at', '<', instantParam(postgres, r.blocksUntil))
                .where('o.blocks_until', '>', instantParam(postgres, now)),
            ),
          ),
        )
        .orderBy('i.sequence', 'asc')
        .limit(r.quantity)
        .execute();
      ids = rows.map((row) => toInt(row.id));
      if (ids.length < r.quantity) {
        throw copyUnavailable(`only ${ids.length} of the ${r.quantity} booked copies are available`, {
          reservationId: r.id,
          available: ids.length,
        });
      }
    }
    const copies: CopyRecord[] = [];
    for (const id of ids) {
      const copy = await readCopy(db, id, postgres, postgres);
      if (!copy) throw SwlError.notFound('copy', id);
      if (copy.catalogEntryId !== r.catalogEntryId) {
        throw validationError('copyIds', 'a copy belongs to another catalog entry');
      }
      if (copy.status !== CopyStatus.Available) {
        throw copyUnavailable('the copy is not available', { copyId: copy.id, status: copy.status });
      }
      const holdId = await holdSetAsideOn(s, copy.id);
      if (holdId !== null) {
        throw copyUnavailable('the copy is set aside for a hold', {
          copyId: copy.id,
          reason: 'held',
          holdId,
        });
      }
      if (r.copyId === null) {
        const held = await readCopyCommitments(db, postgres, {
          copyId: copy.id,
          from: now,
          to: r.blocksUntil,
          now,
          excludeReservationId: r.id,
        });
        if (held.length > 0) {
          throw copyUnavailable('the copy is booked by another reservation', {
            copyId: copy.id,
            reservationId: held[0]?.id,
          });
        }
      }
      copies.push(copy);
    }
    return copies;
  }
}

/**
 * Throws `COPY_UNAVAILABLE` (`details.reason: 'booked'`) unless `quantity` more units of the entry
 * — and, for a named copy, that copy — fit over `[from, to)`.
 */
async function assertStockFor(
  db: SwlKysely,
  postgres: boolean,
  q: {
    catalogEntryId: number;
    copyId: number | null;
    quantity: number;
    from: Date;
    to: Date;
    now: Date;
    excludeReservationId?: number;
  },
): Promise<void> {
  if (q.copyId !== null) {
    const held = await readCopyCommitments(db, postgres, { ...q, copyId: q.copyId });
    const first = held[0];
    if (first) {
      const what = { loan: 'on loan', reservation: 'booked', hold: 'set aside for a hold' }[first.kind];
      throw copyUnavailable(`the copy is ${what} over that range`, {
        reason: 'booked',
        copyId: q.copyId,
        [`${first.kind}Id`]: first.id,
        from: first.from.toISOString(),
        until: first.until.toISOString(),
      });
    }
  }
  const timeline = await readStockTimeline(db, postgres, q);
  const full = firstInstantOver(timeline, q.quantity);
  if (full) {
    throw copyUnavailable(`not enough copies are free over that range`, {
      reason: 'booked',
      catalogEntryId: q.catalogEntryId,
      requested: q.quantity,
      capacity: timeline.capacity,
      free: Math.max(0, timeline.capacity - peakBooked(timeline)),
      fullAt: full.toISOString(),
    });
  }
}

/** The booking policy of a category × role, or undefined. */
async function readPolicy(
  db: SwlKysely,
  category: string,
  role: string,
): Promise<
  | {
      maxAdvanceDays: number;
      maxDurationMinutes: number;
      bufferMinutes: number;
      pickupWindowMinutes: number;
      approvalRequired: boolean;
    }
  | undefined
> {
  const row = await db
    .selectFrom('swl_reservation_policy')
    .select([
      'max_advance_days',
      'max_duration_minutes',
      'buffer_minutes',
      'pickup_window_minutes',
      'approval_required',
    ])
    .where('category', '=', category as 'general')
    .where('role', '=', role as 'admin')
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    maxAdvanceDays: toInt(row.max_advance_days),
    maxDurationMinutes: toInt(row.max_duration_minutes),
    bufferMinutes: toInt(row.buffer_minutes),
    pickupWindowMinutes: toInt(row.pickup_window_minutes),
    approvalRequired: row.approval_required === true || row.approval_required === 1,
  };
}

/** Decodes a `swl_reservation` row. @internal */
export function reservationFromRow(row: Record<string, unknown>): ReservationView {
  const at = (column: string) => toInstant(row[column] as StoredInstant | null);
  const id = (column: string) => toInt(row[column] as number | string | null);
  const loanIds = row.loan_ids;
  return {
    id: id('id') as number,
    borrowerId: id('borrower_id') as number,
    catalogEntryId: id('catalog_entry_id') as number,
    copyId: id('instance_id'),
    quantity: id('quantity') as number,
    startsAt: at('starts_at') as Date,
    endsAt: at('ends_at') as Date,
    blocksUntil: at('blocks_until') as Date,
    bufferMinutes: id('buffer_minutes') as number,
    pickupDeadline: at('pickup_deadline') as Date,
    status: row.status as ReservationStatus,
    environment: (row.environment as string | null) ?? null,
    note: (row.note as string | null) ?? null,
    confirmedAt: at('confirmed_at'),
    cancelledAt: at('cancelled_at'),
    cancelReason: (row.cancel_reason as string | null) ?? null,
    pickedUpAt: at('picked_up_at'),
    loanIds: (typeof loanIds === 'string' ? JSON.parse(loanIds) : (loanIds ?? [])) as number[],
    noShowAt: at('no_show_at'),
    version: id('version') as number,
  };
}

function reservationFromEntity(r: Reservation): ReservationView {
  return {
    id: r.id,
    borrowerId: r.borrower.id,
    catalogEntryId: r.catalogEntry.id,
    copyId: r.copy?.id ?? null,
    quantity: r.quantity,
    startsAt: r.startsAt,
    endsAt: r.endsAt,
    blocksUntil: r.blocksUntil,
    bufferMinutes: r.bufferMinutes,
    pickupDeadline: r.pickupDeadline,
    status: r.status,
    environment: r.environment ?? null,
    note: r.note ?? null,
    confirmedAt: r.confirmedAt ?? null,
    cancelledAt: r.cancelledAt ?? null,
    cancelReason: r.cancelReason ?? null,
    pickedUpAt: r.pickedUpAt ?? null,
    loanIds: r.loanIds ?? [],
    noShowAt: r.noShowAt ?? null,
    version: r.version,
  };
}

function policyView(p: ReservationPolicy): ReservationPolicyView {
  return {
    id: p.id,
    category: p.category,
    role: p.role,
    maxAdvanceDays: p.maxAdvanceDays,
    maxDurationMinutes: p.maxDurationMinutes,
    bufferMinutes: p.bufferMinutes,
    pickupWindowMinutes: p.pickupWindowMinutes,
    approvalRequired: p.approvalRequired,
    version: p.version,
  };
}

/**
 * The timeline as consecutive free-quantity intervals over `[from, to)`; shared with
 * `ReportService.availability` (issue 17). @internal
 */
export function availabilityOf(
  catalogEntryId: number,
  from: Date,
  to: Date,
  timeline: StockTimeline,
): Availability {
  const intervals: Availability['intervals'] = [];
  for (const [k, step] of timeline.steps.entries()) {
    const end = timeline.steps[k + 1]?.at ?? to;
    const free = Math.max(0, timeline.capacity - step.booked);
    const last = intervals.at(-1);
    if (last && last.booked === step.booked) last.to = end;
    else intervals.push({ from: step.at, to: end, booked: step.booked, free });
  }
  const minFree = intervals.reduce((m, x) => Math.min(m, x.free), timeline.capacity);
  return { catalogEntryId, capacity: timeline.capacity, from, to, intervals, minFree };
}
