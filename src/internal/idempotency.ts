/**
 * Idempotency keys: a command given a key records its result under that key in its own
 * transaction; the same command repeated with the same key returns that result and writes nothing.
 * Source: issue 10 (defect 4); the IETF draft "The Idempotency-Key HTTP Header Field"
 * (draft-ietf-httpapi-idempotency-key-header), which also answers a key reused with another
 * request with 422.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import { z } from 'zod';
import { IdempotencyKey } from '../entities/idempotency-key.entity.ts';
import { SwlError } from '../errors.ts';

/**
 * An idempotency key: 1–200 visible ASCII characters (`!`..`~`), e.g. a UUID the client made for
 * this one operation. Send the same key when repeating the same command after a lost answer.
 */
export const IdempotencyKeyInput = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7e]+$/, { message: 'must be 1–200 visible ASCII characters' });

/** What a command run under a key is identified by. @internal */
export interface IdempotentCall {
  key: string;
  /** Command name, e.g. `loan.approve`. */
  command: string;
  actorId: number;
  /** The parsed input (the key itself is left out of the fingerprint). */
  input: Record<string, unknown>;
}

/**
 * JSON with object keys sorted, keys whose value is `undefined` left out (as `JSON.stringify`
 * does: an absent field and one sent as `undefined` are the same request), and instants as ISO
 * strings, so equal inputs hash equally.
 */
function canonical(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return Object.fromEntries(
      entries.sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, canonical(v)]),
    );
  }
  return value ?? null;
}

/** SHA-256 (hex) of command, actor and input (without the key). @internal */
export function fingerprintOf(call: IdempotentCall): string {
  const { idempotencyKey: _, ...input } = call.input;
  return createHash('sha256')
    .update(JSON.stringify([call.command, call.actorId, canonical(input)]))
    .digest('hex');
}

/** A result as stored: JSON where each `Date` becomes `{ "$date": ISO }`. @internal */
export function storeResult(result: unknown): unknown {
  return JSON.parse(
    JSON.stringify(result, function (this: Record<string, unknown>, key, value) {
      const original = this[key];
      return original instanceof Date ? { $date: original.toISOString() } : value;
    }),
  );
}

/** The stored result with its instants as `Date`s again. @internal */
export function reviveResult<T>(stored: unknown): T {
  const text = typeof stored === 'string' ? stored : JSON.stringify(stored);
  return JSON.parse(text, (_key, value) =>
    value && typeof value === 'object' && typeof value.$date === 'string' && Object.keys(value).length === 1
      ? new Date(value.$date)
      : value,
  ) as T;
}

/**
 * Looks the key up on `em`. Returns the stored result when the same command was already run
 * with it; `undefined` when the key is new.
 * @throws SwlError `IDEMPOTENCY_KEY_REUSED` when the key was used for another command, actor or input.
 * @internal
 */
export async function findStoredResult<T>(
  em: EntityManager,
  call: IdempotentCall,
  fingerprint: string,
): Promise<{ result: T } | undefined> {
  const row = await em.findOne(IdempotencyKey, { key: call.key }, { refresh: true });
  if (!row) return undefined;
  if (row.fingerprint !== fingerprint) {
    throw new SwlError(
      'IDEMPOTENCY_KEY_REUSED',
      'this idempotency key was already used for a different command or input',
      { command: row.command },
    );
  }
  return { result: reviveResult<T>(row.result) };
}
