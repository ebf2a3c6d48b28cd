/**
 * Idempotent seeding of a new database. Source: `docs/legacy/000_266b31aaf8610e4d.txt` "Default
 * Admin Account", "Initial Inventory Data"; docs/DESIGN.md §5, §8.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import { CatalogService } from '../catalog/catalog.service.ts';
import type { Clock } from '../clock.ts';
import { CatalogEntry } from '../entities/catalog-entry.entity.ts';
import { LoanPolicy } from '../entities/loan-policy.entity.ts';
import { NoticeRule } from '../entities/notice-rule.entity.ts';
import { ReservationPolicy } from '../entities/reservation-policy.entity.ts';
import { User } from '../entities/user.entity.ts';
import { SwlError } from '../errors.ts';
import { toSwlError } from '../internal/translate-error.ts';
import { DEFAULT_NOTICE_RULES } from '../notices/defaults.ts';
import type { UpsertNoticeRuleInput } from '../notices/schemas.ts';
import { DEFAULT_LOAN_POLICIES } from '../policies/defaults.ts';
import type { LoanPolicyRule } from '../policies/schemas.ts';
import { DEFAULT_RESERVATION_POLICIES } from '../reservations/defaults.ts';
import type { ReservationPolicyRule } from '../reservations/schemas.ts';
import { hashPassword, PasswordSchema } from '../users/password.ts';
import { DEFAULT_ADMIN, DEFAULT_INVENTORY, type InventorySeed } from './defaults.ts';

/** Options of {@link seedDefaults} and `initializeDatabase`. */
export interface SeedOptions {
  /**
   * Password for the default admin when it is created (12..256 characters). Default:
   * `process.env.SWL_ADMIN_PASSWORD`; when neither is set, a random one is generated and returned
   * once in the report. Ignored when the admin already exists.
   */
  adminPassword?: string;
  /** Time source for the seeded rows' instants (default: system clock). */
  clock?: Clock;
  /** Catalog entries to seed, or `false` for none. Default {@link DEFAULT_INVENTORY}. */
  inventory?: readonly InventorySeed[] | false;
  /** Policies to seed, or `false` for none. Default `DEFAULT_LOAN_POLICIES`. */
  policies?: readonly LoanPolicyRule[] | false;
  /** Booking policies to seed, or `false` for none. Default `DEFAULT_RESERVATION_POLICIES`. */
  reservationPolicies?: readonly ReservationPolicyRule[] | false;
  /**
   * Notice schedule to seed, or `false` for none. Default `DEFAULT_NOTICE_RULES`. Seeded per
   * category × role only where that pair has no notice rule yet, so a schedule a host changed is
   * never topped up again.
   */
  noticeRules?: readonly UpsertNoticeRuleInput[] | false;
}

/** What {@link seedDefaults} created; everything already present was left untouched. */
export interface SeedReport {
  admin: {
    /** `User.id` of the default admin (created now or before). */
    id: number;
    documentId: string;
    /** True when this call created it. */
    created: boolean;
    /**
     * The generated password, only when this call created the admin with a generated password.
     * Show it once; it is not stored anywhere but as its argon2id hash.
     */
    generatedPassword: string | null;
  };
  policies: { created: number; existing: number };
  /** Booking policies (category × role) created by this call, and those already present. */
  reservationPolicies: { created: number; existing: number };
  /** Notice rules created by this call, and the category × role pairs that already had some (left as they are). */
  noticeRules: { created: number; existing: number };
  catalog: {
    /** Titles of the entries created by this call. */
    created: string[];
    /** Copies created by this call. */
    copiesCreated: number;
    /** Titles that were already present (matched by exact title) and left as they are. */
    existing: string[];
  };
}

/** A random admin password: 24 characters of base64url (144 bits). */
function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}

/**
 * Seeds what is missing: the default admin (by document id `1000000000`), the default policies (by
 * category × role) and the inventory items (by exact title, each with its copies). Rows that
 * exist are never changed, so a second call creates nothing. Admin and policies are written in one
 * transaction; each catalog entry with its copies in its own (through `CatalogService`, acting as
 * the admin).
 *
 * @param em - an EntityManager on a migrated database.
 * @param options - see {@link SeedOptions}.
 * @throws SwlError `VALIDATION_FAILED` (admin password out of policy), `CONFLICT`, `UNAVAILABLE`, `INTERNAL`.
 */
export async function seedDefaults(em: EntityManager, options: SeedOptions = {}): Promise<SeedReport> {
  const now = () => options.clock?.now() ?? new Date();
  let admin: SeedReport['admin'];
  let policies: SeedReport['policies'];
  let reservationPolicies: SeedReport['reservationPolicies'];
  let noticeRules: SeedReport['noticeRules'];
  try {
    ({ admin, policies, reservationPolicies, noticeRules } = await em.transactional(async (tx) => {
      let user = await tx.findOne(User, { documentId: DEFAULT_ADMIN.documentId });
      let generatedPassword: string | null = null;
      const created = !user;
      if (!user) {
        let password = options.adminPassword ?? process.env.SWL_ADMIN_PASSWORD;
        if (password === undefined || password === '') {
          password = generatePassword();
          generatedPassword = password;
        }
        const checked = PasswordSchema.safeParse(password);
        if (!checked.success) throw toSwlError(checked.error);
        const emailTaken = (await tx.count(User, { email: DEFAULT_ADMIN.email })) > 0;
        const at = now();
        user = tx.create(User, {
          documentId: DEFAULT_ADMIN.documentId,
          fullName: DEFAULT_ADMIN.fullName,
          email: emailTaken ? null : DEFAULT_ADMIN.email,
          phone: DEFAULT_ADMIN.phone,
          role: DEFAULT_ADMIN.role,
          passwordHash: await hashPassword(password),
          active: true,
          mustChangePassword: true,
          createdAt: at,
          updatedAt: at,
        });
      }
      let createdPolicies = 0;
      let existingPolicies = 0;
      for (const rule of options.policies === false ? [] : (options.policies ?? DEFAULT_LOAN_POLICIES)) {
        if ((await tx.count(LoanPolicy, { category: rule.category, role: rule.role })) > 0) {
          existingPolicies++;
          continue;
        }
        tx.create(LoanPolicy, { ...rule, createdAt: now(), updatedAt: now() });
        createdPolicies++;
      }
      const reservationPolicies = { created: 0, existing: 0 };
      const bookingRules =
        options.reservationPolicies === false
          ? []
          : (options.reservationPolicies ?? DEFAULT_RESERVATION_POLICIES);
      for (const rule of bookingRules) {
        if ((await tx.count(ReservationPolicy, { category: rule.category, role: rule.role })) > 0) {
          reservationPolicies.existing++;
          continue;
        }
        tx.create(ReservationPolicy, { ...rule, createdAt: now(), updatedAt: now() });
        reservationPolicies.created++;
      }
      const noticeRules = { created: 0, existing: 0 };
      const schedule = options.noticeRules === false ? [] : (options.noticeRules ?? DEFAULT_NOTICE_RULES);
      const pairs = new Map<string, boolean>();
      for (const rule of schedule) {
        const pair = `${rule.category}/${rule.role}`;
        if (!pairs.has(pair)) {
          const present = (await tx.count(NoticeRule, { category: rule.category, role: rule.role })) > 0;
          pairs.set(pair, present);
          if (present) noticeRules.existing++;
        }
        if (pairs.get(pair)) continue;
        tx.create(NoticeRule, { ...rule, createdAt: now(), updatedAt: now() });
        noticeRules.created++;
      }
      await tx.flush();
      return {
        admin: { id: user.id, documentId: user.documentId, created, generatedPassword },
        policies: { created: createdPolicies, existing: existingPolicies },
        reservationPolicies,
        noticeRules,
      };
    }));
  } catch (error) {
    throw toSwlError(error);
  }

  const catalog: SeedReport['catalog'] = { created: [], copiesCreated: 0, existing: [] };
  const inventory = options.inventory === false ? [] : (options.inventory ?? DEFAULT_INVENTORY);
  if (inventory.length > 0) {
    const actorUser =
      (await em.fork().findOne(User, { id: admin.id, active: true, role: 'admin' })) ??
      (await em.fork().findOne(User, { active: true, role: 'admin' }, { orderBy: { id: 'asc' } }));
    if (!actorUser) {
      throw new SwlError('CONFLICT', 'no active admin to seed the inventory as', {});
    }
    const catalogService = new CatalogService(em.fork(), options.clock ? { clock: options.clock } : {});
    for (const item of inventory) {
      if ((await em.fork().count(CatalogEntry, { titleOrName: item.titleOrName })) > 0) {
        catalog.existing.push(item.titleOrName);
        continue;
      }
      const made = await catalogService.createEntry(
        { id: actorUser.id, role: 'admin' },
        {
          titleOrName: item.titleOrName,
          category: item.category,
          replacementCost: item.replacementCost,
          copies: item.copies,
        },
      );
      catalog.created.push(item.titleOrName);
      catalog.copiesCreated += made.copies.length;
    }
  }
  return { admin, policies, reservationPolicies, noticeRules, catalog };
}
