/**
 * Small shared fixtures for the service tests: users made directly through the ORM, row counts of
 * every table, and an assertion on SwlError codes. Additive: add helpers, do not change these.
 */
import type { EntityManager, MikroORM } from '@mikro-orm/core';
import { expect } from 'vitest';
import type { Role } from '../../src/domain/vocabulary.ts';
import { User } from '../../src/entities/user.entity.ts';
import { SwlError, type SwlErrorCode } from '../../src/errors.ts';
import { type SwlDomainEvent, SwlEventBus } from '../../src/events.ts';
import type { Actor } from '../../src/permissions.ts';

/** Every table of the package. */
export const SWL_TABLES = [
  'swl_user',
  'swl_catalog',
  'swl_item_instance',
  'swl_loan',
  'swl_loan_event',
  'swl_instance_event',
  'swl_loan_policy',
  'swl_library_log',
  'swl_idempotency_key',
] as const;

let documentSeq = 0;

/** A unique document id for test users (digits only, ≤ 20 chars). */
export function nextDocumentId(): string {
  documentSeq += 1;
  return `${Date.now() % 1_000_000_000}${String(documentSeq).padStart(4, '0')}`;
}

/**
 * Creates a user of `role` (active unless told otherwise) directly with `em.create` + flush, no
 * service, and returns it as an {@link Actor} (`{ id, role }`, exactly what the services accept).
 */
export async function createTestUser(
  orm: MikroORM,
  role: Role,
  fields: Partial<{ documentId: string; fullName: string; email: string | null; active: boolean }> = {},
): Promise<Actor> {
  const em = orm.em.fork();
  const documentId = fields.documentId ?? nextDocumentId();
  const user = em.create(User, {
    documentId,
    fullName: fields.fullName ?? `Test ${role} ${documentId}`,
    email: fields.email ?? null,
    role,
    active: fields.active ?? true,
  });
  await em.flush();
  return { id: user.id, role };
}

/** Row count of every `swl_` table, e.g. `{ swl_user: 3, swl_catalog: 0, … }`. */
export async function rowCounts(
  orm: MikroORM | EntityManager,
  tables: readonly string[] = SWL_TABLES,
): Promise<Record<string, number>> {
  const em = 'em' in orm ? orm.em.fork() : orm.fork();
  const counts: Record<string, number> = {};
  for (const table of tables) {
    const rows = await em
      .getConnection()
      .execute<{ n: number | string }[]>(`select count(*) as n from ${table}`);
    counts[table] = Number(rows[0]?.n ?? 0);
  }
  return counts;
}

/** Awaits `promise` and asserts it rejects with an {@link SwlError} of `code`; returns the error. */
export async function expectSwlError(promise: Promise<unknown>, code: SwlErrorCode): Promise<SwlError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected SwlError ${code}`).toBeInstanceOf(SwlError);
  const error = caught as SwlError;
  expect(error.code, `${error.code}: ${error.message} ${JSON.stringify(error.details)}`).toBe(code);
  return error;
}

/**
 * The public methods a service class declares itself (its helpers are `#private`, so they are not
 * on the prototype): what a completeness test must cover.
 */
export function publicMethods(service: { prototype: object }): string[] {
  return Object.getOwnPropertyNames(service.prototype).filter((name) => name !== 'constructor');
}

/** An event bus that records everything published on it. */
export function recordingBus() {
  const received: SwlDomainEvent[] = [];
  const events = new SwlEventBus();
  events.subscribe((e) => {
    received.push(e);
  });
  return { events, received };
}
