import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { User } from './user.entity.ts';

/**
 * Schema of {@link IdempotencyKey} (table `swl_idempotency_key`).
 *
 * One row per command that was given an idempotency key, written in the same transaction as the
 * command's own changes, so the row exists exactly when the command committed. `key` is unique in
 * the database: a repeated command finds the row and returns the stored `result` instead of acting
 * again; two concurrent first tries cannot both commit. `fingerprint` (SHA-256, hex, of the
 * command name, the acting user and the input) detects a key reused for a different command.
 *
 * Source: issue 10 (defect 4); the pattern is the IETF draft "The Idempotency-Key HTTP Header
 * Field" (draft-ietf-httpapi-idempotency-key-header).
 */
export const IdempotencyKeySchema = defineEntity({
  name: 'IdempotencyKey',
  tableName: 'swl_idempotency_key',
  properties: {
    id: p.integer().primary().autoincrement(),
    /** The caller's key: 1–200 visible ASCII characters (a UUID is typical). */
    key: p.string().length(200).unique('swl_idempotency_key_key_unique'),
    /** The command, e.g. `loan.approve`. */
    command: p.string().length(60),
    actor: () => p.manyToOne(User).ref().deleteRule('restrict').updateRule('cascade'),
    /** SHA-256 (hex) of command, actor id and canonical input. */
    fingerprint: p.string().length(64),
    /** The command's result as first returned (JSON; instants as `{ "$date": ISO }`). */
    result: p.json<unknown>(),
    /** When the command ran (UTC, from the service clock). */
    createdAt: p.datetime(),
  },
  indexes: [{ name: 'swl_idempotency_key_created_at_index', properties: ['createdAt'] }],
});

/** The record of one command run under an idempotency key. */
export class IdempotencyKey extends IdempotencyKeySchema.class {}
IdempotencyKeySchema.setClass(IdempotencyKey);
/** Plain shape of an {@link IdempotencyKey} row. */
export type IIdempotencyKey = InferEntity<typeof IdempotencyKeySchema>;
