import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { HOLD_EVENT_TYPES, HOLD_STATUSES } from '../domain/vocabulary.ts';
import { currentTransactionId } from './common.ts';
import { Hold } from './hold.entity.ts';
import { User } from './user.entity.ts';

/**
 * Schema of {@link HoldEvent} (table `swl_hold_event`): the append-only trail of holds, one row per
 * transition, written in the same transaction as the change; `txId` as on the other event tables.
 * Source: issue 16.
 */
export const HoldEventSchema = defineEntity({
  name: 'HoldEvent',
  tableName: 'swl_hold_event',
  properties: {
    id: p.integer().primary().autoincrement(),
    hold: () => p.manyToOne(Hold).ref().deleteRule('restrict').updateRule('cascade'),
    type: p.enum(HOLD_EVENT_TYPES),
    fromStatus: p.enum(HOLD_STATUSES).nullable(),
    toStatus: p.enum(HOLD_STATUSES),
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
    { name: 'swl_hold_event_tx_id_id_index', properties: ['txId', 'id'] },
    { name: 'swl_hold_event_hold_index', properties: ['hold'] },
  ],
});

/** One transition of one hold. */
export class HoldEvent extends HoldEventSchema.class {}
HoldEventSchema.setClass(HoldEvent);
/** Plain shape of a {@link HoldEvent} row. */
export type IHoldEvent = InferEntity<typeof HoldEventSchema>;
