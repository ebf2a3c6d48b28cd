/**
 * Who may do what: the role → capability matrix, in one place. Source: docs/DESIGN.md §6 ("admin
 * everything; staff approve/reject/return/settle, inventory, visitor log; teacher/student
 * request/cancel/renew their own loans and read their own history").
 *
 * @module
 */
import { z } from 'zod';
import { ROLES, type Role } from './domain/vocabulary.ts';
import { SwlError } from './errors.ts';

/**
 * Every capability a command checks. `…:own` capabilities apply to the actor's own loans;
 * `…:any` to anybody's.
 */
export const CAPABILITIES = [
  'loan:request:own',
  'loan:request:any',
  'loan:cancel:own',
  'loan:cancel:any',
  'loan:renew:own',
  'loan:renew:any',
  'loan:read:own',
  'loan:read:any',
  'loan:approve',
  'loan:reject',
  'loan:return',
  'loan:settle',
  'catalog:read',
  'catalog:manage',
  'inventory:manage',
  'user:read',
  'user:create',
  'user:update',
  'user:change-role',
  'user:deactivate',
  'policy:read',
  'policy:manage',
  'visitor-log:record',
  'visitor-log:read',
  'visitor-log:purge',
  'reservation:request:own',
  'reservation:request:any',
  'reservation:cancel:own',
  'reservation:cancel:any',
  'reservation:read:own',
  'reservation:read:any',
  'reservation:confirm',
  'reservation:pickup',
  'reservation:expire',
  'hold:place:own',
  'hold:place:any',
  'hold:cancel:own',
  'hold:cancel:any',
  'hold:read:own',
  'hold:read:any',
  'hold:fulfill',
  'hold:expire',
  'notice:send',
  'notice:manage',
  'report:read',
] as const;

/** One of {@link CAPABILITIES}. */
export type Capability = (typeof CAPABILITIES)[number];

const BORROWER: readonly Capability[] = [
  'loan:request:own',
  'loan:cancel:own',
  'loan:renew:own',
  'loan:read:own',
  'catalog:read',
  'policy:read',
  'reservation:request:own',
  'reservation:cancel:own',
  'reservation:read:own',
  'hold:place:own',
  'hold:cancel:own',
  'hold:read:own',
];

const STAFF: readonly Capability[] = [
  ...BORROWER,
  'loan:request:any',
  'loan:renew:any',
  'loan:read:any',
  'loan:approve',
  'loan:reject',
  'loan:return',
  'loan:settle',
  'catalog:manage',
  'inventory:manage',
  'user:read',
  'user:create',
  'user:update',
  'visitor-log:record',
  'visitor-log:read',
  'reservation:request:any',
  'reservation:cancel:any',
  'reservation:read:any',
  'reservation:confirm',
  'reservation:pickup',
  'reservation:expire',
  'hold:place:any',
  'hold:cancel:any',
  'hold:read:any',
  'hold:fulfill',
  'hold:expire',
  'notice:send',
  'report:read',
];

/**
 * The matrix: which capabilities each role has. Admin has every capability; staff run the desk
 * (approve, reject, return, settle, inventory, users but not roles, visitor log); teachers and
 * students request, cancel, renew and read their own loans and read the catalog and policies.
 */
export const ROLE_CAPABILITIES: Readonly<Record<Role, ReadonlySet<Capability>>> = {
  admin: new Set(CAPABILITIES),
  staff: new Set(STAFF),
  teacher: new Set(BORROWER),
  student: new Set(BORROWER),
};

/** True when `role` has `capability`. */
export function can(role: Role, capability: Capability): boolean {
  return ROLE_CAPABILITIES[role]?.has(capability) ?? false;
}

/**
 * The acting user of a command, as the host authenticated it: the user's id and role. The
 * services check the capability from `role` before reading anything, then load the user and
 * refuse (`FORBIDDEN`) when it does not exist, is inactive, or no longer has that role.
 */
export interface Actor {
  /** `User.id` of the acting user. */
  id: number;
  /** The role the host believes the user has. */
  role: Role;
}

/** zod schema of {@link Actor}. */
export const ActorSchema = z.strictObject({
  id: z.number().int().positive().max(2_147_483_647),
  role: z.enum(ROLES),
});

/**
 * Throws `FORBIDDEN` unless `actor.role` has `capability`.
 * @throws SwlError `FORBIDDEN`
 */
export function assertCan(actor: Actor, capability: Capability): void {
  if (!can(actor.role, capability)) {
    throw SwlError.forbidden(`role ${actor.role} may not ${capability}`, { capability, role: actor.role });
  }
}
