/**
 * The lending rules of `src/loans/rules.ts`, without a database: due date at approval, charges at
 * return, renewal refusals and blocks. Each case names the rule it checks (`docs/DESIGN.md`
 * sections); the fine arithmetic itself is `test/fines.test.ts`.
 */
import { describe, expect, it } from 'vitest';
import { MAX_MONEY } from '../src/loans/fines.ts';
import {
  blockReasons,
  blockRefusal,
  chargesAtReturn,
  dueDateAtApproval,
  loanLimitRefusal,
  loanPeriodMs,
  renewalRefusal,
  renewedDueDate,
  requestedCopyRefusal,
} from '../src/loans/rules.ts';
import type { LoanTerms } from '../src/loans/views.ts';
import { expectSwlError } from './support/fixtures.ts';

const T = new Date('2026-03-02T10:00:00.000Z');
const hours = (n: number) => new Date(T.getTime() + n * 3_600_000);
const TERMS: LoanTerms = {
  loanPeriod: 7,
  loanPeriodUnit: 'days',
  maxRenewals: 1,
  fineAmount: 100,
  fineInterval: 'day',
  gracePeriodMinutes: 0,
  graceMode: 'threshold',
  intervalRounding: 'up',
  maxFine: 0,
  capAtReplacementCost: false,
};

describe('loan period (docs/DESIGN.md §5: minutes, hours, 24-hour UTC days)', () => {
  it.each([
    [{ loanPeriod: 90, loanPeriodUnit: 'minutes' as const }, 90 * 60_000],
    [{ loanPeriod: 4, loanPeriodUnit: 'hours' as const }, 4 * 3_600_000],
    [{ loanPeriod: 14, loanPeriodUnit: 'days' as const }, 14 * 86_400_000],
  ])('%j is %d ms', (period, ms) => {
    expect(loanPeriodMs(period)).toBe(ms);
  });
});

describe('due date at approval (docs/DESIGN.md §3 approve)', () => {
  it('is the approval instant plus one loan period', () => {
    expect(dueDateAtApproval(T, TERMS, null, undefined)).toEqual(hours(7 * 24));
  });

  it('takes an earlier requested due date, and ignores a later one', () => {
    expect(dueDateAtApproval(T, TERMS, hours(48), undefined)).toEqual(hours(48));
    expect(dueDateAtApproval(T, TERMS, hours(30 * 24), undefined)).toEqual(hours(7 * 24));
  });

  it('ignores a requested due date that passed while the request waited', () => {
    expect(dueDateAtApproval(T, TERMS, hours(-1), undefined)).toEqual(hours(7 * 24));
  });

  it('takes the earliest of the requested and the given due dates', () => {
    expect(dueDateAtApproval(T, TERMS, hours(48), hours(24))).toEqual(hours(24));
    expect(dueDateAtApproval(T, TERMS, hours(24), hours(48))).toEqual(hours(24));
  });

  it('refuses a given due date that is not in the future', async () => {
    await expectSwlError(() => dueDateAtApproval(T, TERMS, null, T), 'VALIDATION_FAILED');
  });
});

describe('charges at return (docs/DESIGN.md §3 return, §5 fines, §11 terms)', () => {
  it('charges nothing for an on-time ok return', () => {
    const c = chargesAtReturn(hours(24), hours(1), TERMS, 5_000, 'ok');
    expect(c).toMatchObject({ replacementCharge: 0, replacementCostUnknown: false, finalPenalty: 0 });
    expect(c.fine.amount).toBe(0);
  });

  it('charges the overdue fine of the terms (3 days late at 100 a day)', () => {
    expect(chargesAtReturn(T, hours(72), TERMS, null, 'ok').finalPenalty).toBe(300);
  });

  it('charges no fine without terms', () => {
    expect(chargesAtReturn(T, hours(72), null, null, 'ok').finalPenalty).toBe(0);
  });

  it('adds the replacement cost when the copy is lost', () => {
    expect(chargesAtReturn(T, hours(24), TERMS, 5_000, 'lost')).toMatchObject({
      replacementCharge: 5_000,
      finalPenalty: 5_100,
      replacementCostUnknown: false,
    });
  });

  it('says so when a lost copy has no known replacement cost, instead of charging nothing silently', () => {
    expect(chargesAtReturn(T, hours(1), TERMS, null, 'lost')).toMatchObject({
      replacementCharge: 0,
      replacementCostUnknown: true,
    });
  });

  it('holds the total at MAX_MONEY', () => {
    const big = { ...TERMS, fineAmount: MAX_MONEY };
    const c = chargesAtReturn(T, hours(48), big, MAX_MONEY, 'lost');
    expect(c.finalPenalty).toBe(MAX_MONEY);
    expect(c.finalPenaltyCappedBy).toBe('ceiling');
  });
});

describe('renewal refusals (docs/DESIGN.md §5; order as FOLIO and Koha check them)', () => {
  const loan = { id: 7, dueDate: hours(24), renewalCount: 0 };

  it('renews a loan that is not overdue and has renewals left', () => {
    expect(renewalRefusal(loan, TERMS, T)).toBeNull();
  });

  it('refuses an overdue loan (due exactly now counts as overdue)', () => {
    expect(renewalRefusal({ ...loan, dueDate: T }, TERMS, T)?.code).toBe('LOAN_OVERDUE');
  });

  it('refuses a loan that used its renewals', () => {
    expect(renewalRefusal({ ...loan, renewalCount: 1 }, TERMS, T)?.code).toBe('RENEWAL_LIMIT_REACHED');
  });

  it('reports overdue before the renewal limit', () => {
    expect(renewalRefusal({ ...loan, dueDate: T, renewalCount: 1 }, TERMS, T)?.code).toBe('LOAN_OVERDUE');
  });

  it('moves the due date by one loan period from the current due date', () => {
    expect(renewedDueDate(hours(24), TERMS)).toEqual(hours(24 + 7 * 24));
  });
});

describe('blocks and limits (docs/DESIGN.md §5)', () => {
  const clear = { overdueLoans: 0, unsettledPenalties: 0, unsettledAmount: 0, activeLoans: 0 };

  it('does not block a borrower with no overdue loan and no unsettled penalty', () => {
    expect(blockReasons(clear)).toEqual([]);
    expect(blockRefusal(1, clear)).toBeNull();
  });

  it('blocks for an overdue loan, an unsettled penalty, or both (in that order)', () => {
    expect(blockReasons({ ...clear, overdueLoans: 1 })).toEqual(['overdue_loan']);
    expect(blockReasons({ ...clear, unsettledPenalties: 2 })).toEqual(['unsettled_penalty']);
    const both = blockRefusal(1, { ...clear, overdueLoans: 1, unsettledPenalties: 1, unsettledAmount: 250 });
    expect(both?.code).toBe('BORROWER_BLOCKED');
    expect(both?.details).toMatchObject({
      reasons: ['overdue_loan', 'unsettled_penalty'],
      unsettledAmount: 250,
    });
  });

  it('refuses a request at the policy limit, not below it', () => {
    expect(loanLimitRefusal(1, 'general', 2, 3)).toBeNull();
    expect(loanLimitRefusal(1, 'general', 3, 3)?.code).toBe('LOAN_LIMIT_REACHED');
  });

  it('lets a request name a copy on the shelf or on loan, not one in maintenance, lost or withdrawn', () => {
    const copy = (status: Parameters<typeof requestedCopyRefusal>[0]['status']) => ({
      id: 1,
      code: 'LIB-1-1',
      status,
    });
    expect(requestedCopyRefusal(copy('disponible'))).toBeNull();
    expect(requestedCopyRefusal(copy('prestado'))).toBeNull();
    for (const status of ['mantenimiento', 'perdido', 'retirado'] as const) {
      expect(requestedCopyRefusal(copy(status))?.code).toBe('COPY_UNAVAILABLE');
    }
  });
});
