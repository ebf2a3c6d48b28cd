/**
 * Reading lending policies and borrower standing. Source: DESIGN §5.
 * @module
 */
import type { EntityManager } from '@mikro-orm/core';
import type { Category, PeriodUnit, Role } from '../domain/vocabulary.ts';
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
 * The automatic blocks of DESIGN §5 for a borrower at `now`: an approved loan past its due date,
 * or a returned loan whose penalty is neither paid nor waived.
 * @internal
 */
export async function borrowerFigures(
  em: EntityManager,
  borrowerId: number,
  now: Date,
): Promise<StandingFigures> {
  // Sequential on purpose: inside a transaction all three share one connection.
  const overdueLoans = await em.count(Loan, {
    borrower: borrowerId,
    status: 'aprobado',
    dueDate: { $lt: now },
  });
  const unsettled = await em.find(
    Loan,
    { borrower: borrowerId, status: 'devuelto', finalPenalty: { $gt: 0 }, penaltySettlement: null },
    { fields: ['finalPenalty'] },
  );
  const activeLoans = await em.count(Loan, {
    borrower: borrowerId,
    status: { $in: ['pendiente', 'aprobado'] },
  });
  const reasons: BlockReason[] = [];
  if (overdueLoans > 0) reasons.push('overdue_loan');
  if (unsettled.length > 0) reasons.push('unsettled_penalty');
  return {
    overdueLoans,
    unsettledPenalties: unsettled.length,
    unsettledAmount: unsettled.reduce((sum, l) => sum + l.finalPenalty, 0),
    activeLoans,
    reasons,
  };
}
