import type { EntityManager } from '@mikro-orm/core';

/**
 * True when `em` talks to PostgreSQL (row locks, transaction ids); false on SQLite. The one place
 * the package tells the two dialects apart at run time.
 * @internal
 */
export function isPostgres(em: EntityManager): boolean {
  return /postgre/i.test(em.getPlatform().constructor.name);
}
