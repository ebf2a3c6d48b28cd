import { beforeAll, describe, expect, it } from 'vitest';
import { LoanPolicy } from '../src/entities/index.ts';
import type { Actor } from '../src/permissions.ts';
import { DEFAULT_LOAN_POLICIES } from '../src/policies/defaults.ts';
import { PolicyService } from '../src/policies/policy.service.ts';
import { UpsertLoanPolicyInput } from '../src/policies/schemas.ts';
import {
  createTestUser,
  describeEachDialect,
  expectSwlError,
  rowCounts,
  useTestOrm,
} from './support/fixtures.ts';

describe('DEFAULT_LOAN_POLICIES (docs/DESIGN.md §5 table)', () => {
  const find = (category: string, role: string) =>
    DEFAULT_LOAN_POLICIES.find((p) => p.category === category && p.role === role);

  it('has the seven rows of the table and no premium × student row', () => {
    expect(DEFAULT_LOAN_POLICIES.map((p) => `${p.category}/${p.role}`).sort()).toEqual(
      [
        'general/admin',
        'general/staff',
        'general/student',
        'general/teacher',
        'premium/admin',
        'premium/staff',
        'premium/teacher',
      ].sort(),
    );
    expect(find('premium', 'student')).toBeUndefined();
  });

  it('states the amounts in COP minor units (1 COP = 100) and the table’s periods and limits', () => {
    expect(find('general', 'student')).toEqual({
      category: 'general',
      role: 'student',
      loanPeriod: 3,
      loanPeriodUnit: 'days',
      maxActiveLoans: 3,
      maxRenewals: 1,
      environmentRequired: false,
      fineAmount: 100_000,
      fineInterval: 'day',
      gracePeriodMinutes: 60,
      graceMode: 'threshold',
      intervalRounding: 'up',
      maxFine: 2_000_000,
      capAtReplacementCost: false,
    });
    for (const role of ['teacher', 'staff', 'admin']) {
      expect(find('general', role)).toMatchObject({
        loanPeriod: 7,
        loanPeriodUnit: 'days',
        maxActiveLoans: 5,
        maxRenewals: 2,
        fineAmount: 100_000,
        fineInterval: 'day',
        gracePeriodMinutes: 60,
        maxFine: 2_000_000,
        environmentRequired: false,
      });
      expect(find('premium', role)).toMatchObject({
        loanPeriod: 8,
        loanPeriodUnit: 'hours',
        maxActiveLoans: 2,
        maxRenewals: 0,
        environmentRequired: true,
        fineAmount: 200_000,
        fineInterval: 'hour',
        gracePeriodMinutes: 15,
        maxFine: 5_000_000,
        graceMode: 'threshold',
        intervalRounding: 'up',
        capAtReplacementCost: false,
      });
    }
  });

  it('validates against the upsert schema unchanged', () => {
    for (const p of DEFAULT_LOAN_POLICIES) expect(UpsertLoanPolicyInput.parse(p)).toEqual(p);
  });
});

describeEachDialect('policies', (dialect) => {
  const t = useTestOrm(dialect);
  let admin: Actor;
  let staff: Actor;
  let teacher: Actor;
  let student: Actor;
  const policies = () => new PolicyService(t.orm.em.fork());

  beforeAll(async () => {
    admin = await createTestUser(t.orm, 'admin');
    staff = await createTestUser(t.orm, 'staff');
    teacher = await createTestUser(t.orm, 'teacher');
    student = await createTestUser(t.orm, 'student');
  });

  it('lets an admin seed the defaults; everybody reads them; no premium × student policy', async () => {
    for (const rule of DEFAULT_LOAN_POLICIES) {
      const { policy, created } = await policies().upsert(admin, rule);
      expect(created).toBe(true);
      expect(policy).toMatchObject(rule);
      expect(policy.version).toBe(1);
    }
    expect(await t.orm.em.fork().count(LoanPolicy, {})).toBe(7);
    for (const who of [student, teacher, staff, admin]) {
      const all = await policies().list(who);
      expect(all).toHaveLength(7);
      expect(all.map((p) => `${p.category}/${p.role}`)).toEqual([
        'general/admin',
        'general/staff',
        'general/student',
        'general/teacher',
        'premium/admin',
        'premium/staff',
        'premium/teacher',
      ]);
    }
    expect(await policies().list(student, { category: 'premium' })).toHaveLength(3);
    expect((await policies().list(student, { role: 'student' })).map((p) => p.category)).toEqual(['general']);
    const premiumTeacher = await policies().get(student, { category: 'premium', role: 'teacher' });
    expect(premiumTeacher).toMatchObject({
      environmentRequired: true,
      fineAmount: 200_000,
      maxFine: 5_000_000,
    });
    const none = await expectSwlError(
      policies().get(student, { category: 'premium', role: 'student' }),
      'NOT_FOUND',
    );
    expect(none.details).toEqual({ entity: 'loanPolicy', category: 'premium', role: 'student' });
  });

  it('replaces a policy with upsert and changes fields with update, version-checked', async () => {
    const before = await policies().get(admin, { category: 'general', role: 'teacher' });
    const { policy, created } = await policies().upsert(admin, {
      category: 'general',
      role: 'teacher',
      loanPeriod: 14,
      loanPeriodUnit: 'days',
      maxActiveLoans: 10,
      maxRenewals: 3,
      fineAmount: 50_000,
      fineInterval: 'day',
    });
    expect(created).toBe(false);
    expect(policy.id).toBe(before.id);
    expect(policy.version).toBe(before.version + 1);
    // Fields left out take their defaults on a replace.
    expect(policy).toMatchObject({ loanPeriod: 14, maxActiveLoans: 10, gracePeriodMinutes: 0, maxFine: 0 });

    const updated = await policies().update(admin, {
      category: 'general',
      role: 'teacher',
      gracePeriodMinutes: 30,
      graceMode: 'deduct',
      capAtReplacementCost: true,
      expectedVersion: policy.version,
    });
    expect(updated).toMatchObject({
      loanPeriod: 14,
      maxActiveLoans: 10,
      gracePeriodMinutes: 30,
      graceMode: 'deduct',
      capAtReplacementCost: true,
      version: policy.version + 1,
    });
    const stored = await t.orm.em.fork().findOneOrFail(LoanPolicy, { category: 'general', role: 'teacher' });
    expect([
      stored.gracePeriodMinutes,
      stored.graceMode,
      stored.capAtReplacementCost,
      stored.fineAmount,
    ]).toEqual([30, 'deduct', true, 50_000]);
    await expectSwlError(
      policies().update(admin, {
        category: 'general',
        role: 'teacher',
        maxRenewals: 0,
        expectedVersion: policy.version,
      }),
      'CONFLICT',
    );
    expect((await policies().get(admin, { category: 'general', role: 'teacher' })).maxRenewals).toBe(3);
  });

  it('deletes a policy, after which that role may not borrow that category', async () => {
    const gone = await policies().delete(admin, { category: 'premium', role: 'staff' });
    expect(gone).toMatchObject({ category: 'premium', role: 'staff' });
    await expectSwlError(policies().get(staff, { category: 'premium', role: 'staff' }), 'NOT_FOUND');
    await expectSwlError(policies().delete(admin, { category: 'premium', role: 'staff' }), 'NOT_FOUND');
    await expectSwlError(
      policies().update(admin, { category: 'premium', role: 'staff', maxRenewals: 1 }),
      'NOT_FOUND',
    );
    expect(await t.orm.em.fork().count(LoanPolicy, {})).toBe(6);
  });

  it('lets one of two concurrent upserts of a new policy create it; the other replaces it or gets CONFLICT', async () => {
    const rule = { ...DEFAULT_LOAN_POLICIES[0]!, category: 'premium' as const, role: 'student' as const };
    const results = await Promise.allSettled([
      policies().upsert(admin, { ...rule, maxActiveLoans: 1 }),
      policies().upsert(admin, { ...rule, maxActiveLoans: 2 }),
    ]);
    const done = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
    expect(done.filter((d) => d.created)).toHaveLength(1);
    for (const f of failed) expect(f).toMatchObject({ code: 'CONFLICT' });
    expect(await t.orm.em.fork().count(LoanPolicy, { category: 'premium', role: 'student' })).toBe(1);
    await policies().delete(admin, { category: 'premium', role: 'student' });
  });

  it('refuses policy changes by anyone but an admin with FORBIDDEN, writing nothing', async () => {
    const before = await rowCounts(t.orm);
    const rule = DEFAULT_LOAN_POLICIES[0]!;
    for (const who of [student, teacher, staff]) {
      await expectSwlError(policies().upsert(who, rule), 'FORBIDDEN');
      await expectSwlError(
        policies().upsert(who, { ...rule, category: 'premium', role: 'student' }),
        'FORBIDDEN',
      );
      await expectSwlError(
        policies().update(who, { category: 'general', role: 'student', maxActiveLoans: 99 }),
        'FORBIDDEN',
      );
      await expectSwlError(policies().delete(who, { category: 'general', role: 'student' }), 'FORBIDDEN');
    }
    expect(await rowCounts(t.orm)).toEqual(before);
    expect((await policies().get(student, { category: 'general', role: 'student' })).maxActiveLoans).toBe(3);
  });

  it('refuses bad input to every command with VALIDATION_FAILED or NOT_FOUND, writing nothing', async () => {
    const before = await rowCounts(t.orm);
    const svc = () => policies() as unknown as Record<string, (a: Actor, i: unknown) => Promise<unknown>>;
    const ok = { ...DEFAULT_LOAN_POLICIES[0]! };
    const cases: Array<[string, unknown, 'VALIDATION_FAILED' | 'NOT_FOUND']> = [
      ['upsert', {}, 'VALIDATION_FAILED'],
      ['upsert', { ...ok, loanPeriod: 0 }, 'VALIDATION_FAILED'],
      ['upsert', { ...ok, loanPeriod: -3 }, 'VALIDATION_FAILED'],
      ['upsert', { ...ok, loanPeriod: 2.5 }, 'VALIDATION_FAILED'],
      ['upsert', { ...ok, loanPeriodUnit: 'weeks' }, 'VALIDATION_FAILED'],
      ['upsert', { ...ok, maxActiveLoans: -1 }, 'VALIDATION_FAILED'],
      ['upsert', { ...ok, maxRenewals: '1' }, 'VALIDATION_FAILED'],
      ['upsert', { ...ok, fineAmount: -100 }, 'VALIDATION_FAILED'],
      ['upsert', { ...ok, fineAmount: 1000.5 }, 'VALIDATION_FAILED'],
      ['upsert', { ...ok, fineAmount: 2 ** 53 }, 'VALIDATION_FAILED'], // above MAX_MONEY
      ['upsert', { ...ok, maxFine: Number.MAX_SAFE_INTEGER + 1 }, 'VALIDATION_FAILED'],
      ['upsert', { ...ok, fineInterval: 'month' }, 'VALIDATION_FAILED'],
      ['upsert', { ...ok, gracePeriodMinutes: -1 }, 'VALIDATION_FAILED'],
      ['upsert', { ...ok, graceMode: 'lenient' }, 'VALIDATION_FAILED'],
      ['upsert', { ...ok, intervalRounding: 'nearest' }, 'VALIDATION_FAILED'],
      ['upsert', { ...ok, maxFine: -1 }, 'VALIDATION_FAILED'],
      ['upsert', { ...ok, environmentRequired: 'yes' }, 'VALIDATION_FAILED'],
      ['upsert', { ...ok, category: 'gold' }, 'VALIDATION_FAILED'],
      ['upsert', { ...ok, role: 'visitor' }, 'VALIDATION_FAILED'],
      ['upsert', { ...ok, id: 1 }, 'VALIDATION_FAILED'],
      ['upsert', { ...ok, version: 9 }, 'VALIDATION_FAILED'],
      ['update', { category: 'general', role: 'student' }, 'VALIDATION_FAILED'],
      ['update', { category: 'general', role: 'student', loanPeriod: 0 }, 'VALIDATION_FAILED'],
      ['update', { category: 'general', role: 'student', fineAmount: -1 }, 'VALIDATION_FAILED'],
      [
        'update',
        { category: 'general', role: 'student', expectedVersion: 0, maxFine: 1 },
        'VALIDATION_FAILED',
      ],
      ['update', { category: 'general', role: 'student', secret: 1, maxFine: 1 }, 'VALIDATION_FAILED'],
      ['update', { category: 'premium', role: 'student', maxFine: 1 }, 'NOT_FOUND'],
      ['delete', { category: 'general' }, 'VALIDATION_FAILED'],
      ['delete', { category: 'general', role: 'student', force: true }, 'VALIDATION_FAILED'],
      ['delete', { category: 'premium', role: 'student' }, 'NOT_FOUND'],
      ['get', { category: '', role: 'student' }, 'VALIDATION_FAILED'],
      ['list', { category: 'x' }, 'VALIDATION_FAILED'],
      ['list', { page: 2 }, 'VALIDATION_FAILED'],
    ];
    for (const [method, input, code] of cases) {
      await expectSwlError(svc()[method]!(admin, input), code);
    }
    expect(await rowCounts(t.orm)).toEqual(before);
  });
});
