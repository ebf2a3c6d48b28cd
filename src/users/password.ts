/**
 * Password hashing: argon2id through `@node-rs/argon2` (a maintained Rust binding), with
 * parameters at OWASP's minimum for argon2id. Source: docs/DESIGN.md §8 ("argon2id or scrypt through a
 * maintained implementation, constant-time verification"); OWASP Password Storage Cheat Sheet
 * (argon2id, m = 19 MiB, t = 2, p = 1).
 *
 * Also: the legacy-hash hook ({@link LegacyPasswordVerifier}, with a built-in verifier for
 * Werkzeug's `scrypt:`/`pbkdf2:` hashes, {@link werkzeugPasswordVerifier}) and the timing of
 * failed sign-ins (`SignInAttempt`, internal).
 *
 * @module
 */
import { pbkdf2, scrypt, timingSafeEqual } from 'node:crypto';
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
 * A hook that verifies password hashes made by another system (users imported from it), so those
 * users can sign in; at their first successful sign-in `UserService.authenticate` replaces the
 * hash with argon2id. Pass verifiers to the service: `new UserService(em, {
 * legacyPasswordVerifiers: [werkzeugPasswordVerifier()] })`. Argon2 PHC strings (`$argon2…`) never
 * reach a verifier; a stored hash that is neither argon2 nor matched by a verifier never matches.
 *
 * Failed sign-ins are padded to the cost of the slowest scheme in use (see `UserService.authenticate`),
 * measured from {@link LegacyPasswordVerifier.referenceHashes} and from the hashes met, so a
 * verifier need not be fast, only consistent: the same parameters should take the same time.
 *
 * @example
 * ```ts
 * // A host's own scheme: `sha256$<hex>` from an old system (a weak scheme: upgrade it soon).
 * const legacySha256: LegacyPasswordVerifier = {
 *   name: 'old-sha256',
 *   matches: (stored) => stored.startsWith('sha256$'),
 *   verify: async (stored, password) => {
 *     const expected = Buffer.from(stored.slice(7), 'hex');
 *     const actual = createHash('sha256').update(password, 'utf8').digest();
 *     return expected.length === actual.length && timingSafeEqual(expected, actual);
 *   },
 * };
 * ```
 */
export interface LegacyPasswordVerifier {
  /** A short name of the scheme family, e.g. `werkzeug` (a key of its timing estimates; never shown). */
  readonly name: string;
  /** True when `stored` is a hash of this verifier's format. Cheap (a prefix test); no hashing. */
  matches(stored: string): boolean;
  /**
   * True when `password` matches `stored`, compared in constant time. `password` is exactly as
   * offered (not NFC-normalized): verify it the way the system that made the hash did. Return
   * false — or throw, which counts as false — for a hash it cannot verify.
   */
  verify(stored: string, password: string): Promise<boolean>;
  /**
   * The part of `stored` that decides how long verifying it takes (e.g. `pbkdf2:sha256:600000`):
   * hashes of one cost class take the same time. Default: one class for the whole verifier.
   */
  costClass?(stored: string): string;
  /**
   * Hashes with the most expensive parameters this verifier is expected to meet (of any password:
   * the digest may be zeros, they are only timed). Each is verified once per process, at the
   * first sign-in, so failed sign-ins are padded to its cost before such a hash is first met.
   */
  readonly referenceHashes?: readonly string[];
}

/** Options of {@link werkzeugPasswordVerifier}. */
export interface WerkzeugVerifierOptions {
  /**
   * See {@link LegacyPasswordVerifier.referenceHashes}. Default {@link WERKZEUG_REFERENCE_HASHES}
   * (Werkzeug 3.1's defaults). List your installation's most expensive parameters if they differ.
   */
  referenceHashes?: readonly string[];
  /**
   * Most memory one scrypt verification may use, in bytes (about 128·N·r). A hash needing more
   * does not verify. Default 64 MiB (Werkzeug's default `scrypt:32768:8:1` needs 32 MiB; each
   * verification runs on one of libuv's threads, four by default).
   */
  maxScryptMemoryBytes?: number;
  /**
   * Most pbkdf2 iterations a hash may ask for; a hash asking more does not verify. Default
   * 10 000 000 (ten times Werkzeug 3.1's default of 1 000 000).
   */
  maxPbkdf2Iterations?: number;
  /**
   * Most scrypt parallelism (`p`) a hash may ask for (its cost grows with p while its memory does
   * not); a hash asking more does not verify. Default 16 (Werkzeug writes 1).
   */
  maxScryptParallelism?: number;
}

/**
 * Reference hashes of Werkzeug 3.1's defaults, `scrypt:32768:8:1` and `pbkdf2:sha256:1000000`
 * (see {@link LegacyPasswordVerifier.referenceHashes}). Their digests are zeros: no password
 * matches them.
 */
export const WERKZEUG_REFERENCE_HASHES: readonly string[] = Object.freeze([
  `scrypt:32768:8:1$reference$${'0'.repeat(128)}`,
  `pbkdf2:sha256:1000000$reference$${'0'.repeat(64)}`,
]);

/** PBKDF2 digests Werkzeug can name (Python `hashlib` names) → Node's name and output bytes. */
const PBKDF2_DIGESTS: ReadonlyMap<string, readonly [string, number]> = new Map([
  ['sha1', ['sha1', 20]],
  ['sha224', ['sha224', 28]],
  ['sha256', ['sha256', 32]],
  ['sha384', ['sha384', 48]],
  ['sha512', ['sha512', 64]],
  ['sha512_224', ['sha512-224', 28]],
  ['sha512_256', ['sha512-256', 32]],
  ['sha3_224', ['sha3-224', 28]],
  ['sha3_256', ['sha3-256', 32]],
  ['sha3_384', ['sha3-384', 48]],
  ['sha3_512', ['sha3-512', 64]],
]);

/** A decimal count as Werkzeug writes it: 1..2³¹−1. */
function count(text: string | undefined): number | null {
  if (text === undefined || !/^[0-9]{1,10}$/.test(text)) return null;
  const n = Number(text);
  return n >= 1 && n <= 2 ** 31 - 1 ? n : null;
}

type WerkzeugHash =
  | { kind: 'scrypt'; n: number; r: number; p: number; salt: string; digest: Buffer }
  | { kind: 'pbkdf2'; algorithm: string; iterations: number; salt: string; digest: Buffer };

/**
 * Parses `method$salt$hexdigest` as Werkzeug's `generate_password_hash` writes it: `scrypt:N:r:p`
 * (or bare `scrypt`: 32768, 8, 1) with a 64-byte digest, or `pbkdf2:<hashlib name>:<iterations>`
 * with a digest of the hash's size. A bare `pbkdf2` or `pbkdf2:<name>` (whose iteration count was
 * the running Werkzeug's default, which changed between versions) is refused: Werkzeug always
 * writes the count.
 */
function parseWerkzeug(stored: string): WerkzeugHash | null {
  const first = stored.indexOf('$');
  const second = stored.indexOf('$', first + 1);
  if (first < 0 || second < 0) return null;
  const [method, ...args] = stored.slice(0, first).split(':');
  const salt = stored.slice(first + 1, second);
  const hex = stored.slice(second + 1);
  if (!/^(?:[0-9a-f]{2})+$/.test(hex)) return null;
  const digest = Buffer.from(hex, 'hex');
  if (method === 'scrypt') {
    const [n, r, p] = args.length === 0 ? [32_768, 8, 1] : args.length === 3 ? args.map(count) : [];
    if (!n || !r || !p || digest.length !== 64) return null;
    return { kind: 'scrypt', n, r, p, salt, digest };
  }
  if (method === 'pbkdf2' && args.length === 2) {
    const known = PBKDF2_DIGESTS.get(args[0] as string);
    const iterations = count(args[1]);
    if (!known || !iterations || digest.length !== known[1]) return null;
    return { kind: 'pbkdf2', algorithm: known[0], iterations, salt, digest };
  }
  return null;
}

function derive(h: WerkzeugHash, password: string, maxmem: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, key: Buffer) => (error ? reject(error) : resolve(key));
    if (h.kind === 'scrypt') {
      scrypt(password, h.salt, h.digest.length, { N: h.n, r: h.r, p: h.p, maxmem }, done);
    } else {
      pbkdf2(password, h.salt, h.iterations, h.digest.length, h.algorithm, done);
    }
  });
}

/**
 * The built-in {@link LegacyPasswordVerifier} for Werkzeug's hashes (`werkzeug.security`
 * `generate_password_hash`, used by Flask applications such as the original SWL system):
 * `scrypt:32768:8:1$<salt>$<hex>` (the default since Werkzeug 2.3) and
 * `pbkdf2:sha256:<iterations>$<salt>$<hex>` (the default before; any `hashlib` SHA-1/2/3 name,
 * any iteration count, e.g. 260 000 or 600 000). It checks
 * exactly as `check_password_hash` does: salt and password as UTF-8 (the password not
 * normalized), Node's `crypto.scrypt` (64-byte key) or `crypto.pbkdf2` (a key of the digest's
 * size), constant-time comparison. Unparseable hashes, unknown digests, and parameters over the
 * limits of {@link WerkzeugVerifierOptions} (scrypt memory and parallelism, pbkdf2 iterations) do
 * not verify.
 *
 * @param options - reference hashes for the failure timing and the scrypt memory limit.
 * @returns a verifier to pass as `legacyPasswordVerifiers` to `UserService`.
 */
export function werkzeugPasswordVerifier(options: WerkzeugVerifierOptions = {}): LegacyPasswordVerifier {
  const maxmem = options.maxScryptMemoryBytes ?? 64 * 1024 * 1024;
  const maxIterations = options.maxPbkdf2Iterations ?? 10_000_000;
  const maxParallelism = options.maxScryptParallelism ?? 16;
  return Object.freeze({
    name: 'werkzeug',
    referenceHashes: Object.freeze([...(options.referenceHashes ?? WERKZEUG_REFERENCE_HASHES)]),
    matches: (stored: string) => /^(?:scrypt|pbkdf2)[:$]/.test(stored),
    costClass: (stored: string) => stored.slice(0, Math.max(0, stored.indexOf('$'))).slice(0, 64),
    async verify(stored: string, password: string): Promise<boolean> {
      const parsed = parseWerkzeug(stored);
      if (!parsed) return false;
      // A corrupt or hostile row must not tie up a libuv thread for minutes on every attempt.
      if (parsed.kind === 'pbkdf2' && parsed.iterations > maxIterations) return false;
      if (parsed.kind === 'scrypt' && parsed.p > maxParallelism) return false;
      const key = await derive(parsed, password, maxmem).catch(() => null); // e.g. over maxmem
      return key !== null && timingSafeEqual(key, parsed.digest);
    },
  });
}

/** Options of {@link verifyPassword}. */
export interface VerifyPasswordOptions {
  /** Verifiers of non-argon2 hashes (see {@link LegacyPasswordVerifier}). Default: none. */
  legacyVerifiers?: readonly LegacyPasswordVerifier[];
}

const isArgon2 = (stored: string) => stored.startsWith('$argon2');

function legacyVerifierFor(
  stored: string,
  verifiers: readonly LegacyPasswordVerifier[],
): LegacyPasswordVerifier | undefined {
  return verifiers.find((v) => {
    try {
      return v.matches(stored) === true;
    } catch {
      return false;
    }
  });
}

async function verifyLegacy(v: LegacyPasswordVerifier, stored: string, password: string): Promise<boolean> {
  try {
    return (await v.verify(stored, password)) === true;
  } catch {
    return false;
  }
}

/**
 * True when `password` matches `storedHash`: an argon2 PHC string (constant-time comparison inside
 * argon2; the password NFC-normalized), or a hash one of `options.legacyVerifiers` matches. A
 * missing, malformed or unknown hash verifies against a dummy argon2id hash of the current cost,
 * then returns false.
 */
export async function verifyPassword(
  storedHash: string | null | undefined,
  password: string,
  options: VerifyPasswordOptions = {},
): Promise<boolean> {
  const normalized = password.normalize('NFC');
  if (storedHash) {
    if (isArgon2(storedHash)) {
      try {
        return await verify(storedHash, normalized);
      } catch {
        // malformed hash: fall through to the same amount of work, then refuse
      }
    } else {
      const legacy = legacyVerifierFor(storedHash, options.legacyVerifiers ?? []);
      if (legacy) return verifyLegacy(legacy, storedHash, password);
    }
  }
  await verify(DUMMY_HASH, normalized).catch(() => false);
  return false;
}

/**
 * True when `storedHash` is not argon2id with at least {@link PASSWORD_HASH_PARAMS} (hash it
 * again at the next successful sign-in), or cannot be parsed — which includes every legacy
 * (non-argon2) hash.
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

// ---------------------------------------------------------------------------------------------
// Failed sign-ins take the same time, whatever the stored hash.
//
// Every failed sign-in (1) spends exactly one argon2id verification with the current parameters —
// the real one for a current hash, else a dummy one (after the real check of a weaker or legacy
// hash, or instead of it for no hash / an unknown login) — and (2) ends no earlier than a floor,
// counted from the start of the attempt:
//
//   floor = FLOOR_HEADROOM × A × (1 + R)
//
// A: the median of the last ARGON2_SAMPLES current-parameter argon2id verification times (real or
//    dummy, successes included), so the floor follows the machine's load;
// R: the largest cost ratio (verification time ÷ argon2id time) of any other cost class this
//    process knows — the reference hashes of the configured legacy verifiers, measured once at the
//    first sign-in, and every non-current hash verified since (weaker or stronger argon2, each
//    legacy class) — each class the 75th percentile of its last CLASS_SAMPLES ratios (robust to a
//    stalled measurement, yet above most of them). A failure measures its class's ratio against
//    the dummy argon2id run right after it, under the same load: ratios hold when the machine
//    gets busy, where milliseconds would not.
//
// The slowest failure path costs about (1 + R) argon2id verifications of real work, so failures
// end at the floor — a time that does not depend on the stored hash (the headroom absorbs noise
// and the database read). Medians, over time, not one attempt's own timings: the floor must be
// steady to hide anything. The waiting is a timer, not work: a failure costs the CPU of its own
// path only. Successful sign-ins are not padded.

/** Current-parameter argon2id verification times kept for the estimate. */
const ARGON2_SAMPLES = 15;
/** Cost ratios kept per class. */
const CLASS_SAMPLES = 9;
/** Most cost classes tracked (they come from stored hashes; a guard against a pathological table). */
const MAX_CLASSES = 256;
/** Margin of the floor over the slowest failure path's expected time. */
const FLOOR_HEADROOM = 1.3;

const argon2Times: number[] = [];
const classRatios = new Map<string, number[]>();
const calibrated = new Set<string>();
let warmedUp = false;
let calibration: Promise<void> = Promise.resolve();

function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** The 75th percentile (nearest rank) of a non-empty list. */
function upperQuartile(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.75))] as number;
}

function recordRatio(costClass: string, ratio: number): void {
  if (!Number.isFinite(ratio) || ratio < 0) return;
  let ratios = classRatios.get(costClass);
  if (!ratios) {
    if (classRatios.size >= MAX_CLASSES) {
      // The floor needs only the most expensive classes: make room by dropping the cheapest.
      let cheapest: string | undefined;
      for (const [name, xs] of classRatios) {
        if (cheapest === undefined || upperQuartile(xs) < upperQuartile(classRatios.get(cheapest) ?? [])) {
          cheapest = name;
        }
      }
      if (cheapest !== undefined) classRatios.delete(cheapest);
    }
    ratios = [];
    classRatios.set(costClass, ratios);
  }
  ratios.push(ratio);
  if (ratios.length > CLASS_SAMPLES) ratios.shift();
}

/** Verifies with argon2 (false on a malformed hash) and records the time; returns both. */
async function timedArgon2(stored: string, normalized: string): Promise<{ ok: boolean; ms: number }> {
  const start = performance.now();
  const ok = await verify(stored, normalized).catch(() => false);
  const ms = performance.now() - start;
  argon2Times.push(ms);
  if (argon2Times.length > ARGON2_SAMPLES) argon2Times.shift();
  return { ok, ms };
}

/** The earliest time after its start that a failed sign-in may end, in ms. */
function failureFloorMs(): number {
  let ratio = 0;
  for (const ratios of classRatios.values()) ratio = Math.max(ratio, upperQuartile(ratios));
  return FLOOR_HEADROOM * median(argon2Times) * (1 + ratio);
}

/** How a stored hash is verified, and its cost class. */
type Scheme =
  | { kind: 'none' }
  | { kind: 'current' }
  | { kind: 'argon2'; costClass: string }
  | { kind: 'legacy'; costClass: string; verifier: LegacyPasswordVerifier };

function schemeOf(stored: string | null | undefined, verifiers: readonly LegacyPasswordVerifier[]): Scheme {
  if (!stored) return { kind: 'none' };
  if (isArgon2(stored)) {
    try {
      const p = parseOptions(stored);
      const current =
        p.algorithm === ARGON2ID &&
        p.memoryCost === PASSWORD_HASH_PARAMS.memoryCost &&
        p.timeCost === PASSWORD_HASH_PARAMS.timeCost &&
        p.parallelism === PASSWORD_HASH_PARAMS.parallelism;
      if (current) return { kind: 'current' };
      return {
        kind: 'argon2',
        costClass: `argon2:${p.algorithm}:${p.version}:m=${p.memoryCost},t=${p.timeCost},p=${p.parallelism}`,
      };
    } catch {
      return { kind: 'none' };
    }
  }
  const verifier = legacyVerifierFor(stored, verifiers);
  if (!verifier) return { kind: 'none' };
  let costClass = '';
  try {
    costClass = String(verifier.costClass?.(stored) ?? '');
  } catch {
    // one class for the verifier
  }
  return { kind: 'legacy', costClass: `${verifier.name}:${costClass}`, verifier };
}

/**
 * Once per process: warms argon2 up and measures one current verification. Once per reference
 * hash of `verifiers`: measures its cost ratio. Concurrent callers wait for the same run.
 */
function calibrate(verifiers: readonly LegacyPasswordVerifier[]): Promise<void> {
  const missing: Array<[LegacyPasswordVerifier, string]> = [];
  for (const v of verifiers) {
    for (const ref of v.referenceHashes ?? []) {
      const key = `${v.name}\u0000${ref}`;
      if (calibrated.has(key)) continue;
      calibrated.add(key);
      missing.push([v, ref]);
    }
  }
  if (missing.length === 0 && warmedUp) return calibration;
  const warmUp = !warmedUp;
  warmedUp = true;
  calibration = calibration
    .then(async () => {
      const probe = 'calibration probe, never a password';
      if (warmUp) {
        await verify(DUMMY_HASH, probe).catch(() => false); // the first run is slower: not recorded
        await timedArgon2(DUMMY_HASH, probe);
      }
      for (const [v, ref] of missing) {
        const scheme = schemeOf(ref, [v]);
        if (scheme.kind !== 'legacy') continue;
        const start = performance.now();
        await verifyLegacy(v, ref, probe);
        const ms = performance.now() - start;
        recordRatio(scheme.costClass, ms / (await timedArgon2(DUMMY_HASH, probe)).ms);
      }
    })
    .catch(() => undefined);
  return calibration;
}

/**
 * One sign-in's password check, timed so that a failure takes the same time whatever the stored
 * hash (see the comment above `FLOOR_HEADROOM`). Use: `begin`, `check` the stored hash (or
 * nothing), then on any failure `await fail()` before throwing. @internal
 */
export class SignInAttempt {
  readonly #password: string;
  readonly #normalized: string;
  readonly #verifiers: readonly LegacyPasswordVerifier[];
  readonly #started: number;
  /** This attempt's current-parameter argon2id time (real or dummy), once spent. */
  #argon2Ms: number | undefined;
  /** A failed verification of another cost class, to measure against the dummy argon2id. */
  #unmeasured: { costClass: string; ms: number } | undefined;

  /** Use {@link SignInAttempt.begin}. */
  constructor(password: string, verifiers: readonly LegacyPasswordVerifier[]) {
    this.#password = password;
    this.#normalized = password.normalize('NFC');
    this.#verifiers = verifiers;
    this.#started = performance.now();
  }

  /** Starts an attempt (after the one-time calibration of `verifiers`' reference hashes). */
  static async begin(password: string, verifiers: readonly LegacyPasswordVerifier[]): Promise<SignInAttempt> {
    await calibrate(verifiers);
    return new SignInAttempt(password, verifiers);
  }

  /**
   * Verifies the password against `stored`: argon2 (current or other parameters), or the legacy
   * verifier that matches it. `rehash`: it matched and the hash is not argon2id with at least the
   * current parameters (weaker argon2, another argon2 variant, or legacy) — store a new hash.
   */
  async check(stored: string | null | undefined): Promise<{ ok: boolean; rehash: boolean }> {
    const scheme = schemeOf(stored, this.#verifiers);
    if (scheme.kind === 'none' || !stored) return { ok: false, rehash: false };
    if (scheme.kind === 'current') {
      const { ok, ms } = await timedArgon2(stored, this.#normalized);
      this.#argon2Ms = ms;
      // Same cost, but e.g. a shorter output than PASSWORD_HASH_PARAMS: still replaced.
      return { ok, rehash: ok && passwordNeedsRehash(stored) };
    }
    const start = performance.now();
    const ok =
      scheme.kind === 'legacy'
        ? await verifyLegacy(scheme.verifier, stored, this.#password)
        : await verify(stored, this.#normalized).catch(() => false);
    const ms = performance.now() - start;
    if (ok) recordRatio(scheme.costClass, ms / median(argon2Times));
    else this.#unmeasured = { costClass: scheme.costClass, ms };
    return { ok, rehash: ok && (scheme.kind === 'legacy' || passwordNeedsRehash(stored)) };
  }

  /**
   * Ends a failed attempt: spends one current-parameter argon2id verification if `check` did not
   * (no hash, unknown login, weaker or legacy hash), then waits until the failure floor.
   */
  async fail(): Promise<void> {
    if (this.#argon2Ms === undefined) {
      this.#argon2Ms = (await timedArgon2(DUMMY_HASH, this.#normalized)).ms;
      if (this.#unmeasured) recordRatio(this.#unmeasured.costClass, this.#unmeasured.ms / this.#argon2Ms);
    }
    const wait = failureFloorMs() - (performance.now() - this.#started);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
}
