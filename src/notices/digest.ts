/**
 * Builds the digests of a claim: the claimed notices grouped by borrower, each with the borrower's
 * standing read once for all of them — loans out with due dates and accrued fines, unsettled
 * penalties, the bookings and holds the notices are about, and the automatic blocks. Fines follow
 * `LoanService.overdueLoans`: the terms fixed at approval, the current policy only for a legacy
 * loan without terms. Source: issue 17.
 *
 * @module
 * @internal
 */
import type { EntityManager } from '@mikro-orm/core';
import {
  LoanStatus,
  type NoticeStatus,
  type NoticeSubject,
  type NoticeTrigger,
  type Role,
} from '../domain/vocabulary.ts';
import { Hold } from '../entities/hold.entity.ts';
import { Loan } from '../entities/loan.entity.ts';
import { LoanPolicy } from '../entities/loan-policy.entity.ts';
import { Reservation } from '../entities/reservation.entity.ts';
import { User } from '../entities/user.entity.ts';
import { addMoney, calculateFine, overdueMinutes } from '../loans/fines.ts';
import { blockReasons, NO_FINE } from '../loans/rules.ts';
import { loanTerms, policyTerms } from '../loans/terms.ts';
import { type NoticeRow, noticeFromRow } from './schedule.ts';
import type {
  DigestHold,
  DigestLoan,
  DigestPenalty,
  DigestReservation,
  NoticeDigest,
  NoticeView,
} from './views.ts';

/** A notice row as the public view. */
export function toNoticeView(row: NoticeRow): NoticeView {
  const n = noticeFromRow(row);
  return {
    ...n,
    subjectType: n.subjectType as NoticeSubject,
    trigger: n.trigger as NoticeTrigger,
    status: n.status as NoticeStatus,
    dropReason: n.dropReason as NoticeView['dropReason'],
  };
}

const keysFor = (notices: NoticeView[], type: NoticeSubject, id: number) =>
  notices.filter((n) => n.subjectType === type && n.subjectId === id).map((n) => n.templateKey);

/** The digests of the claimed `rows` at `asOf`, one per borrower, in the order of their earliest notice. */
export async function composeDigests(
  em: EntityManager,
  rows: NoticeRow[],
  asOf: Date,
): Promise<NoticeDigest[]> {
  if (rows.length === 0) return [];
  const notices = rows
    .map(toNoticeView)
    .sort((a, b) => a.fireAt.getTime() - b.fireAt.getTime() || a.id - b.id);
  const borrowerIds = [...new Set(notices.map((n) => n.borrowerId))];
  const idsOf = (type: NoticeSubject) =>
    notices.filter((n) => n.subjectType === type).map((n) => n.subjectId);
  // One statement each, in turn: the claim's transaction has one connection.
  const users = await em.find(User, { id: { $in: borrowerIds } });
  const loansOut = await em.find(
    Loan,
    { borrower: { $in: borrowerIds }, status: LoanStatus.Approved },
    { populate: ['copy', 'catalogEntry'], orderBy: { dueDate: 'asc', id: 'asc' } },
  );
  const penalties = await em.find(
    Loan,
    {
      borrower: { $in: borrowerIds },
      status: LoanStatus.Returned,
      finalPenalty: { $gt: 0 },
      penaltySettlement: null,
    },
    { populate: ['catalogEntry'], orderBy: { returnDate: 'asc', id: 'asc' } },
  );
  const reservationIds = idsOf('reservation');
  const reservations =
    reservationIds.length > 0
      ? await em.find(Reservation, { id: { $in: reservationIds } }, { populate: ['catalogEntry'] })
      : [];
  const holdIds = idsOf('hold');
  const holds =
    holdIds.length > 0
      ? await em.find(Hold, { id: { $in: holdIds } }, { populate: ['catalogEntry', 'copy'] })
      : [];
  const policies = loansOut.some((l) => !loanTerms(l)) ? await em.find(LoanPolicy, {}) : [];
  const digests: NoticeDigest[] = [];
  for (const borrowerId of borrowerIds) {
    const user = users.find((u) => u.id === borrowerId);
    if (!user) throw new Error(`notice for unknown borrower ${borrowerId}`);
    const own = notices.filter((n) => n.borrowerId === borrowerId);
    const loans: DigestLoan[] = loansOut
      .filter((l) => l.borrower.id === borrowerId)
      .map((loan) => {
        const entry = loan.catalogEntry.unwrap();
        const policy = policies.find((p) => p.category === entry.category && p.role === user.role);
        const terms = loanTerms(loan) ?? (policy ? policyTerms(policy) : null);
        const due = loan.dueDate as Date;
        return {
          loanId: loan.id,
          catalogEntryId: entry.id,
          title: entry.titleOrName,
          copyCode: loan.copy?.isInitialized() ? loan.copy.unwrap().code : null,
          dueDate: due,
          overdueMinutes: overdueMinutes(due, asOf),
          accruedFine: terms
            ? calculateFine(due, asOf, terms, entry.replacementCost ?? null)
            : { ...NO_FINE },
          templateKeys: keysFor(own, 'loan', loan.id),
        };
      });
    const unsettled: DigestPenalty[] = penalties
      .filter((l) => l.borrower.id === borrowerId)
      .map((loan) => ({
        loanId: loan.id,
        title: loan.catalogEntry.unwrap().titleOrName,
        returnDate: loan.returnDate as Date,
        amount: loan.finalPenalty,
        templateKeys: keysFor(own, 'loan', loan.id),
      }));
    const bookings: DigestReservation[] = reservations
      .filter((r) => r.borrower.id === borrowerId)
      .map((r) => ({
        reservationId: r.id,
        catalogEntryId: r.catalogEntry.id,
        title: r.catalogEntry.unwrap().titleOrName,
        quantity: r.quantity,
        startsAt: r.startsAt,
        endsAt: r.endsAt,
        pickupDeadline: r.pickupDeadline,
        templateKeys: keysFor(own, 'reservation', r.id),
      }));
    const setAside: DigestHold[] = holds
      .filter((h) => h.borrower.id === borrowerId)
      .map((h) => ({
        holdId: h.id,
        catalogEntryId: h.catalogEntry.id,
        title: h.catalogEntry.unwrap().titleOrName,
        copyCode: h.copy?.isInitialized() ? h.copy.unwrap().code : null,
        readyAt: h.readyAt ?? null,
        expiresAt: h.expiresAt ?? null,
        templateKeys: keysFor(own, 'hold', h.id),
      }));
    const accrued = loans.reduce((sum, l) => addMoney(sum, l.accruedFine.amount).amount, 0);
    const owed = unsettled.reduce((sum, p) => addMoney(sum, p.amount).amount, 0);
    const blocks = blockReasons({
      overdueLoans: loans.filter((l) => l.dueDate.getTime() < asOf.getTime()).length,
      unsettledPenalties: unsettled.length,
    });
    digests.push({
      digestId: own[0]?.digestId ?? '',
      asOf,
      borrower: {
        id: user.id,
        documentId: user.documentId,
        fullName: user.fullName,
        email: user.email ?? null,
        role: user.role as Role,
      },
      notices: own,
      loans,
      penalties: unsettled,
      reservations: bookings,
      holds: setAside,
      fines: { accrued, unsettled: owed, total: addMoney(accrued, owed).amount },
      blocked: blocks.length > 0,
      blocks,
    });
  }
  return digests;
}
