/**
 * Input schemas of the {@link UserService} commands and reads. Exported so hosts validate request
 * bodies with the same rules. Every schema is strict: unknown keys are refused
 * (`VALIDATION_FAILED`). Source: docs/DESIGN.md §2 (User), §6, §8;
 * `docs/legacy/000_266b31aaf8610e4d.txt` User Table.
 *
 * @module
 */
import { z } from 'zod';
import { ROLES } from '../domain/vocabulary.ts';
import { IdSchema, optionalText, PageSchema, requiredText } from '../validation.ts';
import { OfferedPasswordSchema, PasswordSchema } from './password.ts';

/** A document id: trimmed, 1..20 characters (the seed's `document_id`). */
export const DocumentIdSchema = requiredText(20);

/** An e-mail address: trimmed, lower-cased, ≤ 120 characters, a valid address. */
export const EmailSchema = z.string().trim().toLowerCase().max(120).pipe(z.email());

/** An optional e-mail: `undefined` = not given; `null` or blank = none; else {@link EmailSchema}. */
const OptionalEmail = z
  .union([z.string(), z.null()])
  .transform((s) => (typeof s === 'string' && s.trim() !== '' ? s : null))
  .pipe(EmailSchema.nullable())
  .optional();

/**
 * `createUser`: a new person.
 * - `documentId`: 1..20 chars, trimmed, unique (`DUPLICATE`).
 * - `fullName`: 1..100 chars. `email`: optional, lower-cased, unique when present (`DUPLICATE`).
 * - `phone`: ≤ 20 chars; `programName`: ≤ 100 chars.
 * - `role`: `admin` | `staff` | `teacher` | `student` (default `student`). Only an admin may
 *   create `admin` or `staff` users.
 * - `password`: optional, 12..256 characters (a user without one cannot sign in).
 * - `mustChangePassword`: default `true` when a password is given (someone else chose it).
 */
export const CreateUserInput = z.strictObject({
  documentId: DocumentIdSchema,
  fullName: requiredText(100),
  email: OptionalEmail,
  phone: optionalText(20).optional(),
  role: z.enum(ROLES).default('student'),
  programName: optionalText(100).optional(),
  password: PasswordSchema.optional(),
  mustChangePassword: z.boolean().optional(),
});
/** Input of `UserService.createUser` (before parsing). */
export type CreateUserInput = z.input<typeof CreateUserInput>;

/**
 * `updateUser`: change a user's `fullName`, `email`, `phone` or `programName` (at least one).
 * Absent fields stay; `null`/blank clears the optional ones. Role, activity and password have
 * their own commands.
 */
export const UpdateUserInput = z
  .strictObject({
    userId: IdSchema,
    fullName: requiredText(100).optional(),
    email: OptionalEmail,
    phone: optionalText(20).optional(),
    programName: optionalText(100).optional(),
  })
  .refine(
    (v) => ['fullName', 'email', 'phone', 'programName'].some((k) => v[k as keyof typeof v] !== undefined),
    {
      message: 'name at least one field to change',
    },
  );
/** Input of `UserService.updateUser`. */
export type UpdateUserInput = z.input<typeof UpdateUserInput>;

/** `changeRole`: give `userId` the role `role` (admin only; not your own role). */
export const ChangeRoleInput = z.strictObject({ userId: IdSchema, role: z.enum(ROLES) });
/** Input of `UserService.changeRole`. */
export type ChangeRoleInput = z.input<typeof ChangeRoleInput>;

/** `deactivate` / `reactivate`: a user by id. */
export const UserIdInput = z.strictObject({ userId: IdSchema });
/** Input of `UserService.deactivate`, `reactivate` and `getUser`. */
export type UserIdInput = z.input<typeof UserIdInput>;

/**
 * `authenticate`: `login` is a document id or (when it contains `@`) an e-mail address, ≤ 120
 * chars; `password` 1..256 characters.
 */
export const AuthenticateInput = z.strictObject({
  login: requiredText(120),
  password: OfferedPasswordSchema,
});
/** Input of `UserService.authenticate`. */
export type AuthenticateInput = z.input<typeof AuthenticateInput>;

/**
 * `changePassword`:
 * - your own (`userId` absent or your id): `currentPassword` required; clears `mustChangePassword`;
 * - someone else's (admin only): no current password; sets `mustChangePassword`.
 *
 * `newPassword`: 12..256 characters. It may equal the current one, except while the user must
 * change their password (`mustChangePassword`: someone else chose it) — the service checks that.
 */
export const ChangePasswordInput = z.strictObject({
  userId: IdSchema.optional(),
  currentPassword: OfferedPasswordSchema.optional(),
  newPassword: PasswordSchema,
});
/** Input of `UserService.changePassword`. */
export type ChangePasswordInput = z.input<typeof ChangePasswordInput>;

/**
 * `listUsers`: users whose document id, name or e-mail contains `text` (case-insensitive for
 * ASCII; ≤ 100 chars), optionally of one `role` and `active` state; ordered by `fullName`, `id`.
 */
export const ListUsersInput = PageSchema.extend({
  text: optionalText(100).optional(),
  role: z.enum(ROLES).optional(),
  active: z.boolean().optional(),
});
/** Input of `UserService.listUsers`. */
export type ListUsersInput = z.input<typeof ListUsersInput>;
