import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { INSTANCE_EVENT_TYPES, INSTANCE_STATUSES } from '../domain/vocabulary.ts';
import { currentTransactionId } from './common.ts';
import { ItemInstance } from './item-instance.entity.ts';
import { Loan } from './loan.entity.ts';
import { User } from './user.entity.ts';

/**
 * Schema of {@link InstanceEvent} (table `swl_instance_event`).
 *
 * Append-only history of a copy's status changes (DESIGN §4): loans, returns, maintenance, loss
 * and recovery, each with its actor and, for loan-driven changes, the loan.
 */
export const InstanceEventSchema = defineEntity({
  name: 'InstanceEvent',
  tableName: 'swl_instance_event',
  properties: {
    id: p.integer().primary().autoincrement(),
    instance: () => p.manyToOne(ItemInstance).ref().deleteRule('restrict').updateRule('cascade'),
    type: p.enum(INSTANCE_EVENT_TYPES),
    fromStatus: p.enum(INSTANCE_STATUSES).nullable(),
    toStatus: p.enum(INSTANCE_STATUSES),
    loan: () => p.manyToOne(Loan).ref().nullable().deleteRule('restrict').updateRule('cascade'),
    actor: () => p.manyToOne(User).ref().nullable().deleteRule('restrict').updateRule('cascade'),
    at: p.datetime(),
    /**
     * PostgreSQL: the id of the writing transaction (`pg_current_xact_id()`), evaluated by the
     * database in the insert (written by every insert through the ORM); the outbox reader
     * (`SwlOutbox`) delivers an event only once every transaction with a lower id has ended, so
     * no commit order can make it skip one. Null on SQLite, where writers are serialized and the
     * id order is the commit order.
     */
    txId: p
      .bigint('number')
      .nullable()
      .onCreate((_, em) => currentTransactionId(em)),
    note: p.text().nullable(),
  },
  indexes: [
    { name: 'swl_instance_event_tx_id_id_index', properties: ['txId', 'id'] },
    { name: 'swl_instance_event_instance_index', properties: ['instance'] },
  ],
});

/** One status change of one copy. */
export class InstanceEvent extends InstanceEventSchema.class {}
InstanceEventSchema.setClass(InstanceEvent);
/** Plain shape of an {@link InstanceEvent} row. */
export type IInstanceEvent = InferEntity<typeof InstanceEventSchema>;
