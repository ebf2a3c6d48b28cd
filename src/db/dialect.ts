import type { EntityManager } from '@mikro-orm/core';
import { BasePostgreSqlPlatform } from '@mikro-orm/sql';

/**
 * True when `em` talks to PostgreSQL (row locks, transaction ids); false on SQLite. The one place
 * the package tells the two dialects apart at run time: read from the configured driver's
 * platform (`BasePostgreSqlPlatform` of `@mikro-orm/sql`, which every PostgreSQL driver's
 * platform extends), not from a class name.
 * @internal
 */
export function isPostgres(em: EntityManager): boolean {
  return em.getPlatform() instanceof BasePostgreSqlPlatform;
}
