/**
 * Lending policies per (category × role): reading them, and — for admins — creating, changing and
 * removing them. Source: docs/DESIGN.md §5 ("a missing row means that role may not borrow that category";
 * seeded with defaults, editable by admins).
 *
 * @module
 */
import type { EntityManager } from '@mikro-orm/core';
import { LoanPolicy } from '../entities/loan-policy.entity.ts';
import { isSwlError, SwlError } from '../errors.ts';
import {
  defineCommand,
  defineQuery,
  lockFor,
  ServiceBase,
  type ServiceOptions,
} from '../internal/service-base.ts';
import { toSwlError } from '../internal/translate-error.ts';
import type { Actor } from '../permissions.ts';
import {
  ListLoanPoliciesInput,
  LoanPolicyKeyInput,
  UpdateLoanPolicyInput,
  UpsertLoanPolicyInput,
} from './schemas.ts';
import { type LoanPolicyView, toLoanPolicyView } from './views.ts';

/** What `upsert` did. */
export interface UpsertLoanPolicyResult {
  policy: LoanPolicyView;
  /** True when the policy did not exist before. */
  created: boolean;
}

function missing(category: string, role: string): SwlError {
  return new SwlError('NOT_FOUND', `no ${category} policy for role ${role}`, {
    entity: 'loanPolicy',
    category,
    role,
  });
}

/**
 * A unique violation on inserting the (category, role) policy: another upsert created it first —
 * `CONFLICT` (retry to replace it). Other errors as {@link toSwlError} makes them.
 */
function createdConcurrently(key: { category: string; role: string }, error: unknown): SwlError {
  const e = toSwlError(error);
  if (!isSwlError(e, 'DUPLICATE')) return e;
  return new SwlError(
    'CONFLICT',
    `the ${key.category} policy for ${key.role} was created concurrently; try again`,
    { category: key.category, role: key.role },
    { cause: e },
  );
}

const LIST = defineQuery({ capability: 'policy:read', input: ListLoanPoliciesInput });
const GET = defineQuery({ capability: 'policy:read', input: LoanPolicyKeyInput });
const UPSERT = defineCommand({
  name: 'policy.upsert',
  capability: 'policy:manage',
  input: UpsertLoanPolicyInput,
});
const UPDATE = defineCommand({
  name: 'policy.update',
  capability: 'policy:manage',
  input: UpdateLoanPolicyInput,
});
const DELETE = defineCommand({
  name: 'policy.delete',
  capability: 'policy:manage',
  input: LoanPolicyKeyInput,
});

/**
 * The lending rules (docs/DESIGN.md §5): loan period, limits, renewals, environment, fines and grace, per
 * (category, role). The loan commands read them; this service manages them.
 *
 * Capabilities (docs/DESIGN.md §6): `list` and `get` `policy:read` (every role — borrowers may see the
 * rules); `upsert`, `update` and `delete` `policy:manage` (admin only). Every method takes the
 * acting user first, validates its input with the exported zod schema and checks the capability
 * before touching the database. Changes apply to requests and approvals made afterwards: a loan
 * keeps the terms it was approved under — loan period, renewals allowed and fine fields are copied
 * onto the loan at approval and govern its renewals and its fine at return (docs/DESIGN.md §11), so an
 * edit never changes a loan already out. A policy's `version` guards against lost updates. Only
 * {@link SwlError} is thrown.
 *
 * @example
 * ```ts
 * const policies = new PolicyService(em);
 * for (const rule of DEFAULT_LOAN_POLICIES) await policies.upsert(admin, rule);
 * await policies.update(admin, { category: 'general', role: 'student', maxActiveLoans: 4 });
 * await policies.delete(admin, { category: 'premium', role: 'staff' }); // staff may no longer borrow premium items
 * ```
 */
export class PolicyService extends ServiceBase {
  /**
   * @param em - the caller's EntityManager (a request-scoped fork, or the one of an open host transaction).
   * @param options - clock and event bus.
   */
  constructor(em: EntityManager, options: ServiceOptions = {}) {
    super(em, options);
  }

  /**
   * Every policy (optionally of one category and/or role), ordered by category, then role.
   *
   * @param actor - acting user; capability `policy:read`.
   * @param input - {@link ListLoanPoliciesInput}.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `UNAVAILABLE`.
   */
  async list(actor: Actor, input: ListLoanPoliciesInput = {}): Promise<LoanPolicyView[]> {
    return this.query(LIST, actor, input, async (em, _actor, i) => {
      const policies = await em.find(
        LoanPolicy,
        { ...(i.category ? { category: i.category } : {}), ...(i.role ? { role: i.role } : {}) },
        { orderBy: { category: 'asc', role: 'asc' } },
      );
      return policies.map(toLoanPolicyView);
    });
  }

  /**
   * The policy for (category, role).
   *
   * @param actor - acting user; capability `policy:read`.
   * @param input - {@link LoanPolicyKeyInput}.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND` (that role may not borrow that category), `UNAVAILABLE`.
   */
  async get(actor: Actor, input: LoanPolicyKeyInput): Promise<LoanPolicyView> {
    return this.query(GET, actor, input, async (em, _actor, i) => {
      const policy = await em.findOne(LoanPolicy, { category: i.category, role: i.role });
      if (!policy) throw missing(i.category, i.role);
      return toLoanPolicyView(policy);
    });
  }

  /**
   * Creates the policy for (category, role), or replaces every field of the existing one (fields
   * left out take their defaults). Two concurrent upserts of a new key: one creates it, the other
   * gets `CONFLICT` (retry it to replace).
   *
   * @param actor - acting user; capability `policy:manage` (admin).
   * @param input - {@link UpsertLoanPolicyInput}.
   * @returns the policy and whether it was created.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `CONFLICT`, `UNAVAILABLE`.
   */
  async upsert(actor: Actor, input: UpsertLoanPolicyInput): Promise<UpsertLoanPolicyResult> {
    return this.command(UPSERT, actor, input, async ({ em, postgres, input: i }) => {
      try {
        const existing = await em.findOne(
          LoanPolicy,
          { category: i.category, role: i.role },
          lockFor(postgres),
        );
        if (existing) {
          em.assign(existing, i);
          await em.flush();
          return { policy: toLoanPolicyView(existing), created: false };
        }
        const policy = em.create(LoanPolicy, i);
        await em.flush();
        return { policy: toLoanPolicyView(policy), created: true };
      } catch (error) {
        throw createdConcurrently(i, error);
      }
    });
  }

  /**
   * Changes some fields of the existing policy for (category, role).
   *
   * @param actor - acting user; capability `policy:manage` (admin).
   * @param input - {@link UpdateLoanPolicyInput}.
   * @returns the policy after the change.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND`, `CONFLICT` (stale `expectedVersion`
   *   or a concurrent change), `UNAVAILABLE`.
   */
  async update(actor: Actor, input: UpdateLoanPolicyInput): Promise<LoanPolicyView> {
    return this.command(UPDATE, actor, input, async ({ em, postgres, input: i }) => {
      const policy = await em.findOne(LoanPolicy, { category: i.category, role: i.role }, lockFor(postgres));
      if (!policy) throw missing(i.category, i.role);
      const { category: _c, role: _r, expectedVersion, ...changes } = i;
      if (expectedVersion !== undefined && policy.version !== expectedVersion) {
        throw new SwlError(
          'CONFLICT',
          `the ${i.category} policy for ${i.role} was changed since it was read`,
          {
            category: i.category,
            role: i.role,
            expectedVersion,
            version: policy.version,
          },
        );
      }
      const defined = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined));
      em.assign(policy, defined);
      await em.flush();
      return toLoanPolicyView(policy);
    });
  }

  /**
   * Removes the policy for (category, role): from then on that role may not borrow that category
   * (new requests, and approvals of pending ones, get `POLICY_FORBIDS`).
   *
   * Allowed while loans approved under it are still out: each such loan carries the terms fixed
   * at its approval (docs/DESIGN.md §11), so it keeps running without the row — it renews with its own
   * period and renewals, and an overdue return still charges its own fine. Only a legacy loan
   * approved before terms were stored (none were stored when no policy was in force at the
   * upgrade) reads the current policy; without one it cannot be renewed and is returned without
   * a fine.
   *
   * @param actor - acting user; capability `policy:manage` (admin).
   * @param input - {@link LoanPolicyKeyInput}.
   * @returns the removed policy.
   * @throws SwlError `VALIDATION_FAILED`, `FORBIDDEN`, `NOT_FOUND`, `CONFLICT`, `UNAVAILABLE`.
   */
  async delete(actor: Actor, input: LoanPolicyKeyInput): Promise<LoanPolicyView> {
    return this.command(DELETE, actor, input, async ({ em, postgres, input: i }) => {
      const policy = await em.findOne(LoanPolicy, { category: i.category, role: i.role }, lockFor(postgres));
      if (!policy) throw missing(i.category, i.role);
      const view = toLoanPolicyView(policy);
      em.remove(policy);
      await em.flush();
      return view;
    });
  }
}
