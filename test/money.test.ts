/**
 * Issue 11, "Money cannot overflow on either database": every accepted amount (0..MAX_MONEY minor
 * units) is computed exactly, stored exactly in the 64-bit money columns and read back the same on
 * SQLite and PostgreSQL; a fine or penalty above MAX_MONEY is held at it (`cappedBy: 'ceiling'`).
 */
import { expect, it } from 'vitest';
import { CatalogService } from '../src/catalog/catalog.service.ts';
import { ItemInstance } from '../src/entities/item-instance.entity.ts';
import { Loan } from '../src/entities/loan.entity.ts';
import { calculateFine, MAX_MONEY } from '../src/loans/fines.ts';
import { LoanService } from '../src/loans/loan.service.ts';
import type { LoanTerms } from '../src/loans/views.ts';
import type { Actor } from '../src/permissions.ts';
import { PolicyService } from '../src/policies/policy.service.ts';
import { describeEachDialect, expectSwlError, T0, useDesk } from './support/fixtures.ts';

const INT32_MAX = 2 ** 31 - 1;

describeEachDialect('money cannot overflow (issue 11)', (dialect) => {
  const desk = useDesk(dialect);

  const loans = () => new LoanService(desk.em(), { clock: desk.clock, events: desk.events });
  const policies = () => new PolicyService(desk.em(), { clock: desk.clock });
  const catalog = () => new CatalogService(desk.em(), { clock: desk.clock });

  /** A loan's money columns as stored, read with plain SQL and parsed exactly (BigInt). */
  async function stored(loanId: number) {
    const rows = await desk
      .em()
      .getConnection()
      .execute<Record<string, unknown>[]>(
        'select overdue_fine, replacement_charge, final_penalty from swl_loan where id = ?',
        [loanId],
      );
    const row = rows[0] as Record<string, unknown>;
    const exact = (v: unknown) => BigInt(String(v));
    return {
      overdueFine: exact(row.overdue_fine),
      replacementCharge: exact(row.replacement_charge),
      finalPenalty: exact(row.final_penalty),
    };
  }

  /** A loan of a copy of `entryId` to a new borrower of `role`, approved at T0. */
  async function lend(role: 'teacher' | 'staff' | 'student', entryId: number) {
    desk.clock.set(T0);
    const borrower: Actor = await desk.user(role);
    const requested = await loans().request(borrower, { catalogEntryId: entryId });
    const approved = await loans().approve(desk.staff, { loanId: requested.id });
    return { borrower, loan: approved };
  }

  it('an uncapped per-minute fine of 2³¹−1 returned a day late: the return succeeds and stores 2,147,483,647 × 1440 exactly', async () => {
    await policies().update(desk.admin, {
      category: 'general',
      role: 'teacher',
      fineAmount: INT32_MAX,
      fineInterval: 'minute',
      maxFine: 0,
      gracePeriodMinutes: 60, // threshold: past the grace, all 1440 minutes count
    });
    const entry = await desk.entry('general', 1);
    const { loan } = await lend('teacher', entry.id);
    const due = loan.dueDate as Date;
    desk.clock.set(new Date(due.getTime() + 24 * 3_600_000));

    const back = await loans().return(desk.staff, { loanId: loan.id });
    const expected = calculateFine(due, desk.clock.now(), loan.terms as LoanTerms, 5_000_000);
    expect(expected).toMatchObject({ overdueMinutes: 1440, chargedMinutes: 1440, cappedBy: null });
    expect(expected.amount).toBe(3_092_376_451_680);
    expect(back).toMatchObject({
      status: 'devuelto',
      overdueFine: expected.amount,
      replacementCharge: 0,
      finalPenalty: expected.amount,
    });
    expect(await stored(loan.id)).toEqual({
      overdueFine: 2_147_483_647n * 1440n,
      replacementCharge: 0n,
      finalPenalty: 2_147_483_647n * 1440n,
    });
    const row = await desk.em().findOneOrFail(Loan, loan.id);
    expect([row.status, row.overdueFine, row.finalPenalty]).toEqual([
      'devuelto',
      expected.amount,
      expected.amount,
    ]);
    expect((await desk.em().findOneOrFail(ItemInstance, entry.copies[0] as number)).status).toBe(
      'disponible',
    );
  });

  it('a copy with replacement cost 2³¹−1, and one with MAX_MONEY, returned lost: charged and stored exactly', async () => {
    for (const cost of [INT32_MAX, MAX_MONEY]) {
      const entry = await desk.entry('general', 1, { replacementCost: cost });
      const { loan } = await lend('student', entry.id);
      const back = await loans().return(desk.staff, { loanId: loan.id, outcome: 'lost' }); // on time
      expect(back).toMatchObject({
        overdueFine: 0,
        replacementCharge: cost,
        finalPenalty: cost,
        replacementCostUnknown: false,
      });
      expect(await stored(loan.id)).toEqual({
        overdueFine: 0n,
        replacementCharge: BigInt(cost),
        finalPenalty: BigInt(cost),
      });
      expect((await desk.em().findOneOrFail(ItemInstance, entry.copies[0] as number)).status).toBe('perdido');
    }
  });

  it('a fine that would exceed MAX_MONEY is held at MAX_MONEY (cappedBy ceiling), in the overdue list and at return', async () => {
    await policies().update(desk.admin, {
      category: 'general',
      role: 'staff',
      fineAmount: MAX_MONEY,
      fineInterval: 'minute',
      maxFine: 0,
      gracePeriodMinutes: 0,
    });
    const entry = await desk.entry('general', 1, { replacementCost: MAX_MONEY });
    const { loan } = await lend('staff', entry.id);
    const due = loan.dueDate as Date;
    desk.clock.set(new Date(due.getTime() + 3 * 60_000)); // 3 × MAX_MONEY

    const overdue = await loans().overdueLoans(desk.staff, { limit: 500 });
    expect(overdue.items.find((l) => l.id === loan.id)?.accruedFine).toMatchObject({
      overdueMinutes: 3,
      amount: MAX_MONEY,
      cappedBy: 'ceiling',
    });

    // Lost as well: fine MAX_MONEY + replacement MAX_MONEY → the penalty is held at MAX_MONEY too.
    const back = await loans().return(desk.staff, { loanId: loan.id, outcome: 'lost' });
    expect(back).toMatchObject({
      overdueFine: MAX_MONEY,
      replacementCharge: MAX_MONEY,
      finalPenalty: MAX_MONEY,
    });
    expect(await stored(loan.id)).toEqual({
      overdueFine: BigInt(MAX_MONEY),
      replacementCharge: BigInt(MAX_MONEY),
      finalPenalty: BigInt(MAX_MONEY),
    });
    const event = (await loans().getLoan(desk.staff, { loanId: loan.id })).events.at(-1);
    expect(event?.data).toMatchObject({
      fine: { amount: MAX_MONEY, uncapped: MAX_MONEY, cappedBy: 'ceiling' },
      finalPenalty: MAX_MONEY,
      finalPenaltyCappedBy: 'ceiling',
    });
  });

  it('a borrower owing several MAX_MONEY penalties: the unsettled amount is held at MAX_MONEY and the block is typed', async () => {
    desk.clock.set(T0);
    const borrower = await desk.user('teacher');
    const lostEntry = await desk.entry('general', 1, { replacementCost: MAX_MONEY });
    const first = await loans().request(desk.staff, {
      borrowerId: borrower.id,
      catalogEntryId: lostEntry.id,
    });
    await loans().approve(desk.staff, { loanId: first.id });
    await loans().return(desk.staff, { loanId: first.id, outcome: 'lost' });
    // Two more returned loans with MAX_MONEY penalties, written directly (the borrower is blocked
    // now): 3 × MAX_MONEY is beyond what a JavaScript number holds exactly.
    const em = desk.em();
    const template = await em.findOneOrFail(Loan, first.id);
    for (let k = 0; k < 2; k++) {
      em.create(Loan, {
        borrower: borrower.id,
        catalogEntry: template.catalogEntry.id,
        status: 'devuelto',
        requestDate: template.requestDate,
        approvalDate: template.approvalDate,
        dueDate: template.dueDate,
        returnDate: template.returnDate,
        returnOutcome: 'lost',
        replacementCharge: MAX_MONEY,
        finalPenalty: MAX_MONEY,
      });
    }
    await em.flush();
    const standing = await loans().borrowerStanding(desk.staff, { borrowerId: borrower.id });
    expect(standing).toMatchObject({ blocked: true, unsettledPenalties: 3, unsettledAmount: MAX_MONEY });
    const entry = await desk.entry('general', 1);
    const refused = await expectSwlError(
      loans().request(desk.staff, { borrowerId: borrower.id, catalogEntryId: entry.id }),
      'BORROWER_BLOCKED',
    );
    expect(refused.details).toMatchObject({ reasons: ['unsettled_penalty'], unsettledAmount: MAX_MONEY });
  });

  it('policies and catalog entries accept amounts up to MAX_MONEY and store them exactly; above it is VALIDATION_FAILED', async () => {
    const policy = await policies().update(desk.admin, {
      category: 'premium',
      role: 'teacher',
      fineAmount: MAX_MONEY,
      maxFine: MAX_MONEY - 1,
    });
    expect(policy).toMatchObject({ fineAmount: MAX_MONEY, maxFine: MAX_MONEY - 1 });
    const read = await policies().get(desk.staff, { category: 'premium', role: 'teacher' });
    expect([read.fineAmount, read.maxFine]).toEqual([MAX_MONEY, MAX_MONEY - 1]);
    const [row] = await desk
      .em()
      .getConnection()
      .execute<Record<string, unknown>[]>(
        "select fine_amount, max_fine from swl_loan_policy where category = 'premium' and role = 'teacher'",
      );
    expect([BigInt(String(row?.fine_amount)), BigInt(String(row?.max_fine))]).toEqual([
      BigInt(MAX_MONEY),
      BigInt(MAX_MONEY - 1),
    ]);
    await expectSwlError(
      policies().update(desk.admin, { category: 'premium', role: 'teacher', fineAmount: 2 ** 53 }),
      'VALIDATION_FAILED',
    );

    const { entry } = await catalog().createEntry(desk.admin, {
      titleOrName: 'Very expensive kit',
      category: 'premium',
      replacementCost: MAX_MONEY,
    });
    expect(entry.replacementCost).toBe(MAX_MONEY);
    const [cost] = await desk
      .em()
      .getConnection()
      .execute<Record<string, unknown>[]>('select replacement_cost from swl_catalog where id = ?', [
        entry.id,
      ]);
    expect(BigInt(String(cost?.replacement_cost))).toBe(BigInt(MAX_MONEY));
    await expectSwlError(
      catalog().updateEntry(desk.admin, { catalogEntryId: entry.id, replacementCost: 2 ** 53 }),
      'VALIDATION_FAILED',
    );
    await expectSwlError(
      catalog().createEntry(desk.admin, {
        titleOrName: 'X',
        category: 'general',
        replacementCost: MAX_MONEY + 2,
      }),
      'VALIDATION_FAILED',
    );
  });
});
