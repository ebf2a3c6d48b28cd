import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { RESERVATION_EVENT_TYPES, RESERVATION_STATUSES } from '../domain/vocabulary.ts';
import { currentTransactionId } from './common.ts';
import { Reservation } from './reservation.entity.ts';
import { User } from './user.entity.ts';

/**
 * Schema of {@link ReservationEvent} (table `swl_reservation_event`).
 *
 * Append-only audit trail of reservations, one row per transition, written in the same transaction
 * as the change (as `swl_loan_event` is for loans). `actor` is the acting user (for a no-show, who ran
 * the sweep). `txId` as on loan events (PostgreSQL transaction id; null on SQLite). Source: issue 16.
 */
export const ReservationEventSchema = defineEntity({
  name: 'ReservationEvent',
  tableName: 'swl_reservation_event',
  properties: {
    id: p.integer().primary().autoincrement(),
    reservation: () => p.manyToOne(Reservation).ref().deleteRule('restrict').updateRule('cascade'),
    type: p.enum(RESERVATION_EVENT_TYPES),
    fromStatus: p.enum(RESERVATION_STATUSES).nullable(),
    toStatus: p.enum(RESERVATION_STATUSES),
    actor: () => p.manyToOne(User).ref().nullable().deleteRule('restrict').updateRule('cascade'),
    at: p.datetime(),
    /** PostgreSQL: the writing transaction's id (`pg_current_xact_id()`); null on SQLite. */
    txId: p
      .bigint('number')
      .nullable()
      .onCreate((_, em) => currentTransactionId(em)),
    data: p.json<Record<string, unknown>>().nullable(),
  },
  indexes: [
    { name: 'swl_reservation_event_tx_id_id_index', properties: ['txId', 'id'] },
    { name: 'swl_reservation_event_reservation_index', properties: ['reservation'] },
  ],
});

/** One transition of one reservation. */
export class ReservationEvent extends ReservationEventSchema.class {}
ReservationEventSchema.setClass(ReservationEvent);
/** Plain shape of a {@link ReservationEvent} row. */
export type IReservationEvent = InferEntity<typeof ReservationEventSchema>;
