/**
 * Password hashing: argon2id through `@node-rs/argon2` (a maintained Rust binding), with
 * parameters at OWASP's minimum for argon2id. Source: DESIGN §8 ("argon2id or scrypt through a
 * maintained implementation, constant-time verification"); OWASP Password Storage Cheat Sheet
 * (argon2id, m = 19 MiB, t = 2, p = 1).
 *
 * @module
 */
import { type Algorithm, hash, parseOptions, verify } from '@node-rs/argon2';
import { z } from 'zod';

/**
 * The argon2id parameters of every new hash: memory 19 456 KiB (19 MiB), 2 passes, 1 lane, 32-byte
 * output, 16-byte random salt — OWASP's minimum configuration for argon2id. Stored hashes are PHC
 * strings that carry their own parameters (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`), so
 * raising these later keeps old hashes verifiable; {@link passwordNeedsRehash} tells which to
 * upgrade.
 */
export const PASSWORD_HASH_PARAMS = Object.freeze({
  algorithm: 'argon2id',
  /** Memory cost in KiB. */
  memoryCost: 19_456,
  /** Number of passes. */
  timeCost: 2,
  /** Lanes (threads). */
  parallelism: 1,
  /** Hash length in bytes. */
  outputLen: 32,
} as const);

/** `Algorithm.Argon2id` of `@node-rs/argon2` (a `const enum`, which isolated modules cannot import). */
const ARGON2ID = 2 as Algorithm;

const OPTIONS = {
  algorithm: ARGON2ID,
  memoryCost: PASSWORD_HASH_PARAMS.memoryCost,
  timeCost: PASSWORD_HASH_PARAMS.timeCost,
  parallelism: PASSWORD_HASH_PARAMS.parallelism,
  outputLen: PASSWORD_HASH_PARAMS.outputLen,
};

/** Shortest password accepted, in Unicode characters (code points). */
export const PASSWORD_MIN_LENGTH = 12;
/** Longest password accepted, in Unicode characters (code points). */
export const PASSWORD_MAX_LENGTH = 256;

const codePoints = (s: string) => [...s].length;

/**
 * A new password: 12..256 Unicode characters, any characters (spaces included; nothing is
 * trimmed), except NUL. Passwords are NFC-normalized before hashing and verifying, so the same
 * text typed on different keyboards matches.
 */
export const PasswordSchema = z
  .string()
  .refine((s) => codePoints(s) >= PASSWORD_MIN_LENGTH, {
    message: `must be at least ${PASSWORD_MIN_LENGTH} characters`,
  })
  .refine((s) => codePoints(s) <= PASSWORD_MAX_LENGTH, {
    message: `must be at most ${PASSWORD_MAX_LENGTH} characters`,
  })
  .refine((s) => !s.includes('\u0000'), { message: 'must not contain NUL characters' });

/**
 * A password offered at sign-in or as the current password: 1..256 characters. (Not the policy
 * of {@link PasswordSchema}: a wrong password of any length is just wrong, `AUTH_FAILED`.)
 */
export const OfferedPasswordSchema = z
  .string()
  .min(1)
  .refine((s) => codePoints(s) <= PASSWORD_MAX_LENGTH, {
    message: `must be at most ${PASSWORD_MAX_LENGTH} characters`,
  });

/**
 * A hash of a random password with {@link PASSWORD_HASH_PARAMS}, verified when the login names no
 * usable account, so an unknown login costs the same argon2 work as a known one.
 */
const DUMMY_HASH =
  '$argon2id$v=19$m=19456,t=2,p=1$C4n/lLGmPuPlJFvO1JZmFQ$hQPjvqCscYorKtTw3iupQDroDpSDP7aYU+HA+/NpQOE';

/**
 * Hashes `password` with argon2id and {@link PASSWORD_HASH_PARAMS}. Returns a PHC string
 * (`$argon2id$v=19$m=19456,t=2,p=1$…`). Runs off the main thread.
 */
export function hashPassword(password: string): Promise<string> {
  return hash(password.normalize('NFC'), OPTIONS);
}

/**
 * True when `password` matches the PHC `storedHash` (constant-time comparison inside argon2).
 * A missing or malformed hash verifies against a dummy hash of the same cost, then returns false.
 */
export async function verifyPassword(
  storedHash: string | null | undefined,
  password: string,
): Promise<boolean> {
  const normalized = password.normalize('NFC');
  if (storedHash) {
    try {
      return await verify(storedHash, normalized);
    } catch {
      // malformed hash: fall through to the same amount of work, then refuse
    }
  }
  await verify(DUMMY_HASH, normalized).catch(() => false);
  return false;
}

/**
 * True when `storedHash` is not argon2id with at least {@link PASSWORD_HASH_PARAMS} (hash it
 * again at the next successful sign-in), or cannot be parsed.
 */
export function passwordNeedsRehash(storedHash: string): boolean {
  try {
    const p = parseOptions(storedHash);
    return (
      p.algorithm !== ARGON2ID ||
      p.memoryCost < PASSWORD_HASH_PARAMS.memoryCost ||
      p.timeCost < PASSWORD_HASH_PARAMS.timeCost ||
      p.outputLen < PASSWORD_HASH_PARAMS.outputLen
    );
  } catch {
    return true;
  }
}

/** The PHC parameters of the built-in dummy hash (tests check they equal the current ones). @internal */
export function dummyHashParameters(): { memoryCost: number; timeCost: number; parallelism: number } {
  const { memoryCost, timeCost, parallelism } = parseOptions(DUMMY_HASH);
  return { memoryCost, timeCost, parallelism };
}
