/**
 * What a new database is seeded with. Source: `docs/legacy/000_266b31aaf8610e4d.txt` "Default Admin
 * Account" and "Initial Inventory Data"; docs/DESIGN.md §5 (default policies) and §8 (admin without
 * a fixed password).
 *
 * @module
 */
import type { Category } from '../domain/vocabulary.ts';

/**
 * The default administrator's identity, kept from the original system. Its password is never a
 * fixed string: it comes from the caller or `SWL_ADMIN_PASSWORD`, or a strong random one is
 * generated and returned once; `mustChangePassword` is set either way.
 */
export const DEFAULT_ADMIN = {
  documentId: '1000000000',
  fullName: 'Administrador Principal',
  email: 'admin@biblioteca.com',
  phone: '0000000000',
  role: 'admin',
} as const;

/** One seeded catalog entry and how many copies it starts with. */
export interface InventorySeed {
  titleOrName: string;
  category: Category;
  copies: number;
  /**
   * Replacement cost in COP minor units (1 COP = 100), 0 ..= `MAX_MONEY`: charged when a copy is
   * returned `lost`. Absent or `null` = unknown (nothing is charged for a lost copy, and the cost
   * caps no fine). The defaults give indicative known figures; edit them for your institution.
   */
  replacementCost?: number | null;
}

/**
 * The six inventory items of the original system, with their copy counts, categories and known
 * (indicative) replacement costs.
 */
export const DEFAULT_INVENTORY: readonly InventorySeed[] = [
  { titleOrName: 'Mouse USB', category: 'general', copies: 50, replacementCost: 4_000_000 },
  { titleOrName: 'VideoBeam', category: 'premium', copies: 10, replacementCost: 250_000_000 },
  { titleOrName: 'Cable HDMI', category: 'premium', copies: 20, replacementCost: 3_000_000 },
  { titleOrName: 'Televisor', category: 'premium', copies: 5, replacementCost: 180_000_000 },
  { titleOrName: 'Regleta/Extension', category: 'premium', copies: 15, replacementCost: 5_000_000 },
  { titleOrName: 'Kit LEGO Education', category: 'premium', copies: 8, replacementCost: 150_000_000 },
];
