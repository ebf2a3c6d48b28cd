import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { LOAN_EVENT_TYPES, LOAN_STATUSES } from '../domain/vocabulary.ts';
import { currentTransactionId } from './common.ts';
import { Loan } from './loan.entity.ts';
import { User } from './user.entity.ts';

/**
 * Schema of {@link LoanEvent} (table `swl_loan_event`).
 *
 * Append-only audit trail: one row per loan transition (docs/DESIGN.md §2, §3), written in the same
 * transaction as the change. It doubles as an outbox, read with `SwlOutbox` (src/outbox.ts) — not
 * by "id greater than the last one I saw", which skips events whose transactions commit out of id
 * order on PostgreSQL. `data` holds the command's particulars (due dates, fine breakdown, reason)
 * as JSON.
 */
export const LoanEventSchema = defineEntity({
  name: 'LoanEvent',
  tableName: 'swl_loan_event',
  properties: {
    id: p.integer().primary().autoincrement(),
    loan: () => p.manyToOne(Loan).ref().deleteRule('restrict').updateRule('cascade'),
    type: p.enum(LOAN_EVENT_TYPES),
    fromStatus: p.enum(LOAN_STATUSES).nullable(),
    toStatus: p.enum(LOAN_STATUSES),
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
    data: p.json<Record<string, unknown>>().nullable(),
  },
  indexes: [
    { name: 'swl_loan_event_tx_id_id_index', properties: ['txId', 'id'] },
    { name: 'swl_loan_event_loan_index', properties: ['loan'] },
  ],
});

/** One transition of one loan. */
export class LoanEvent extends LoanEventSchema.class {}
LoanEventSchema.setClass(LoanEvent);
/** Plain shape of a {@link LoanEvent} row. */
export type ILoanEvent = InferEntity<typeof LoanEventSchema>;
