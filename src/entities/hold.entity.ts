import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { HOLD_STATUSES, HoldStatus } from '../domain/vocabulary.ts';
import { CatalogEntry } from './catalog-entry.entity.ts';
import { timestamps } from './common.ts';
import { ItemInstance } from './item-instance.entity.ts';
import { Loan } from './loan.entity.ts';
import { User } from './user.entity.ts';

const actor = () => p.manyToOne(User).ref().nullable().deleteRule('restrict').updateRule('cascade');

/**
 * Schema of {@link Hold} (table `swl_hold`).
 *
 * A borrower's place in the queue for a catalog entry when no copy is available: first come,
 * first served by `placedAt` (then id). When a copy comes back it is set aside for the first
 * waiting hold (`lista`, `copy` set, until `expiresAt`). Database guarantees: one active hold
 * (`en_espera` or `lista`) per borrower and entry (`swl_hold_one_active_per_borrower_entry`), one
 * `lista` hold per copy (`swl_hold_one_ready_per_instance`). Source: issue 16.
 */
export const HoldSchema = defineEntity({
  name: 'Hold',
  tableName: 'swl_hold',
  properties: {
    id: p.integer().primary().autoincrement(),
    borrower: () => p.manyToOne(User).ref().deleteRule('restrict').updateRule('cascade'),
    catalogEntry: () => p.manyToOne(CatalogEntry).ref().deleteRule('restrict').updateRule('cascade'),
    status: p.enum(HOLD_STATUSES).default(HoldStatus.Waiting),
    /** When the hold joined the queue (its place). */
    placedAt: p.datetime(),
    placedBy: actor,
    /** The copy set aside for it (`lista`, and kept once fulfilled or expired). Column `instance_id`. */
    copy: () =>
      p
        .manyToOne(ItemInstance)
        .ref()
        .fieldName('instance_id')
        .nullable()
        .deleteRule('restrict')
        .updateRule('cascade'),
    readyAt: p.datetime().nullable(),
    /** Pickup deadline of a `lista` hold. */
    expiresAt: p.datetime().nullable(),
    fulfilledAt: p.datetime().nullable(),
    /** The loan it became. */
    loan: () => p.manyToOne(Loan).ref().nullable().deleteRule('restrict').updateRule('cascade'),
    cancelledAt: p.datetime().nullable(),
    cancelledBy: actor,
    cancelReason: p.text().nullable(),
    expiredAt: p.datetime().nullable(),
    version: p.integer().version(),
    ...timestamps,
  },
  uniques: [
    {
      name: 'swl_hold_one_active_per_borrower_entry',
      properties: ['borrower', 'catalogEntry'],
      where: { status: { $in: [HoldStatus.Waiting, HoldStatus.AwaitingPickup] } },
    },
    {
      name: 'swl_hold_one_ready_per_instance',
      properties: ['copy'],
      where: { status: HoldStatus.AwaitingPickup },
    },
  ],
  indexes: [
    { name: 'swl_hold_entry_status_placed_index', properties: ['catalogEntry', 'status', 'placedAt'] },
    { name: 'swl_hold_status_expires_index', properties: ['status', 'expiresAt'] },
  ],
});

/** A borrower's place in the queue for a title. */
export class Hold extends HoldSchema.class {}
HoldSchema.setClass(Hold);
/** Plain shape of a {@link Hold} row. */
export type IHold = InferEntity<typeof HoldSchema>;
