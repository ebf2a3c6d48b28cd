/**
 * Users and sign-in: {@link UserService}, its input schemas and views, the argon2id password
 * hashing it uses, and the hook for legacy hashes of imported users ({@link LegacyPasswordVerifier},
 * {@link werkzeugPasswordVerifier}). Source: docs/DESIGN.md §2, §6, §8.
 *
 * @module
 */
export {
  hashPassword,
  type LegacyPasswordVerifier,
  OfferedPasswordSchema,
  PASSWORD_HASH_PARAMS,
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
  PasswordSchema,
  passwordNeedsRehash,
  type VerifyPasswordOptions,
  verifyPassword,
  WERKZEUG_REFERENCE_HASHES,
  type WerkzeugVerifierOptions,
  werkzeugPasswordVerifier,
} from './password.ts';
export * from './schemas.ts';
export { UserService, type UserServiceOptions } from './user.service.ts';
export type { UserView } from './views.ts';
