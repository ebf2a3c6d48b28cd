import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { COPY_EVENT_TYPES, COPY_STATUSES } from '../domain/vocabulary.ts';
import { currentTransactionId } from './common.ts';
import { ItemInstance } from './item-instance.entity.ts';
import { Loan } from './loan.entity.ts';
import { User } from './user.entity.ts';

/**
 * Schema of {@link CopyEvent} (table `swl_instance_event`).
 *
 * Append-only history of a copy's status changes (docs/DESIGN.md §4): loans, returns, maintenance, loss
 * and recovery, each with its actor and, for loan-driven changes, the loan.
 */
export const CopyEventSchema = defineEntity({
  name: 'CopyEvent',
  tableName: 'swl_instance_event',
  properties: {
    id: p.integer().primary().autoincrement(),
    /** The copy whose status changed. Column `instance_id`. */
    copy: () =>
      p.manyToOne(ItemInstance).ref().fieldName('instance_id').deleteRule('restrict').updateRule('cascade'),
    type: p.enum(COPY_EVENT_TYPES),
    fromStatus: p.enum(COPY_STATUSES).nullable(),
    toStatus: p.enum(COPY_STATUSES),
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
    { name: 'swl_instance_event_instance_index', properties: ['copy'] },
  ],
});

/** One status change of one copy. */
export class CopyEvent extends CopyEventSchema.class {}
CopyEventSchema.setClass(CopyEvent);
/** Plain shape of a {@link CopyEvent} row. */
export type ICopyEvent = InferEntity<typeof CopyEventSchema>;
