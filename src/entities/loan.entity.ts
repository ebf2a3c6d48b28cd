import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import {
  FINE_INTERVALS,
  GRACE_MODES,
  INTERVAL_ROUNDINGS,
  LOAN_STATUSES,
  LoanStatus,
  PENALTY_SETTLEMENTS,
  PERIOD_UNITS,
  RETURN_OUTCOMES,
} from '../domain/vocabulary.ts';
import { CatalogEntry } from './catalog-entry.entity.ts';
import { moneyColumn, timestamps } from './common.ts';
import { ItemInstance } from './item-instance.entity.ts';
import { User } from './user.entity.ts';

const actor = () => p.manyToOne(User).ref().nullable().deleteRule('restrict').updateRule('cascade');

/**
 * Schema of {@link Loan} (table `swl_loan`).
 *
 * Columns from `docs/legacy/000_266b31aaf8610e4d.txt` Loan Table (user_id → `borrower`,
 * instance_id, environment, request/approval/due/return dates, status, observation, final_penalty)
 * plus docs/DESIGN.md §2: `catalogEntry` (a request may name a title/model and get any copy at
 * approval), the actor of each transition, `renewalCount`, penalty settlement and `version`.
 *
 * Money (`finalPenalty`, `overdueFine`, `replacementCharge`) is integer minor units, never float.
 * All instants are UTC. Database guarantees: at most one `aprobado` loan per copy (partial unique
 * index `swl_loan_one_approved_per_instance`), no delete of referenced users, copies or entries.
 */
export const LoanSchema = defineEntity({
  name: 'Loan',
  tableName: 'swl_loan',
  properties: {
    id: p.integer().primary().autoincrement(),
    borrower: () => p.manyToOne(User).ref().deleteRule('restrict').updateRule('cascade'),
    /** The title/model asked for; always set (from the copy when a copy was named). */
    catalogEntry: () => p.manyToOne(CatalogEntry).ref().deleteRule('restrict').updateRule('cascade'),
    /** The copy: named at request, or assigned at approval. Column `instance_id` (the seed's name). */
    copy: () =>
      p
        .manyToOne(ItemInstance)
        .ref()
        .fieldName('instance_id')
        .nullable()
        .deleteRule('restrict')
        .updateRule('cascade'),
    /** Classroom/place where premium equipment will be used. Max 50 chars. */
    environment: p.string().length(50).nullable(),
    status: p.enum(LOAN_STATUSES).default(LoanStatus.Pending),
    requestDate: p.datetime(),
    /** Due date the borrower asked for; the approved due date is never later than the policy's. */
    requestedDueDate: p.datetime().nullable(),
    approvalDate: p.datetime().nullable(),
    dueDate: p.datetime().nullable(),
    returnDate: p.datetime().nullable(),
    /** Rejection or cancellation instant. */
    rejectionDate: p.datetime().nullable(),
    observation: p.text().nullable(),
    requestedBy: actor,
    approvedBy: actor,
    rejectedBy: actor,
    rejectionReason: p.text().nullable(),
    receivedBy: actor,
    returnOutcome: p.enum(RETURN_OUTCOMES).nullable(),
    renewalCount: p.integer().default(0).check('renewal_count >= 0'),
    /** Overdue fine charged at return, minor units. */
    overdueFine: moneyColumn('overdue_fine').default(0),
    /** Replacement cost charged for a lost copy, minor units. */
    replacementCharge: moneyColumn('replacement_charge').default(0),
    /** `overdueFine + replacementCharge`, minor units (the seed's `final_penalty`). */
    finalPenalty: moneyColumn('final_penalty').default(0),
    // The terms the loan was approved under (docs/DESIGN.md §11): copied from the policy at approval and
    // used at renewal and return, so later policy edits never change a loan already out. Null
    // before approval (and on loans approved before these columns existed without a policy).
    /** Loan period at approval, in `termsLoanPeriodUnit`. */
    termsLoanPeriod: p.integer().nullable().check('terms_loan_period > 0'),
    termsLoanPeriodUnit: p.enum(PERIOD_UNITS).nullable(),
    /** Renewals allowed. */
    termsMaxRenewals: p.integer().nullable().check('terms_max_renewals >= 0'),
    /** Fine per interval, minor units. */
    termsFineAmount: p.bigint('number').nullable().check('terms_fine_amount >= 0'),
    termsFineInterval: p.enum(FINE_INTERVALS).nullable(),
    termsGracePeriodMinutes: p.integer().nullable().check('terms_grace_period_minutes >= 0'),
    termsGraceMode: p.enum(GRACE_MODES).nullable(),
    termsIntervalRounding: p.enum(INTERVAL_ROUNDINGS).nullable(),
    /** Fine cap, minor units; 0 = no cap. */
    termsMaxFine: p.bigint('number').nullable().check('terms_max_fine >= 0'),
    termsCapAtReplacementCost: p.boolean().nullable(),
    penaltySettlement: p.enum(PENALTY_SETTLEMENTS).nullable(),
    penaltySettledAt: p.datetime().nullable(),
    penaltySettledBy: actor,
    version: p.integer().version(),
    ...timestamps,
  },
  uniques: [
    {
      name: 'swl_loan_one_approved_per_instance',
      properties: ['copy'],
      where: { status: LoanStatus.Approved },
    },
  ],
  indexes: [
    { name: 'swl_loan_borrower_status_index', properties: ['borrower', 'status'] },
    { name: 'swl_loan_status_due_date_index', properties: ['status', 'dueDate'] },
    { name: 'swl_loan_entry_status_index', properties: ['catalogEntry', 'status'] },
    { name: 'swl_loan_instance_index', properties: ['copy'] },
    {
      // The penalty notices (issue 17) read returned loans with an unsettled penalty: few, among
      // every loan ever returned.
      name: 'swl_loan_unsettled_penalty_index',
      properties: ['returnDate'],
      where: "status = 'devuelto' and final_penalty > 0 and penalty_settlement is null",
    },
  ],
});

/** A request for, and then the loan of, one copy to one borrower. */
export class Loan extends LoanSchema.class {}
LoanSchema.setClass(Loan);
/** Plain shape of a {@link Loan} row. */
export type ILoan = InferEntity<typeof LoanSchema>;
