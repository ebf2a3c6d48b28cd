import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { RESERVATION_STATUSES, ReservationStatus } from '../domain/vocabulary.ts';
import { CatalogEntry } from './catalog-entry.entity.ts';
import { timestamps } from './common.ts';
import { ItemInstance } from './item-instance.entity.ts';
import { User } from './user.entity.ts';

const actor = () => p.manyToOne(User).ref().nullable().deleteRule('restrict').updateRule('cascade');

/**
 * Schema of {@link Reservation} (table `swl_reservation`).
 *
 * A booking of `quantity` copies of a catalog entry, or of one named copy (`copy`, quantity 1),
 * for the half-open interval `[startsAt, endsAt)` (UTC). While it is `solicitada` or `confirmada`
 * it holds stock over `[startsAt, blocksUntil)`, where `blocksUntil = endsAt + bufferMinutes` (the
 * buffer of its policy, fixed at booking). Database guarantees: `endsAt > startsAt`,
 * `blocksUntil >= endsAt`, `quantity >= 1` (exactly 1 with a named copy); on PostgreSQL an
 * exclusion constraint (`btree_gist`) forbids two holding bookings of one copy whose
 * `[startsAt, blocksUntil)` ranges overlap (`swl_reservation_copy_no_overlap`). Source: issue 16.
 */
export const ReservationSchema = defineEntity({
  name: 'Reservation',
  tableName: 'swl_reservation',
  properties: {
    id: p.integer().primary().autoincrement(),
    borrower: () => p.manyToOne(User).ref().deleteRule('restrict').updateRule('cascade'),
    catalogEntry: () => p.manyToOne(CatalogEntry).ref().deleteRule('restrict').updateRule('cascade'),
    /** The named copy, when the booking is of one copy. Column `instance_id`, as on loans. */
    copy: () =>
      p
        .manyToOne(ItemInstance)
        .ref()
        .fieldName('instance_id')
        .nullable()
        .deleteRule('restrict')
        .updateRule('cascade'),
    /** Copies booked (1 with a named copy). */
    quantity: p.integer().check('quantity >= 1'),
    startsAt: p.datetime(),
    endsAt: p.datetime(),
    /** `endsAt` + the policy's buffer: the stock is held until then. */
    blocksUntil: p.datetime(),
    /** Buffer after the booking, minutes, fixed at booking. */
    bufferMinutes: p.integer().check('buffer_minutes >= 0'),
    /** Pickup is possible until then (`startsAt` + the policy's pickup window); after it, a no-show. */
    pickupDeadline: p.datetime(),
    status: p.enum(RESERVATION_STATUSES).default(ReservationStatus.Requested),
    /** Classroom/place of use. Max 50 chars. */
    environment: p.string().length(50).nullable(),
    note: p.text().nullable(),
    requestedBy: actor,
    confirmedAt: p.datetime().nullable(),
    confirmedBy: actor,
    cancelledAt: p.datetime().nullable(),
    cancelledBy: actor,
    cancelReason: p.text().nullable(),
    pickedUpAt: p.datetime().nullable(),
    pickedUpBy: actor,
    /** The loans made at pickup (their ids). */
    loanIds: p.json<number[]>().nullable(),
    noShowAt: p.datetime().nullable(),
    version: p.integer().version(),
    ...timestamps,
  },
  checks: [
    { name: 'swl_reservation_range_check', expression: 'ends_at > starts_at and blocks_until >= ends_at' },
    { name: 'swl_reservation_copy_quantity_check', expression: 'instance_id is null or quantity = 1' },
  ],
  indexes: [
    { name: 'swl_reservation_entry_status_starts_index', properties: ['catalogEntry', 'status', 'startsAt'] },
    { name: 'swl_reservation_borrower_status_index', properties: ['borrower', 'status'] },
    { name: 'swl_reservation_instance_index', properties: ['copy'] },
    { name: 'swl_reservation_status_deadline_index', properties: ['status', 'pickupDeadline'] },
  ],
});

/**
 * PostgreSQL's last line against double booking a copy (`btree_gist`): no two holding bookings of
 * one copy over overlapping `[startsAt, blocksUntil)` ranges. Written as PostgreSQL prints it back
 * (`pg_get_constraintdef`), so MikroORM's schema diff sees no change. Added to the entity's
 * metadata on PostgreSQL only by {@link swlOnMetadata} (SQLite has no exclusion constraints).
 * @internal
 */
export const RESERVATION_COPY_NO_OVERLAP = {
  name: 'swl_reservation_copy_no_overlap',
  expression:
    "EXCLUDE USING gist (instance_id WITH =, tstzrange(starts_at, blocks_until, '[)'::text) WITH &&) WHERE (((instance_id IS NOT NULL) AND (status = ANY (ARRAY['solicitada'::text, 'confirmada'::text]))))",
} as const;

/**
 * MikroORM's `discovery.onMetadata` hook of the package (`swlOrmConfig` sets it): on PostgreSQL it
 * declares the exclusion constraint `swl_reservation_copy_no_overlap` (`btree_gist`: no two
 * holding bookings of one copy over overlapping ranges) on `swl_reservation`, so a schema diff or a host's
 * generated migration keeps the constraint instead of dropping it. A host that builds its MikroORM
 * options without `swlOrmConfig` and generates migrations should set
 * `discovery: { onMetadata: swlOnMetadata }`. Throws nothing.
 */
export function swlOnMetadata(
  meta: { tableName?: string; checks: Array<{ name?: string; expression: unknown }> },
  platform: object,
): void {
  if (meta.tableName !== 'swl_reservation' || !platform.constructor.name.startsWith('PostgreSql')) return;
  if (meta.checks.some((c) => c.name === RESERVATION_COPY_NO_OVERLAP.name)) return;
  meta.checks.push({ ...RESERVATION_COPY_NO_OVERLAP });
}

/** A booking of copies of an entry (or of one copy) for a time range. */
export class Reservation extends ReservationSchema.class {}
ReservationSchema.setClass(Reservation);
/** Plain shape of a {@link Reservation} row. */
export type IReservation = InferEntity<typeof ReservationSchema>;
