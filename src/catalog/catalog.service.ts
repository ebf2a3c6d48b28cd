/**
 * The catalog and the inventory: titles/models, their physical copies, search with availability,
 * and the direct operations of the copy state machine. Source: docs/DESIGN.md §2, §4, §6;
 * `docs/legacy/000_266b31aaf8610e4d.txt` (Catalog and ItemInstance tables, copy codes
 * `XXX-{catalog_id}-{number}`).
 *
 * @module
 */
import { type EntityManager, raw } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/sql';
import { nowFor } from '../db/clock-context.ts';
import { CopyStatus } from '../domain/vocabulary.ts';
import { CatalogEntry } from '../entities/catalog-entry.entity.ts';
import { currentTransactionId } from '../entities/common.ts';
import { CopyEvent } from '../entities/copy-event.entity.ts';
import { ItemInstance } from '../entities/item-instance.entity.ts';
import { SwlError } from '../errors.ts';
import type { CopyChangeEvent } from '../events.ts';
import { releaseSetAside, serveHolds } from '../holds/serve.ts';
import { assertRowIds } from '../internal/id-ceiling.ts';
import {
  type CommandScope,
  type CommandSpec,
  defineCommand,
  defineQuery,
  lockFor,
  ServiceBase,
  type ServiceOptions,
} from '../internal/service-base.ts';
import { LIKE_ESCAPE, likeContains, searchTerms } from '../internal/text.ts';
import { type Actor, assertCan } from '../permissions.ts';
import { lockEntry } from '../reservations/availability.ts';
import { MAX_ID, type Page } from '../validation.ts';
import { catalogSearchText, codePrefix, copyCode, prefixOfCode } from './codes.ts';
import { countPendingRequests, readCopyView, readEntryCopyViews } from './copy-queries.ts';
import {
  applyCopyTransition,
  COPY_MACHINE,
  COPY_OPERATIONS,
  type CopyOperation,
  type CopyTransition,
} from './copy-transitions.ts';
import {
  AddCopiesInput,
  ChangeCopyStatusInput,
  CopyHistoryInput,
  CreateCatalogEntryInput,
  GetCatalogEntryInput,
  GetCopyByCodeInput,
  ListCopiesInput,
  SearchCatalogInput,
  UpdateCatalogEntryInput,
  WithdrawEntryInput,
} from './schemas.ts';
import {
  type AvailabilityCounts,
  addToCounts,
  type CopyDetailView,
  type CopyEventView,
  type CopyView,
  type EntryView,
  type EntryWithCopiesView,
  NO_COPIES,
  toCopyEventView,
  toCopyView,
  toEntrySummaryView,
  toEntryView,
  toMovedCopyView,
} from './views.ts';

/** The creation row of the copy machine: the status and event type of every new copy. */
const CREATE: CopyTransition = creationRow();

function creationRow(): CopyTransition {
  const row = COPY_MACHINE.find('create', null);
  if (!row) throw new Error('the copy machine has no creation row');
  return row;
}

const CREATE_ENTRY = defineCommand({
  name: 'catalog.createEntry',
  capability: 'catalog:manage',
  input: CreateCatalogEntryInput,
  authorize: (actor, input) => {
    if (input.copies > 0) assertCan(actor, 'inventory:manage');
  },
});
const ADD_COPIES = defineCommand({
  name: 'catalog.addCopies',
  capability: 'inventory:manage',
  input: AddCopiesInput,
});
const UPDATE_ENTRY = defineCommand({
  name: 'catalog.updateEntry',
  capability: 'catalog:manage',
  input: UpdateCatalogEntryInput,
});
const WITHDRAW_ENTRY = defineCommand({
  name: 'catalog.withdrawEntry',
  capability: 'catalog:manage',
  input: WithdrawEntryInput,
  authorize: (actor) => assertCan(actor, 'inventory:manage'),
});

/** One command per direct copy operation; `withdraw` keeps its idempotency name `catalog.withdraw`. */
const COPY_COMMANDS: Readonly<Record<CopyOperation, CommandSpec<typeof ChangeCopyStatusInput>>> = {
  sendToMaintenance: copyCommand('sendToMaintenance'),
  repair: copyCommand('repair'),
  markLost: copyCommand('markLost'),
  markFound: copyCommand('markFound'),
  withdraw: copyCommand('withdraw'),
};

function copyCommand(operation: CopyOperation): CommandSpec<typeof ChangeCopyStatusInput> {
  return defineCommand({
    name: `catalog.${operation}`,
    capability: 'inventory:manage',
    input: ChangeCopyStatusInput,
  });
}

/** Copies whose withdrawal `withdrawEntry` sends in one write batch (≈ 14 bind parameters each). */
const WITHDRAW_SLICE = 1000;

const SEARCH = defineQuery({ capability: 'catalog:read', input: SearchCatalogInput });
const GET_ENTRY = defineQuery({ capability: 'catalog:read', input: GetCatalogEntryInput });
const LIST_COPIES = defineQuery({ capability: 'catalog:read', input: ListCopiesInput });
const GET_COPY_BY_CODE = defineQuery({ capability: 'catalog:read', input: GetCopyByCodeInput });
const COPY_HISTORY = defineQuery({ capability: 'inventory:manage', input: CopyHistoryInput });

/**
 * Loads and (PostgreSQL) locks a catalog entry that is still in circulation.
 * @throws SwlError `NOT_FOUND`; `INVALID_TRANSITION` with `details.reason` when it was withdrawn.
 */
async function lockedEntryInCirculation(
  em: EntityManager,
  postgres: boolean,
  catalogEntryId: number,
  reason: 'withdrawn' | 'already_withdrawn',
): Promise<CatalogEntry> {
  const entry = await em.findOne(CatalogEntry, catalogEntryId, lockFor(postgres));
  if (!entry) throw SwlError.notFound('catalogEntry', catalogEntryId);
  if (entry.withdrawnAt) {
    throw SwlError.invalidTransition('catalogEntry', 'withdrawn', 'withdrawn', { catalogEntryId, reason });
  }
  return entry;
}

function sql(em: EntityManager): SqlEntityManager {
  return em as unknown as SqlEntityManager;
}

/**
 * Availability counts per entry, in one grouped query (`group by catalog_entry_id, status`).
 * @internal
 */
export async function availabilityCounts(
  em: EntityManager,
  entryIds: readonly number[],
): Promise<Map<number, AvailabilityCounts>> {
  const result = new Map<number, AvailabilityCounts>();
  if (entryIds.length === 0) return result;
  const rows = await sql(em)
    .createQueryBuilder(ItemInstance, 'i')
    .select(['i.catalogEntry', 'i.status', raw('count(*) as copies')])
    .where({ catalogEntry: { $in: [...entryIds] } })
    .groupBy(['i.catalogEntry', 'i.status'])
    .execute<{ catalogEntry: number | string; status: CopyStatus; copies: number | string }[]>('all');
  for (const row of rows) {
    const id = Number(row.catalogEntry);
    const counts = result.get(id) ?? { ...NO_COPIES };
    addToCounts(counts, row.status, Number(row.copies));
    result.set(id, counts);
  }
  return result;
}

/**
 * Catalog entries (titles and equipment models), their copies, search with availability, and
 * the direct staff operations on copies (docs/DESIGN.md §4).
 *
 * Every method takes the acting user first (`{ id, role }`, as the host authenticated it),
 * validates its input with the exported zod schema and checks the role's capability before
 * touching the database (`VALIDATION_FAILED`, `FORBIDDEN`), then loads the acting user and refuses
 * an unknown, inactive or re-roled one (`FORBIDDEN`). Commands run atomically in
 * `em.transactional()` on the EntityManager given to the constructor (joining a host transaction
 * as a savepoint). Every copy status change goes through `applyCopyTransition` (the copy state
 * machine, `copy-transitions.ts`): it is checked against `COPY_TRANSITIONS` (`INVALID_TRANSITION`),
 * written as a version-checked update of the copy (a concurrent change fails with `CONFLICT`) with
 * its `CopyEvent` row in the same transaction, and published to the event bus after the outermost
 * commit. Instants come from the injected clock. Only {@link SwlError} is thrown; driver errors
 * are translated (`DUPLICATE`, `CONFLICT`, `UNAVAILABLE`, `INTERNAL`).
 *
 * Capabilities: reads `catalog:read` (every role); entry changes `catalog:manage`; copies and
 * their status `inventory:manage` (staff, admin).
 *
 * @example
 * ```ts
 * const catalog = new CatalogService(em, { clock, events });
 * const { entry, copies } = await catalog.createEntry(staff, { titleOrName: 'Mouse USB', category: 'general', copies: 50 });
 * copies[0].code; // 'MOU-1-1'
 * const page = await catalog.search(student, { text: 'mouse' });
 * page.items[0].counts.available; // 50
 * await catalog.sendToMaintenance(staff, { copyId: copies[0].id, note: 'sticky wheel' });
 * ```
 */
export class CatalogService extends ServiceBase {
  /**
   * @param em - the caller's EntityManager (a request-scoped fork, or the one of an open host transaction).
   * @param options - clock and event bus.
   */
  constructor(em: EntityManager, options: ServiceOptions = {}) {
    super(em, options);
  }

  /**
   * Creates a catalog entry and `copies` copies of it, coded
   * `XXX-{entryId}-1` … `XXX-{entryId}-{copies}` where `XXX` = {@link codePrefix}(`titleOrName`).
   * Each copy gets the status and event of the copy machine's `create` row (`disponible`, one
   * `CopyEvent` of type `created` per copy). The copies, then their events, are written with one
   * multi-row insert each.
   *
   * @param actor - acting user; capability `catalog:manage`, plus `inventory:manage` when `copies > 0`.
   * @param input - {@link CreateCatalogEntryInput}.
   * @returns the entry (with counts) and the new copies.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `DUPLICATE` (a code already taken), `IDEMPOTENCY_KEY_REUSED`,
   *   `CAPACITY_EXCEEDED`, `CONFLICT`, `UNAVAILABLE`.
   */
  async createEntry(actor: Actor, input: CreateCatalogEntryInput): Promise<EntryWithCopiesView> {
    return this.command(CREATE_ENTRY, actor, input, async (s) => {
      const { em, input: i } = s;
      const fields = {
        titleOrName: i.titleOrName,
        authorOrBrand: i.authorOrBrand ?? null,
        identifier: i.identifier ?? null,
      };
      const entry = em.create(CatalogEntry, {
        ...fields,
        category: i.category,
        replacementCost: i.replacementCost,
        searchText: catalogSearchText(fields),
      });
      await em.flush(); // the entry id is part of the copy codes
      const copies = await this.#createCopies(
        s,
        entry,
        codePrefix(entry.titleOrName),
        1,
        i.copies,
        i.condition ?? null,
      );
      const counts = (await availabilityCounts(em, [entry.id])).get(entry.id) ?? NO_COPIES;
      return { entry: toEntryView(entry, counts), copies };
    });
  }

  /**
   * Adds `count` copies to an entry, numbered from its highest copy number + 1, with the prefix its
   * copies already carry (for an entry without copies, or whose highest copy's code has no `XXX-`
   * prefix, the {@link codePrefix} of its current name). The
   * entry row is locked on PostgreSQL so concurrent calls number one after the other; the unique
   * (entry, copy number) and code indexes back this up (`DUPLICATE`/`CONFLICT`, retryable by calling
   * again). When holds wait for the entry, the new copies are set aside for them, one per hold in
   * queue order (issue 16, `HoldService`).
   *
   * @param actor - acting user; capability `inventory:manage`.
   * @param input - {@link AddCopiesInput}.
   * @returns the entry (with counts) and the new copies.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND` (entry), `INVALID_TRANSITION` (the entry
   *   was withdrawn, `details.reason: 'withdrawn'`), `DUPLICATE`, `IDEMPOTENCY_KEY_REUSED`, `CAPACITY_EXCEEDED`, `CONFLICT`,
   *   `UNAVAILABLE`.
   */
  async addCopies(actor: Actor, input: AddCopiesInput): Promise<EntryWithCopiesView> {
    return this.command(ADD_COPIES, actor, input, async (s) => {
      const { em, postgres, input: i } = s;
      const entry = await lockedEntryInCirculation(em, postgres, i.catalogEntryId, 'withdrawn');
      const last = await em.findOne(
        ItemInstance,
        { catalogEntry: entry.id },
        { orderBy: { sequence: 'desc' }, fields: ['sequence', 'code'] },
      );
      const prefix = (last && prefixOfCode(last.code)) ?? codePrefix(entry.titleOrName);
      const copies = await this.#createCopies(
        s,
        entry,
        prefix,
        (last?.sequence ?? 0) + 1,
        i.count,
        i.condition ?? null,
      );
      // New copies serve the holds queue too, one copy per waiting hold, in copy order.
      const waiting = await s.db
        .selectFrom('swl_hold')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('catalog_entry_id', '=', entry.id)
        .where('status', '=', 'en_espera')
        .executeTakeFirstOrThrow();
      let toServe = Number(waiting.n);
      for (const copy of copies) {
        if (toServe === 0) break;
        const served = await serveHolds(s, {
          catalogEntryId: entry.id,
          copyId: copy.id,
          actorId: s.actor.id,
          now: s.now,
        });
        await s.writes.run();
        if (served) toServe--;
      }
      const counts = (await availabilityCounts(em, [entry.id])).get(entry.id) ?? NO_COPIES;
      return { entry: toEntryView(entry, counts), copies };
    });
  }

  /**
   * Changes an entry's fields and refreshes its search text. Codes of existing copies do not change.
   *
   * @param actor - acting user; capability `catalog:manage`.
   * @param input - {@link UpdateCatalogEntryInput}.
   * @returns the entry with counts.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND`, `CONFLICT`, `UNAVAILABLE`.
   */
  async updateEntry(actor: Actor, input: UpdateCatalogEntryInput): Promise<EntryView> {
    return this.command(UPDATE_ENTRY, actor, input, async ({ em, postgres, input: i }) => {
      const entry = await em.findOne(CatalogEntry, i.catalogEntryId, lockFor(postgres));
      if (!entry) throw SwlError.notFound('catalogEntry', i.catalogEntryId);
      if (i.titleOrName !== undefined) entry.titleOrName = i.titleOrName;
      if (i.category !== undefined) entry.category = i.category;
      if (i.authorOrBrand !== undefined) entry.authorOrBrand = i.authorOrBrand;
      if (i.identifier !== undefined) entry.identifier = i.identifier;
      if (i.replacementCost !== undefined) entry.replacementCost = i.replacementCost;
      entry.searchText = catalogSearchText(entry);
      await em.flush();
      const counts = (await availabilityCounts(em, [entry.id])).get(entry.id) ?? NO_COPIES;
      return toEntryView(entry, counts);
    });
  }

  /**
   * Searches entries: each word of `text` must occur in the title, author/brand or identifier
   * (partial, case- and accent-insensitive: `"camara"` finds `"Cámara"`; `%`, `_` and quotes are
   * plain characters). Ordered by `titleOrName`, then `id`. Availability counts come from one
   * grouped query for the whole page.
   *
   * @param actor - acting user; capability `catalog:read`.
   * @param input - {@link SearchCatalogInput}.
   * @returns a page of entries with counts, and the total number of matches.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `UNAVAILABLE`.
   */
  async search(actor: Actor, input: SearchCatalogInput = {}): Promise<Page<EntryView>> {
    return this.query(SEARCH, actor, input, async (em, _a, i) => {
      const qb = sql(em).createQueryBuilder(CatalogEntry, 'c').select('*');
      if (i.category) qb.andWhere({ category: i.category });
      for (const term of searchTerms(i.text ?? '')) {
        qb.andWhere(`c.search_text like ? escape '${LIKE_ESCAPE}'`, [likeContains(term)]);
      }
      const [entries, total] = await qb
        .orderBy([{ titleOrName: 'asc' }, { id: 'asc' }])
        .limit(i.limit)
        .offset(i.offset)
        .getResultAndCount();
      const counts = await availabilityCounts(
        em,
        entries.map((e) => e.id),
      );
      return {
        items: entries.map((e) => toEntryView(e, counts.get(e.id) ?? NO_COPIES)),
        total,
        limit: i.limit,
        offset: i.offset,
      };
    });
  }

  /**
   * One entry with its availability counts.
   *
   * @param actor - acting user; capability `catalog:read`.
   * @param input - {@link GetCatalogEntryInput}.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND`, `UNAVAILABLE`.
   */
  async getEntry(actor: Actor, input: GetCatalogEntryInput): Promise<EntryView> {
    return this.query(GET_ENTRY, actor, input, async (em, _a, i) => {
      const entry = await em.findOne(CatalogEntry, i.catalogEntryId);
      if (!entry) throw SwlError.notFound('catalogEntry', i.catalogEntryId);
      const counts = (await availabilityCounts(em, [entry.id])).get(entry.id) ?? NO_COPIES;
      return toEntryView(entry, counts);
    });
  }

  /**
   * An entry's copies by copy number, optionally only those in one `status`.
   *
   * @param actor - acting user; capability `catalog:read`.
   * @param input - {@link ListCopiesInput}.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND` (entry), `UNAVAILABLE`.
   */
  async listCopies(actor: Actor, input: ListCopiesInput): Promise<Page<CopyView>> {
    return this.query(LIST_COPIES, actor, input, async (em, _a, i) => {
      const entry = await em.findOne(CatalogEntry, i.catalogEntryId, { fields: ['id'] });
      if (!entry) throw SwlError.notFound('catalogEntry', i.catalogEntryId);
      const [copies, total] = await em.findAndCount(
        ItemInstance,
        { catalogEntry: entry.id, ...(i.status ? { status: i.status } : {}) },
        { orderBy: { sequence: 'asc' }, limit: i.limit, offset: i.offset },
      );
      return { items: copies.map(toCopyView), total, limit: i.limit, offset: i.offset };
    });
  }

  /**
   * A copy by its code (what the desk scans), with its entry.
   *
   * @param actor - acting user; capability `catalog:read`.
   * @param input - {@link GetCopyByCodeInput}.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND`, `UNAVAILABLE`.
   */
  async getCopyByCode(actor: Actor, input: GetCopyByCodeInput): Promise<CopyDetailView> {
    return this.query(GET_COPY_BY_CODE, actor, input, async (em, _a, i) => {
      const copy = await em.findOne(ItemInstance, { code: i.code }, { populate: ['catalogEntry'] });
      if (!copy) throw SwlError.notFound('copy', i.code);
      return { ...toCopyView(copy), entry: toEntrySummaryView(copy.catalogEntry.unwrap()) };
    });
  }

  /**
   * A copy's status history (its `CopyEvent`s), oldest first.
   *
   * @param actor - acting user; capability `inventory:manage` (the history names actors and loans).
   * @param input - {@link CopyHistoryInput}.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND`, `UNAVAILABLE`.
   */
  async copyHistory(actor: Actor, input: CopyHistoryInput): Promise<CopyEventView[]> {
    return this.query(COPY_HISTORY, actor, input, async (em, _a, i) => {
      const copy = await em.findOne(ItemInstance, i.copyId, { fields: ['id'] });
      if (!copy) throw SwlError.notFound('copy', i.copyId);
      const events = await em.find(CopyEvent, { copy: copy.id }, { orderBy: { id: 'asc' } });
      return events.map(toCopyEventView);
    });
  }

  /**
   * `disponible` or `perdido` → `mantenimiento` (docs/DESIGN.md §4). Like every direct operation,
   * it reads the copy (locked `FOR UPDATE` on PostgreSQL), checks `expectedVersion`, and moves it
   * through `applyCopyTransition`: a version-checked update with its `CopyEvent`, and a bus event
   * after commit. `condition`, when given, replaces the copy's condition in the same update.
   *
   * @param actor - acting user; capability `inventory:manage`.
   * @param input - {@link ChangeCopyStatusInput}.
   * @returns the copy after the change.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND`, `INVALID_TRANSITION` (e.g. a
   *   `prestado` copy), `CONFLICT` (stale `expectedVersion` or a concurrent change),
   *   `IDEMPOTENCY_KEY_REUSED`, `CAPACITY_EXCEEDED`, `UNAVAILABLE`.
   */
  sendToMaintenance(actor: Actor, input: ChangeCopyStatusInput): Promise<CopyView> {
    return this.#changeStatus('sendToMaintenance', actor, input);
  }

  /**
   * `mantenimiento` → `disponible` (repaired). Errors as {@link CatalogService.sendToMaintenance}.
   * @param actor - acting user; capability `inventory:manage`.
   * @param input - {@link ChangeCopyStatusInput}.
   */
  repair(actor: Actor, input: ChangeCopyStatusInput): Promise<CopyView> {
    return this.#changeStatus('repair', actor, input);
  }

  /**
   * `disponible` → `perdido` (not found in an inventory check). Errors as
   * {@link CatalogService.sendToMaintenance}.
   * @param actor - acting user; capability `inventory:manage`.
   * @param input - {@link ChangeCopyStatusInput}.
   */
  markLost(actor: Actor, input: ChangeCopyStatusInput): Promise<CopyView> {
    return this.#changeStatus('markLost', actor, input);
  }

  /**
   * `perdido` → `disponible` (found again). Errors as {@link CatalogService.sendToMaintenance}.
   * @param actor - acting user; capability `inventory:manage`.
   * @param input - {@link ChangeCopyStatusInput}.
   */
  markFound(actor: Actor, input: ChangeCopyStatusInput): Promise<CopyView> {
    return this.#changeStatus('markFound', actor, input);
  }

  /**
   * Withdraws a copy from circulation: `disponible`, `mantenimiento` or `perdido` → `retirado`
   * (FOLIO's item status *Withdrawn*, Koha's `withdrawn`). The copy stays in the record with its
   * history and is never lent or changed again (`retirado` is terminal); a copy on loan must be
   * returned first. Errors as {@link CatalogService.sendToMaintenance}.
   * @param actor - acting user; capability `inventory:manage`.
   * @param input - {@link ChangeCopyStatusInput}.
   */
  withdrawCopy(actor: Actor, input: ChangeCopyStatusInput): Promise<CopyView> {
    return this.#changeStatus('withdraw', actor, input);
  }

  /**
   * Withdraws a title/model from circulation: sets the entry's `withdrawnAt` and withdraws every
   * copy that is not already `retirado` (each with a `withdrawn` event and a bus event). The entry
   * keeps its loans and history; it can no longer be requested (`COPY_UNAVAILABLE`) nor get
   * copies (`INVALID_TRANSITION`). Refused while a copy is on loan, a request for the entry is
   * pending, or a booking or hold waits for it — return, decide or cancel those first. The entry row, then its copies in id order, are locked
   * on PostgreSQL; each copy is moved through `applyCopyTransition` (version-checked).
   *
   * @param actor - acting user; capabilities `catalog:manage` and `inventory:manage`.
   * @param input - {@link WithdrawEntryInput}.
   * @returns the entry (counts: every copy `withdrawn`).
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND`, `INVALID_TRANSITION` (already
   *   withdrawn; `details.reason` `copies_on_loan`, `pending_requests` or `reservations_or_holds`), `IDEMPOTENCY_KEY_REUSED`, `CAPACITY_EXCEEDED`, `CONFLICT`,
   *   `UNAVAILABLE`.
   */
  async withdrawEntry(actor: Actor, input: WithdrawEntryInput): Promise<EntryView> {
    return this.command(WITHDRAW_ENTRY, actor, input, async (s) => {
      const { em, db, postgres, input: i } = s;
      const entry = await lockedEntryInCirculation(em, postgres, i.catalogEntryId, 'already_withdrawn');
      const copies = await readEntryCopyViews(db, entry.id, postgres);
      const onLoan = copies.filter((c) => c.status === CopyStatus.OnLoan).length;
      if (onLoan > 0) {
        throw SwlError.invalidTransition('catalogEntry', 'in circulation', 'withdrawn', {
          catalogEntryId: entry.id,
          reason: 'copies_on_loan',
          copiesOnLoan: onLoan,
        });
      }
      const pending = await countPendingRequests(db, entry.id);
      if (pending > 0) {
        throw SwlError.invalidTransition('catalogEntry', 'in circulation', 'withdrawn', {
          catalogEntryId: entry.id,
          reason: 'pending_requests',
          pendingRequests: pending,
        });
      }
      // Bookings and holds wait for this entry's copies: cancel them first (issue 16).
      const waiting = await db
        .selectFrom('swl_reservation')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('catalog_entry_id', '=', entry.id)
        .where('status', 'in', ['solicitada', 'confirmada'])
        .executeTakeFirstOrThrow();
      const holds = await db
        .selectFrom('swl_hold')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('catalog_entry_id', '=', entry.id)
        .where('status', 'in', ['en_espera', 'lista'])
        .executeTakeFirstOrThrow();
      if (Number(waiting.n) + Number(holds.n) > 0) {
        throw SwlError.invalidTransition('catalogEntry', 'in circulation', 'withdrawn', {
          catalogEntryId: entry.id,
          reason: 'reservations_or_holds',
          reservations: Number(waiting.n),
          holds: Number(holds.n),
        });
      }
      const now = s.now;
      entry.withdrawnAt = now;
      await em.flush();
      const moving = copies.filter((c) => c.status !== CopyStatus.Withdrawn);
      for (const [k, copy] of moving.entries()) {
        applyCopyTransition(s, {
          copy,
          command: 'withdraw',
          loanId: null,
          actorId: s.actor.id,
          at: now,
          note: i.note ?? null,
        });
        // One version-checked update and one event row per copy; sent in slices so that one
        // PostgreSQL statement stays far below its 65 535 bind parameters however many copies.
        if ((k + 1) % WITHDRAW_SLICE === 0) await s.writes.run();
      }
      await s.writes.run();
      const counts = (await availabilityCounts(em, [entry.id])).get(entry.id) ?? NO_COPIES;
      return toEntryView(entry, counts);
    });
  }

  /**
   * A direct operation on one copy: reads (on PostgreSQL, locks) the copy, checks
   * `expectedVersion`, moves it with {@link applyCopyTransition} and returns the copy as the
   * version-checked update left it.
   */
  async #changeStatus(
    operation: CopyOperation,
    actor: Actor,
    input: ChangeCopyStatusInput,
  ): Promise<CopyView> {
    return this.command(COPY_COMMANDS[operation], actor, input, async (s) => {
      const { db, postgres, input: i } = s;
      const backOnShelf = COPY_OPERATIONS[operation] === 'disponible';
      if (postgres) {
        // Entry before copy, the lock order of every command that commits stock: a copy back on
        // the shelf may be set aside for a hold, one leaving it may release one (src/holds/serve.ts).
        const row = await db
          .selectFrom('swl_item_instance')
          .select('catalog_entry_id')
          .where('id', '=', i.copyId)
          .executeTakeFirst();
        if (row) await lockEntry(db, postgres, Number(row.catalog_entry_id));
      }
      const copy = await readCopyView(db, i.copyId, postgres);
      if (!copy) throw SwlError.notFound('copy', i.copyId);
      const now = s.now;
      if (i.expectedVersion !== undefined && copy.version !== i.expectedVersion) {
        throw new SwlError('CONFLICT', `copy ${copy.code} was changed since version ${i.expectedVersion}`, {
          copyId: copy.id,
          expectedVersion: i.expectedVersion,
          version: copy.version,
        });
      }
      const transition = applyCopyTransition(s, {
        copy,
        command: operation,
        ...(i.condition !== undefined ? { condition: i.condition } : {}),
        loanId: null,
        actorId: s.actor.id,
        at: now,
        note: i.note ?? null,
      });
      await s.writes.run(); // update … where id = ? and version = ? — a concurrent change fails with CONFLICT
      if (backOnShelf) {
        await serveHolds(s, {
          catalogEntryId: copy.catalogEntryId,
          copyId: copy.id,
          actorId: s.actor.id,
          now,
        });
        await s.writes.run();
      } else if (copy.status === CopyStatus.Available) {
        // A copy set aside for a hold left the shelf: the hold waits again, first in line.
        await releaseSetAside(s, {
          catalogEntryId: copy.catalogEntryId,
          copyId: copy.id,
          actorId: s.actor.id,
          now,
        });
      }
      return toMovedCopyView(copy, { status: transition.to, at: now, condition: i.condition });
    });
  }

  /**
   * Inserts `count` copies numbered from `first`, each with its `created` event, in the command's
   * transaction: one multi-row insert of the copies (returning their ids) and one of the events,
   * bypassing the unit of work — building, tracking and diffing 2 000 entities cost ten times the
   * inserts themselves (bench/, BENCHMARKS.md). The rows, ids, views and bus events are those the
   * unit of work would have produced.
   */
  async #createCopies(
    { em, now, emit, actor }: CommandScope,
    entry: CatalogEntry,
    prefix: string,
    first: number,
    count: number,
    condition: string | null,
  ): Promise<CopyView[]> {
    if (count === 0) return [];
    if (first + count - 1 > MAX_ID) {
      // `sequence` is a 32-bit column too: PostgreSQL would fail the insert, SQLite would store it.
      throw new SwlError('CAPACITY_EXCEEDED', `catalog entry ${entry.id} has used every copy number`, {
        catalogEntryId: entry.id,
        maxCopyNumber: MAX_ID,
      });
    }
    const stamp = nowFor(em); // what the `createdAt`/`updatedAt` onCreate hooks would set
    const copies: CopyView[] = [];
    for (let sequence = first; sequence < first + count; sequence++) {
      copies.push({
        id: 0,
        catalogEntryId: entry.id,
        sequence,
        code: copyCode(prefix, entry.id, sequence),
        status: CREATE.to,
        condition,
        version: 1,
        createdAt: stamp,
        updatedAt: stamp,
      });
    }
    // Within one insert statement ids are allocated in VALUES order (autoincrement / serial), but
    // SQLite documents RETURNING's row order as arbitrary: `insertedIds` sorts them ascending.
    const inserted = await sql(em)
      .createQueryBuilder(ItemInstance)
      .insert(
        copies.map((c) => ({
          catalogEntry: entry.id,
          sequence: c.sequence,
          code: c.code,
          status: c.status,
          condition,
          version: 1,
          createdAt: stamp,
          updatedAt: stamp,
        })),
      )
      .execute('run');
    const copyIds = insertedIds(inserted.rows, count);
    assertRowIds('swl_item_instance', copyIds); // SQLite hands out ids past 2³¹ − 1; the command rolls back
    copies.forEach((c, k) => {
      c.id = copyIds[k] as number;
    });
    const events = await sql(em)
      .createQueryBuilder(CopyEvent)
      .insert(
        copies.map((c) => ({
          copy: c.id,
          type: CREATE.event,
          fromStatus: CREATE.from,
          toStatus: CREATE.to,
          actor: actor.id,
          at: now,
          note: null,
          txId: currentTransactionId(em), // what the onCreate hook would set (the outbox watermark)
        })),
      )
      .execute('run');
    const eventIds = insertedIds(events.rows, count);
    assertRowIds('swl_instance_event', eventIds);
    copies.forEach((c, k) => {
      const event: CopyChangeEvent = {
        kind: 'copy',
        id: eventIds[k] as number,
        copyId: c.id,
        type: CREATE.event,
        from: CREATE.from,
        to: CREATE.to,
        loanId: null,
        actorId: actor.id,
        at: now,
        note: null,
      };
      emit(() => event);
    });
    return copies;
  }
}

/** The `id`s a multi-row insert returned, in allocation (= VALUES) order, checked to be one per row. */
function insertedIds(rows: readonly Record<string, unknown>[] | undefined, expected: number): number[] {
  const ids = (rows ?? []).map((r) => Number(r.id)).sort((a, b) => a - b);
  if (ids.length !== expected || ids.some((id) => !Number.isSafeInteger(id))) {
    throw new Error(`expected ${expected} inserted ids, got ${ids.length}`);
  }
  return ids;
}
