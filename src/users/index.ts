/**
 * Users and sign-in: {@link UserService}, its input schemas and views, and the argon2id password
 * hashing it uses. Source: DESIGN §2, §6, §8.
 *
 * @module
 */
export {
  hashPassword,
  OfferedPasswordSchema,
  PASSWORD_HASH_PARAMS,
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
  PasswordSchema,
  passwordNeedsRehash,
  verifyPassword,
} from './password.ts';
export * from './schemas.ts';
export { UserService } from './user.service.ts';
export type { UserView } from './views.ts';
