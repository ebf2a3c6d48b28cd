import { beforeAll, expect, it } from 'vitest';
import { LoanService } from '../src/loans/loan.service.ts';
import type { Actor } from '../src/permissions.ts';
import { describeEachDialect, expectSwlError, rowCounts, useDesk } from './support/fixtures.ts';

const HUGE = 'x'.repeat(100_000);

describeEachDialect('LoanService input validation', (dialect) => {
  const desk = useDesk(dialect);
  let loans: LoanService;
  let student: Actor;
  let pendingId: number;
  let approvedId: number;
  let entryId: number;
  beforeAll(async () => {
    loans = new LoanService(desk.em(), { clock: desk.clock });
    student = await desk.user('student');
    const entry = await desk.entry('general', 2);
    entryId = entry.id;
    pendingId = (await loans.request(student, { catalogEntryId: entry.id })).id;
    approvedId = (await loans.request(student, { catalogEntryId: entry.id })).id;
    await loans.approve(desk.staff, { loanId: approvedId });
  });

  type Case = [name: string, run: () => Promise<unknown>, code: 'VALIDATION_FAILED' | 'NOT_FOUND'];
  const cases = (): Case[] => {
    const s = student;
    const staff = desk.staff;
    const any = (v: unknown) => v as never;
    return [
      ['request: no target', () => loans.request(s, {}), 'VALIDATION_FAILED'],
      [
        'request: both targets',
        () => loans.request(s, { copyId: 1, catalogEntryId: entryId }),
        'VALIDATION_FAILED',
      ],
      ['request: id as string', () => loans.request(s, { catalogEntryId: any('1') }), 'VALIDATION_FAILED'],
      ['request: negative id', () => loans.request(s, { catalogEntryId: -3 }), 'VALIDATION_FAILED'],
      ['request: fractional id', () => loans.request(s, { catalogEntryId: 1.5 }), 'VALIDATION_FAILED'],
      ['request: NaN id', () => loans.request(s, { catalogEntryId: Number.NaN }), 'VALIDATION_FAILED'],
      ['request: huge id', () => loans.request(s, { catalogEntryId: 2 ** 40 }), 'VALIDATION_FAILED'],
      ['request: unknown entry', () => loans.request(s, { catalogEntryId: 999_999 }), 'NOT_FOUND'],
      ['request: unknown copy', () => loans.request(s, { copyId: 999_999 }), 'NOT_FOUND'],
      [
        'request: oversized environment',
        () => loans.request(s, { catalogEntryId: entryId, environment: HUGE }),
        'VALIDATION_FAILED',
      ],
      [
        'request: NUL in observation',
        () => loans.request(s, { catalogEntryId: entryId, observation: 'a\u0000b' }),
        'VALIDATION_FAILED',
      ],
      [
        'request: invalid date',
        () => loans.request(s, { catalogEntryId: entryId, requestedDueDate: new Date('nope') }),
        'VALIDATION_FAILED',
      ],
      [
        'request: date string without zone',
        () => loans.request(s, { catalogEntryId: entryId, requestedDueDate: any('2026-03-10') }),
        'VALIDATION_FAILED',
      ],
      [
        'request: past due date',
        () =>
          loans.request(s, { catalogEntryId: entryId, requestedDueDate: new Date('2020-01-01T00:00:00Z') }),
        'VALIDATION_FAILED',
      ],
      [
        'request: unknown key',
        () => loans.request(s, any({ catalogEntryId: entryId, status: 'aprobado' })),
        'VALIDATION_FAILED',
      ],
      [
        'request: input not an object',
        () => loans.request(s, any('drop table swl_loan')),
        'VALIDATION_FAILED',
      ],
      [
        'request: unknown borrower',
        () => loans.request(staff, { borrowerId: 999_999, catalogEntryId: entryId }),
        'NOT_FOUND',
      ],
      [
        'request: actor id as string',
        () => loans.request(any({ id: String(s.id), role: 'student' }), { catalogEntryId: entryId }),
        'VALIDATION_FAILED',
      ],
      [
        'request: unknown actor role',
        () => loans.request(any({ id: s.id, role: 'root' }), { catalogEntryId: entryId }),
        'VALIDATION_FAILED',
      ],
      ['approve: missing id', () => loans.approve(staff, any({})), 'VALIDATION_FAILED'],
      ['approve: unknown loan', () => loans.approve(staff, { loanId: 999_999 }), 'NOT_FOUND'],
      [
        'approve: unknown copy',
        () => loans.approve(staff, { loanId: pendingId, copyId: 999_999 }),
        'NOT_FOUND',
      ],
      [
        'approve: past due date',
        () => loans.approve(staff, { loanId: pendingId, dueDate: new Date('2001-01-01T00:00:00Z') }),
        'VALIDATION_FAILED',
      ],
      [
        'approve: far-future date',
        () => loans.approve(staff, { loanId: pendingId, dueDate: any('+275760-09-13T00:00:00Z') }),
        'VALIDATION_FAILED',
      ],
      [
        'reject: empty reason',
        () => loans.reject(staff, { loanId: pendingId, reason: '' }),
        'VALIDATION_FAILED',
      ],
      [
        'reject: oversized reason',
        () => loans.reject(staff, { loanId: pendingId, reason: HUGE }),
        'VALIDATION_FAILED',
      ],
      ['reject: unknown loan', () => loans.reject(staff, { loanId: 999_999, reason: 'x' }), 'NOT_FOUND'],
      ['cancel: id as string', () => loans.cancel(s, { loanId: any(`${pendingId}`) }), 'VALIDATION_FAILED'],
      ['cancel: unknown loan', () => loans.cancel(s, { loanId: 999_999 }), 'NOT_FOUND'],
      ['renew: Infinity id', () => loans.renew(s, { loanId: Number.POSITIVE_INFINITY }), 'VALIDATION_FAILED'],
      ['renew: unknown loan', () => loans.renew(s, { loanId: 999_999 }), 'NOT_FOUND'],
      [
        'return: unknown outcome',
        () => loans.return(staff, { loanId: approvedId, outcome: any('stolen') }),
        'VALIDATION_FAILED',
      ],
      [
        'return: oversized condition',
        () => loans.return(staff, { loanId: approvedId, condition: HUGE }),
        'VALIDATION_FAILED',
      ],
      ['return: unknown loan', () => loans.return(staff, { loanId: 999_999 }), 'NOT_FOUND'],
      [
        'settle: unknown settlement',
        () => loans.settlePenalty(staff, { loanId: approvedId, settlement: any('forgiven') }),
        'VALIDATION_FAILED',
      ],
      [
        'settle: unknown loan',
        () => loans.settlePenalty(staff, { loanId: 999_999, settlement: 'paid' }),
        'NOT_FOUND',
      ],
      ['getLoan: unknown loan', () => loans.getLoan(staff, { loanId: 999_999 }), 'NOT_FOUND'],
      ['list: negative limit', () => loans.listBorrowerLoans(s, { limit: -1 }), 'VALIDATION_FAILED'],
      [
        'list: unknown scope',
        () => loans.listBorrowerLoans(s, { scope: any('everything') }),
        'VALIDATION_FAILED',
      ],
      ['queue: limit too large', () => loans.pendingQueue(staff, { limit: 10_000 }), 'VALIDATION_FAILED'],
      [
        'overdue: invalid asOf',
        () => loans.overdueLoans(staff, { asOf: any('yesterday') }),
        'VALIDATION_FAILED',
      ],
      [
        'standing: unknown borrower',
        () => loans.borrowerStanding(staff, { borrowerId: 999_999 }),
        'NOT_FOUND',
      ],
    ];
  };

  it('refuses bad input to every command with VALIDATION_FAILED or NOT_FOUND and writes nothing', async () => {
    const before = await rowCounts(desk.orm);
    for (const [name, run, code] of cases()) await expectSwlError(run, code, name);
    expect(await rowCounts(desk.orm)).toEqual(before);
  });

  it('validation errors name the offending fields and never echo the input value', async () => {
    const error = await expectSwlError(
      loans.request(student, { catalogEntryId: entryId, environment: HUGE }),
      'VALIDATION_FAILED',
    );
    expect((error.details.issues as { path: string[] }[]).map((i) => i.path.join('.'))).toEqual([
      'environment',
    ]);
    expect(JSON.stringify(error.toJSON())).not.toContain('xxxxxxxxxx');
    expect(error.httpStatus).toBe(400);
  });
});
