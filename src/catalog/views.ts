/**
 * Plain objects the {@link CatalogService} returns (never entities): safe to serialize as they
 * are. Money in integer minor units; instants as UTC `Date`s.
 *
 * @module
 */
import { type Category, CopyStatus } from '../domain/vocabulary.ts';
import type { CatalogEntry } from '../entities/catalog-entry.entity.ts';
import type { CopyEvent } from '../entities/copy-event.entity.ts';
import type { ItemInstance } from '../entities/item-instance.entity.ts';
import type { CopyChangeEvent } from '../events.ts';

/** How many copies of an entry are in each status (computed in SQL). */
export interface AvailabilityCounts {
  /** `disponible`. */
  available: number;
  /** `prestado`. */
  onLoan: number;
  /** `mantenimiento`. */
  maintenance: number;
  /** `perdido`. */
  lost: number;
  /** `retirado` (withdrawn from circulation, kept in the record). */
  withdrawn: number;
  /** All copies, withdrawn ones included. */
  total: number;
}

/** A catalog entry (title or equipment model) with its availability. */
export interface EntryView {
  id: number;
  titleOrName: string;
  category: Category;
  authorOrBrand: string | null;
  /** ISBN, model number… */
  identifier: string | null;
  /**
   * Replacement cost, integer minor units (0 ..= `MAX_MONEY`), or `null` when unknown: a lost copy
   * of an entry with an unknown cost is charged nothing for the copy (the return says
   * `replacementCostUnknown`), and an unknown cost never caps a fine. `0` = known to be free.
   */
  replacementCost: number | null;
  /** When the entry was withdrawn from circulation (UTC); null while it is lent. */
  withdrawnAt: Date | null;
  counts: AvailabilityCounts;
  createdAt: Date;
  updatedAt: Date;
}

/** One physical copy. */
export interface CopyView {
  id: number;
  catalogEntryId: number;
  /** Copy number within the entry, from 1. */
  sequence: number;
  /** `XXX-{catalogEntryId}-{sequence}`. */
  code: string;
  status: CopyStatus;
  condition: string | null;
  /** Optimistic-lock version; pass it back as `expectedVersion`. */
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/** The entry fields shown next to a copy. */
export interface EntrySummaryView {
  id: number;
  titleOrName: string;
  category: Category;
  authorOrBrand: string | null;
  identifier: string | null;
}

/** A copy with the title/model it belongs to (what a barcode scan shows). */
export interface CopyDetailView extends CopyView {
  entry: EntrySummaryView;
}

/** An entry with the copies a command just created. */
export interface EntryWithCopiesView {
  entry: EntryView;
  /** The copies created by this call, by copy number. */
  copies: CopyView[];
}

/** Zero counts, for an entry with no copies. */
export const NO_COPIES: Readonly<AvailabilityCounts> = Object.freeze({
  available: 0,
  onLoan: 0,
  maintenance: 0,
  lost: 0,
  withdrawn: 0,
  total: 0,
});

const COUNT_KEY: Readonly<Record<CopyStatus, Exclude<keyof AvailabilityCounts, 'total'>>> = {
  [CopyStatus.Available]: 'available',
  [CopyStatus.OnLoan]: 'onLoan',
  [CopyStatus.Maintenance]: 'maintenance',
  [CopyStatus.Lost]: 'lost',
  [CopyStatus.Withdrawn]: 'withdrawn',
};

/** Adds `n` copies of `status` to `counts` (in place). @internal */
export function addToCounts(counts: AvailabilityCounts, status: CopyStatus, n: number): void {
  counts[COUNT_KEY[status]] += n;
  counts.total += n;
}

/** @internal */
export function toEntryView(entry: CatalogEntry, counts: AvailabilityCounts): EntryView {
  return {
    id: entry.id,
    titleOrName: entry.titleOrName,
    category: entry.category,
    authorOrBrand: entry.authorOrBrand ?? null,
    identifier: entry.identifier ?? null,
    replacementCost: entry.replacementCost ?? null,
    withdrawnAt: entry.withdrawnAt ?? null,
    counts: { ...counts },
    createdAt: entry.createdAt,
    updatedAt: entry.updatedAt,
  };
}

/** @internal */
export function toEntrySummaryView(entry: CatalogEntry): EntrySummaryView {
  return {
    id: entry.id,
    titleOrName: entry.titleOrName,
    category: entry.category,
    authorOrBrand: entry.authorOrBrand ?? null,
    identifier: entry.identifier ?? null,
  };
}

/** @internal */
export function toCopyView(copy: ItemInstance): CopyView {
  return {
    id: copy.id,
    catalogEntryId: copy.catalogEntry.id,
    sequence: copy.sequence,
    code: copy.code,
    status: copy.status,
    condition: copy.condition ?? null,
    version: copy.version,
    createdAt: copy.createdAt,
    updatedAt: copy.updatedAt,
  };
}

/**
 * `copy` (as the command read it) after a transition to `status` at `at`: what the
 * version-checked update of `applyCopyTransition` wrote (status, the new `condition` when the move
 * records one, version + 1, `updatedAt`). @internal
 */
export function toMovedCopyView(
  copy: CopyView,
  change: { status: CopyStatus; at: Date; condition?: string | null | undefined },
): CopyView {
  return {
    ...copy,
    status: change.status,
    condition: change.condition !== undefined ? change.condition : copy.condition,
    version: copy.version + 1,
    updatedAt: change.at,
  };
}

/**
 * One entry of a copy's status history (`swl_instance_event`): the fields of an
 * {@link CopyChangeEvent} without `kind` (instants UTC, from the service clock).
 */
export type CopyEventView = Omit<CopyChangeEvent, 'kind'>;

/** @internal */
export function toCopyEventView(event: CopyEvent): CopyEventView {
  return {
    id: event.id,
    copyId: event.copy.id,
    type: event.type,
    from: event.fromStatus ?? null,
    to: event.toStatus,
    loanId: event.loan?.id ?? null,
    actorId: event.actor?.id ?? null,
    at: event.at,
    note: event.note ?? null,
  };
}

/** The after-commit bus event of a `CopyEvent` row. @internal */
export function toCopyChangeEvent(event: CopyEvent): CopyChangeEvent {
  return { kind: 'copy', ...toCopyEventView(event) };
}
