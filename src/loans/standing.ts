/**
 * Reading lending policies and borrower standing. Source: docs/DESIGN.md §5.
 * @module
 */
import { type EntityManager, raw } from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/sql';
import { type Category, LoanStatus, type PeriodUnit, type Role } from '../domain/vocabulary.ts';
import { MAX_MONEY } from '../entities/common.ts';
import { Loan } from '../entities/loan.entity.ts';
import { LoanPolicy } from '../entities/loan-policy.entity.ts';
import type { BlockReason } from './views.ts';

const UNIT_MS: Readonly<Record<PeriodUnit, number>> = { minutes: 60_000, hours: 3_600_000, days: 86_400_000 };

/**
 * A policy's loan period in milliseconds (`days` are 24-hour UTC days).
 * @param policy - `loanPeriod` (> 0) and `loanPeriodUnit`.
 */
export function loanPeriodMs(policy: { loanPeriod: number; loanPeriodUnit: PeriodUnit }): number {
  return policy.loanPeriod * UNIT_MS[policy.loanPeriodUnit];
}

/** The policy for (category, role), or null when that role may not borrow that category. @internal */
export function findPolicy(em: EntityManager, category: Category, role: Role): Promise<LoanPolicy | null> {
  return em.findOne(LoanPolicy, { category, role });
}

/** @internal */
export interface StandingFigures {
  overdueLoans: number;
  unsettledPenalties: number;
  unsettledAmount: number;
  activeLoans: number;
  reasons: BlockReason[];
}

/**
 * The automatic blocks of docs/DESIGN.md §5 for a borrower at `now`: an approved loan past its due date,
 * or a returned loan whose penalty is neither paid nor waived; plus the pending + approved count.
 * `unsettledAmount` (minor units) is held at `MAX_MONEY`.
 *
 * One aggregate query over the borrower's pending, approved and returned loans (index
 * `swl_loan_borrower_status_index`), instead of one query per figure: every command that checks
 * the blocks (request, approve, renew) pays one round trip for them.
 * @internal
 */
export async function borrowerFigures(
  em: EntityManager,
  borrowerId: number,
  now: Date,
): Promise<StandingFigures> {
  const { Pending, Approved, Returned } = LoanStatus;
  const unsettled = 'l.status = ? and l.final_penalty > 0 and l.penalty_settlement is null';
  const row = await (em as unknown as SqlEntityManager)
    .createQueryBuilder(Loan, 'l')
    .select([
      raw('coalesce(sum(case when l.status = ? and l.due_date < ? then 1 else 0 end), 0) as overdue_loans', [
        Approved,
        now,
      ]),
      raw(`coalesce(sum(case when ${unsettled} then 1 else 0 end), 0) as unsettled_penalties`, [Returned]),
      // Held at MAX_MONEY in SQL: a sum of several large penalties stays a safe JS number.
      raw(
        `case when coalesce(sum(case when ${unsettled} then l.final_penalty else 0 end), 0) > ${MAX_MONEY}
              then ${MAX_MONEY} else coalesce(sum(case when ${unsettled} then l.final_penalty else 0 end), 0) end
         as unsettled_amount`,
        [Returned, Returned],
      ),
      raw('coalesce(sum(case when l.status in (?, ?) then 1 else 0 end), 0) as active_loans', [
        Pending,
        Approved,
      ]),
    ])
    .where({ borrower: borrowerId, status: { $in: [Pending, Approved, Returned] } })
    .execute<Record<string, number | string | null> | undefined>('get', false);
  const overdueLoans = Number(row?.overdue_loans ?? 0);
  const unsettledPenalties = Number(row?.unsettled_penalties ?? 0);
  const reasons: BlockReason[] = [];
  if (overdueLoans > 0) reasons.push('overdue_loan');
  if (unsettledPenalties > 0) reasons.push('unsettled_penalty');
  return {
    overdueLoans,
    unsettledPenalties,
    unsettledAmount: Number(row?.unsettled_amount ?? 0),
    activeLoans: Number(row?.active_loans ?? 0),
    reasons,
  };
}
