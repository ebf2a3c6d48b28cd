import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { ROLES, Role } from '../domain/vocabulary.ts';
import { timestamps } from './common.ts';

/**
 * Schema of {@link User} (table `swl_user`).
 *
 * Columns from `docs/legacy/000_266b31aaf8610e4d.txt` User Table (document_id, full_name, email,
 * phone, role, program_name, password_hash) plus docs/DESIGN.md §2: `active`, `mustChangePassword`,
 * timestamps. `documentId` and `email` are unique in the database; `passwordHash` is `hidden`
 * (never serialized).
 */
export const UserSchema = defineEntity({
  name: 'User',
  tableName: 'swl_user',
  properties: {
    id: p.integer().primary().autoincrement(),
    /** National or institutional document number; the desk's identifier for a person. Max 20 chars. */
    documentId: p.string().length(20).unique('swl_user_document_id_unique'),
    fullName: p.string().length(100),
    /** Unique when present. Max 120 chars. */
    email: p.string().length(120).nullable().unique('swl_user_email_unique'),
    phone: p.string().length(20).nullable(),
    role: p.enum(ROLES).default(Role.Student),
    /** Academic programme (students) or department. */
    programName: p.string().length(100).nullable(),
    /** argon2id PHC string; never serialized, never returned by a service. */
    passwordHash: p.string().length(255).nullable().hidden().lazy(),
    /** Deactivated users cannot borrow or sign in; users with history are never deleted. */
    active: p.boolean().default(true),
    mustChangePassword: p.boolean().default(false),
    ...timestamps,
  },
});

/** A person known to the desk: a borrower (student, teacher) or staff/admin. */
export class User extends UserSchema.class {}
UserSchema.setClass(User);
/** Plain shape of a {@link User} row. */
export type IUser = InferEntity<typeof UserSchema>;
