/**
 * Issue 11: a loan keeps the terms it was approved under (docs/DESIGN.md §11); an unknown replacement cost
 * is not a cap and is reported when a copy is lost; renewal refuses a deactivated borrower as
 * approval does. On both databases.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { CatalogService } from '../src/catalog/catalog.service.ts';
import { CatalogEntry } from '../src/entities/catalog-entry.entity.ts';
import { Loan } from '../src/entities/loan.entity.ts';
import { User } from '../src/entities/user.entity.ts';
import type { LoanTransitionEvent } from '../src/events.ts';
import { LoanService } from '../src/loans/loan.service.ts';
import type { LoanTerms } from '../src/loans/views.ts';
import type { Actor } from '../src/permissions.ts';
import { PolicyService } from '../src/policies/policy.service.ts';
import type { LoanPolicyRule } from '../src/policies/schemas.ts';
import { DEFAULT_INVENTORY } from '../src/seeding/defaults.ts';
import { seedDefaults } from '../src/seeding/seed.ts';
import {
  describeEachDialect,
  expectSwlError,
  rowCounts,
  T0,
  TEST_POLICIES,
  useDesk,
} from './support/fixtures.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The TEST_POLICIES rule (test/support/fixtures.ts) for general loans of `role`. */
function generalPolicy(role: 'student' | 'teacher') {
  return TEST_POLICIES.find((p) => p.category === 'general' && p.role === role) as LoanPolicyRule;
}

/** The terms TEST_POLICIES give a general loan of `role`: its rule without the request-time limits. */
function generalTerms(role: 'student' | 'teacher'): LoanTerms {
  const {
    category: _category,
    role: _role,
    maxActiveLoans: _max,
    environmentRequired: _env,
    ...terms
  } = generalPolicy(role);
  return terms;
}

describe('general terms of the test policies', () => {
  it('are docs/DESIGN.md §5: 3 days and one renewal for students, 7 days and two for teachers, 1,000 COP a day after 60 min, at most 20,000 COP', () => {
    expect(generalTerms('student')).toEqual({
      loanPeriod: 3,
      loanPeriodUnit: 'days',
      maxRenewals: 1,
      fineAmount: 100_000,
      fineInterval: 'day',
      gracePeriodMinutes: 60,
      graceMode: 'threshold',
      intervalRounding: 'up',
      maxFine: 2_000_000,
      capAtReplacementCost: false,
    });
    expect(generalTerms('teacher')).toEqual({ ...generalTerms('student'), loanPeriod: 7, maxRenewals: 2 });
  });
});

describe('DEFAULT_INVENTORY (pure)', () => {
  it('keeps known replacement costs for every seeded item', () => {
    for (const item of DEFAULT_INVENTORY) {
      expect(Number.isSafeInteger(item.replacementCost), item.titleOrName).toBe(true);
      expect(item.replacementCost as number, item.titleOrName).toBeGreaterThan(0);
    }
  });
});

describeEachDialect('loan terms fixed at approval (issue 11)', (dialect) => {
  const desk = useDesk(dialect);

  const loans = () => new LoanService(desk.em(), { clock: desk.clock, events: desk.events });
  const policies = () => new PolicyService(desk.em(), { clock: desk.clock });
  /** Puts general × `role` back to its TEST_POLICIES terms (tests edit and delete it). */
  const restore = async (role: 'student' | 'teacher') => {
    await policies().upsert(desk.admin, generalPolicy(role));
  };

  async function approvedLoan(borrower: Actor, options: { replacementCost?: number } = {}) {
    desk.clock.set(T0);
    const entry = await desk.entry('general', 1, options);
    const requested = await loans().request(borrower, { catalogEntryId: entry.id });
    expect(requested.terms).toBeNull(); // nothing is fixed before approval
    return loans().approve(desk.staff, { loanId: requested.id });
  }

  it('the loan view shows the terms fixed at approval (also in the approved event), null before', async () => {
    const student = await desk.user('student');
    const approved = await approvedLoan(student);
    expect(approved.terms).toEqual(generalTerms('student'));
    const details = await loans().getLoan(student, { loanId: approved.id });
    expect(details.terms).toEqual(generalTerms('student'));
    expect(details.events.find((e) => e.type === 'approved')?.data).toMatchObject({
      terms: generalTerms('student'),
    });
    const listed = await loans().listBorrowerLoans(student, { scope: 'active' });
    expect(listed.items[0]?.terms).toEqual(generalTerms('student'));
    const row = await desk.em().findOneOrFail(Loan, approved.id);
    expect([row.termsFineAmount, row.termsMaxFine, row.termsLoanPeriodUnit]).toEqual([
      100_000,
      2_000_000,
      'days',
    ]);
  });

  it('lowering the policy fine after approval leaves the loan’s fine: 300,000 stays 300,000 (not 3)', async () => {
    await policies().update(desk.admin, {
      category: 'general',
      role: 'teacher',
      fineAmount: 300_000,
      maxFine: 0,
    });
    const teacher = await desk.user('teacher');
    const approved = await approvedLoan(teacher);
    expect(approved.terms).toMatchObject({ fineAmount: 300_000, maxFine: 0 });
    await policies().update(desk.admin, { category: 'general', role: 'teacher', fineAmount: 3 });

    desk.clock.set(new Date((approved.dueDate as Date).getTime() + DAY)); // 1440 min late: 1 day
    const overdue = await loans().overdueLoans(desk.staff, { limit: 500 });
    expect(overdue.items.find((l) => l.id === approved.id)?.accruedFine.amount).toBe(300_000);
    const back = await loans().return(desk.staff, { loanId: approved.id });
    expect(back).toMatchObject({ overdueFine: 300_000, finalPenalty: 300_000 });
    expect(back.terms?.fineAmount).toBe(300_000);
    const event = (await loans().getLoan(desk.staff, { loanId: approved.id })).events.at(-1);
    expect(event?.data).toMatchObject({ termsSource: 'loan', fine: { amount: 300_000 } });

    // A loan approved after the edit gets the new terms.
    const later = await approvedLoan(await desk.user('teacher'));
    expect(later.terms?.fineAmount).toBe(3);
    await restore('teacher');
  });

  it('deleting the policy after approval: the loan still renews under its terms and an overdue return still charges its fine', async () => {
    const student = await desk.user('student');
    const approved = await approvedLoan(student);
    const gone = await policies().delete(desk.admin, { category: 'general', role: 'student' });
    expect(gone.fineAmount).toBe(100_000);
    // New requests are refused, the loan already out is not affected.
    const entry = await desk.entry('general', 1);
    await expectSwlError(
      loans().request(await desk.user('student'), { catalogEntryId: entry.id }),
      'POLICY_FORBIDS',
    );

    const renewed = await loans().renew(student, { loanId: approved.id });
    expect(renewed.dueDate?.getTime()).toBe((approved.dueDate as Date).getTime() + 3 * DAY);
    desk.clock.set(new Date((renewed.dueDate as Date).getTime() + 2 * DAY + 2 * HOUR)); // 3 days started
    const back = await loans().return(desk.staff, { loanId: approved.id });
    expect(back).toMatchObject({ overdueFine: 300_000, finalPenalty: 300_000 });
    await restore('student');
  });

  it('a renewal after the policy’s period and renewals changed uses the loan’s terms', async () => {
    const student = await desk.user('student');
    const approved = await approvedLoan(student); // 3 days, 1 renewal
    await policies().update(desk.admin, {
      category: 'general',
      role: 'student',
      loanPeriod: 1,
      loanPeriodUnit: 'hours',
      maxRenewals: 5,
    });
    const renewed = await loans().renew(student, { loanId: approved.id });
    expect(renewed.dueDate?.getTime()).toBe((approved.dueDate as Date).getTime() + 3 * DAY);
    const refused = await expectSwlError(
      loans().renew(student, { loanId: approved.id }),
      'RENEWAL_LIMIT_REACHED',
    );
    expect(refused.details).toMatchObject({ renewals: 1, limit: 1 });

    // The other way round: fewer renewals in the policy do not take the loan's away.
    await policies().update(desk.admin, { category: 'general', role: 'student', maxRenewals: 0 });
    const other = await approvedLoan(await desk.user('student'));
    expect(other.terms).toMatchObject({ loanPeriod: 1, loanPeriodUnit: 'hours', maxRenewals: 0 });
    await restore('student');
    const teacher = await desk.user('teacher');
    const teacherLoan = await approvedLoan(teacher); // 7 days, 2 renewals
    await policies().update(desk.admin, { category: 'general', role: 'teacher', maxRenewals: 0 });
    expect((await loans().renew(teacher, { loanId: teacherLoan.id })).renewalCount).toBe(1);
    expect((await loans().renew(teacher, { loanId: teacherLoan.id })).renewalCount).toBe(2);
    await restore('teacher');
  });

  it('a legacy loan without stored terms follows the current policy, and is charged no fine when there is none', async () => {
    // As the upgrade left a loan approved when no policy was in force: every terms column null
    // (plain SQL, so the row's updated_at — a loan's latest instant — stays as it was).
    const clearTerms = async (loanId: number) => {
      const columns = [
        'loan_period',
        'loan_period_unit',
        'max_renewals',
        'fine_amount',
        'fine_interval',
        'grace_period_minutes',
        'grace_mode',
        'interval_rounding',
        'max_fine',
        'cap_at_replacement_cost',
      ];
      await desk
        .em()
        .getConnection()
        .execute(`update swl_loan set ${columns.map((c) => `terms_${c} = null`).join(', ')} where id = ?`, [
          loanId,
        ]);
    };
    const withPolicy = await approvedLoan(await desk.user('teacher'));
    const withoutPolicy = await approvedLoan(await desk.user('teacher'));
    await clearTerms(withPolicy.id);
    await clearTerms(withoutPolicy.id);
    expect((await loans().getLoan(desk.staff, { loanId: withPolicy.id })).terms).toBeNull();

    await policies().update(desk.admin, { category: 'general', role: 'teacher', fineAmount: 7 });
    desk.clock.set(new Date((withPolicy.dueDate as Date).getTime() + DAY));
    const back = await loans().return(desk.staff, { loanId: withPolicy.id });
    expect(back.overdueFine).toBe(7);
    expect((await loans().getLoan(desk.staff, { loanId: withPolicy.id })).events.at(-1)?.data).toMatchObject({
      termsSource: 'policy',
    });

    await policies().delete(desk.admin, { category: 'general', role: 'teacher' });
    desk.clock.set(T0);
    await expectSwlError(loans().renew(desk.staff, { loanId: withoutPolicy.id }), 'POLICY_FORBIDS');
    desk.clock.set(new Date((withoutPolicy.dueDate as Date).getTime() + DAY));
    const free = await loans().return(desk.staff, { loanId: withoutPolicy.id });
    expect(free).toMatchObject({ status: 'devuelto', overdueFine: 0, finalPenalty: 0 });
    expect(
      (await loans().getLoan(desk.staff, { loanId: withoutPolicy.id })).events.at(-1)?.data,
    ).toMatchObject({
      termsSource: 'none',
    });
    await restore('teacher');
  });
});

describeEachDialect('an unknown replacement cost is not a cap (issue 11)', (dialect) => {
  const desk = useDesk(dialect);
  beforeAll(async () => {
    // General × student: caps at the replacement cost too (the max fine stays 2,000,000).
    await new PolicyService(desk.em()).update(desk.admin, {
      category: 'general',
      role: 'student',
      capAtReplacementCost: true,
    });
  });

  const loans = () => new LoanService(desk.em(), { clock: desk.clock, events: desk.events });
  const catalog = () => new CatalogService(desk.em(), { clock: desk.clock });

  /** An entry made through the catalog service with `replacementCost` (omitted = not given). */
  async function entryWith(replacementCost?: number | null) {
    const { entry } = await catalog().createEntry(desk.admin, {
      titleOrName: `Cost ${String(replacementCost)} ${Math.random()}`,
      category: 'general',
      copies: 1,
      ...(replacementCost === undefined ? {} : { replacementCost }),
    });
    return entry;
  }
  async function lateReturn(entryId: number, outcome: 'ok' | 'lost' | 'damaged', daysLate = 30) {
    desk.clock.set(T0);
    const student = await desk.user('student');
    const loan = await loans().request(student, { catalogEntryId: entryId });
    const approved = await loans().approve(desk.staff, { loanId: loan.id });
    desk.clock.set(new Date((approved.dueDate as Date).getTime() + daysLate * DAY));
    const back = await loans().return(desk.staff, { loanId: loan.id, outcome });
    const event = (await loans().getLoan(desk.staff, { loanId: loan.id })).events.at(-1);
    return { back, event };
  }

  it('createEntry without a cost stores an unknown cost (null); updateEntry sets null (unknown), 0 (free) or a price', async () => {
    const entry = await entryWith();
    expect(entry.replacementCost).toBeNull();
    expect((await desk.em().findOneOrFail(CatalogEntry, entry.id)).replacementCost).toBeNull();
    expect(
      (await catalog().updateEntry(desk.admin, { catalogEntryId: entry.id, replacementCost: 0 }))
        .replacementCost,
    ).toBe(0);
    expect((await desk.em().findOneOrFail(CatalogEntry, entry.id)).replacementCost).toBe(0);
    const unknown = await catalog().updateEntry(desk.admin, {
      catalogEntryId: entry.id,
      replacementCost: null,
    });
    expect(unknown.replacementCost).toBeNull();
    expect((await catalog().getEntry(desk.staff, { catalogEntryId: entry.id })).replacementCost).toBeNull();
    expect((await desk.em().findOneOrFail(CatalogEntry, entry.id)).replacementCost).toBeNull();
    expect((await entryWith(null)).replacementCost).toBeNull();
  });

  it('capAtReplacementCost with an unknown cost: only the max fine caps (30 days late → 2,000,000, not 0)', async () => {
    const { back, event } = await lateReturn((await entryWith()).id, 'ok');
    expect(back).toMatchObject({
      overdueFine: 2_000_000,
      replacementCharge: 0,
      replacementCostUnknown: false,
    });
    expect(event?.data).toMatchObject({ fine: { cappedBy: 'max_fine' }, replacementCostUnknown: false });
  });

  it('a known cost caps the fine: 0 (free) caps at 0, a price below the max fine caps at the price', async () => {
    const free = await lateReturn((await entryWith(0)).id, 'ok');
    expect(free.back).toMatchObject({ overdueFine: 0, finalPenalty: 0 });
    expect(free.event?.data).toMatchObject({
      fine: { amount: 0, uncapped: 3_000_000, cappedBy: 'replacement_cost' },
    });
    const priced = await lateReturn((await entryWith(1_500_000)).id, 'ok');
    expect(priced.back).toMatchObject({ overdueFine: 1_500_000, finalPenalty: 1_500_000 });
  });

  it('a copy lost with an unknown cost: replacement charge 0, and the return says the cost is unknown', async () => {
    const seen = desk.received.length;
    const { back, event } = await lateReturn((await entryWith()).id, 'lost', 1);
    expect(back).toMatchObject({
      returnOutcome: 'lost',
      overdueFine: 100_000,
      replacementCharge: 0,
      finalPenalty: 100_000,
      replacementCostUnknown: true,
    });
    expect(event?.data).toMatchObject({ replacementCharge: 0, replacementCostUnknown: true });
    const published = desk.received.slice(seen).find((e) => e.kind === 'loan' && e.type === 'returned') as
      | LoanTransitionEvent
      | undefined;
    expect(published?.data).toMatchObject({ replacementCostUnknown: true });

    // Known costs: 0 is charged as 0 and is not "unknown"; a price is charged.
    expect((await lateReturn((await entryWith(0)).id, 'lost', 0)).back).toMatchObject({
      replacementCharge: 0,
      replacementCostUnknown: false,
    });
    expect((await lateReturn((await entryWith(4_500_000)).id, 'lost', 0)).back).toMatchObject({
      replacementCharge: 4_500_000,
      finalPenalty: 4_500_000,
      replacementCostUnknown: false,
    });
    // Not lost: an unknown cost is not reported.
    expect((await lateReturn((await entryWith()).id, 'damaged', 0)).back.replacementCostUnknown).toBe(false);
  });

  it('the seeded inventory keeps its known replacement costs', async () => {
    await seedDefaults(desk.em(), { adminPassword: 'a strong seed password', policies: false });
    const entries = await desk
      .em()
      .find(CatalogEntry, { titleOrName: DEFAULT_INVENTORY.map((i) => i.titleOrName) });
    expect(Object.fromEntries(entries.map((e) => [e.titleOrName, e.replacementCost]))).toEqual(
      Object.fromEntries(DEFAULT_INVENTORY.map((i) => [i.titleOrName, i.replacementCost])),
    );
  });
});

describeEachDialect('renewal follows approval’s borrower rule (issue 11)', (dialect) => {
  const desk = useDesk(dialect);

  const loans = () => new LoanService(desk.em(), { clock: desk.clock, events: desk.events });
  const setActive = async (userId: number, active: boolean) => {
    const em = desk.em();
    (await em.findOneOrFail(User, userId)).active = active;
    await em.flush();
  };

  it('staff renewing a deactivated borrower’s loan get BORROWER_INACTIVE and nothing is written; reactivated, it renews', async () => {
    desk.clock.set(T0);
    const student = await desk.user('student');
    const entry = await desk.entry('general', 1);
    const loan = await loans().request(student, { catalogEntryId: entry.id });
    const approved = await loans().approve(desk.staff, { loanId: loan.id });
    await setActive(student.id, false);

    const before = await rowCounts(desk.orm);
    for (const who of [desk.staff, desk.admin]) {
      const refused = await expectSwlError(loans().renew(who, { loanId: loan.id }), 'BORROWER_INACTIVE');
      expect(refused.details).toMatchObject({ borrowerId: student.id });
    }
    // The deactivated borrower themself is refused as an inactive acting user.
    await expectSwlError(loans().renew(student, { loanId: loan.id }), 'FORBIDDEN');
    expect(await rowCounts(desk.orm)).toEqual(before);
    const row = await desk.em().findOneOrFail(Loan, loan.id);
    expect([row.renewalCount, row.dueDate?.getTime()]).toEqual([0, approved.dueDate?.getTime()]);

    await setActive(student.id, true);
    expect((await loans().renew(desk.staff, { loanId: loan.id })).renewalCount).toBe(1);
  });
});
