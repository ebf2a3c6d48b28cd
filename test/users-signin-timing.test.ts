/**
 * Failed sign-ins take the same time whatever the stored hash (issue 11).
 *
 * Before: `authenticate` spent one argon2 verification with the stored hash's own parameters, so a
 * wrong password against a weaker argon2id hash (m = 4096, t = 1) failed about 4–10× faster than
 * against a current one (this test on the old code, loaded 2-core machine: max/min 4.3 on SQLite,
 * 4.1 on PostgreSQL), revealing the accounts with old hashes. Now every failure spends one
 * current-parameter argon2id verification and is padded to a floor that covers the slowest
 * scheme in use (see `UserService.authenticate`; measured here: 1.01–1.06).
 *
 * Measured: the medians of 21 failed sign-ins each against a current argon2id hash, a weaker
 * argon2id hash, a Werkzeug `pbkdf2:sha256:150000` hash (an older Werkzeug default count; slower
 * than argon2id here) and an unknown login, interleaved round by round (so a change of machine
 * load hits every kind alike). They must be within 1.5× of each other: loose enough for a loaded
 * 2-core machine (padding makes them equal up to noise), far below the old ratio.
 *
 * The Werkzeug hash: Werkzeug 3.1.8,
 * `generate_password_hash('una clave heredada de Flask', 'pbkdf2:sha256:150000')`; also
 * `hashlib.pbkdf2_hmac('sha256', password.encode(), salt.encode(), 150000).hex() == digest`.
 * The verifier is told, through its reference hashes, that `pbkdf2:sha256:150000` is the most
 * expensive Werkzeug hash of this installation (the default references, Werkzeug 3.1's scrypt and
 * pbkdf2 1 000 000, would make every failure here take ~250 ms or more, and the test slow).
 */
import { type Algorithm, hash } from '@node-rs/argon2';
import { beforeAll, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.ts';
import type { Actor } from '../src/permissions.ts';
import { werkzeugPasswordVerifier } from '../src/users/password.ts';
import { UserService } from '../src/users/user.service.ts';
import {
  createTestUser,
  describeEachDialect,
  setStoredPasswordHash,
  uniqueId,
  useTestOrm,
} from './support/fixtures.ts';

const PASSWORD = 'una clave heredada de Flask';
const WERKZEUG_PBKDF2_150K =
  'pbkdf2:sha256:150000$XjDhmr05Mkdo8vdC$e7840285232a2d1a6cbb25d6f28c74ce18115b45425e038f835271056acbd858';
const TRIES = 21;
const MAX_RATIO = 1.5;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] as number;
}

describeEachDialect('failed sign-ins take the same time whatever the stored hash', (dialect) => {
  const t = useTestOrm(dialect);
  let admin: Actor;
  const clock = new ManualClock('2026-03-02T08:00:00Z');
  const legacyPasswordVerifiers = [
    werkzeugPasswordVerifier({ referenceHashes: [`pbkdf2:sha256:150000$reference$${'0'.repeat(64)}`] }),
  ];
  const users = () => new UserService(t.orm.em.fork(), { clock, legacyPasswordVerifiers });
  const logins: Record<string, string> = {};

  async function userWithHash(stored: string | null): Promise<string> {
    const documentId = uniqueId();
    const view = await users().createUser(admin, { documentId, fullName: `Timing ${documentId}` });
    await setStoredPasswordHash(t.orm, view.id, stored);
    return documentId;
  }

  beforeAll(async () => {
    admin = await createTestUser(t.orm, 'admin');
    const current = uniqueId();
    await users().createUser(admin, { documentId: current, fullName: 'Current hash', password: PASSWORD });
    logins['current argon2id'] = current;
    const weak = await hash(PASSWORD, {
      algorithm: 2 as Algorithm,
      memoryCost: 4096,
      timeCost: 1,
      parallelism: 1,
    });
    logins['weaker argon2id (m=4096,t=1)'] = await userWithHash(weak);
    logins['Werkzeug pbkdf2:sha256:150000'] = await userWithHash(WERKZEUG_PBKDF2_150K);
    logins['unknown login'] = uniqueId();
    // The process's first sign-in measures the reference hashes once; not part of the timing.
    await users().authenticate({ login: current, password: PASSWORD });
  });

  it(`medians of ${TRIES} failed sign-ins each (current, weaker argon2id, Werkzeug, unknown login) are within ${MAX_RATIO}×`, async () => {
    const kinds = Object.keys(logins);
    const times: Record<string, number[]> = Object.fromEntries(kinds.map((k) => [k, []]));
    for (let round = 0; round < TRIES; round++) {
      for (let k = 0; k < kinds.length; k++) {
        const kind = kinds[(k + round) % kinds.length] as string;
        const start = performance.now();
        const error = await users()
          .authenticate({ login: logins[kind] as string, password: 'not the password at all' })
          .then(
            () => null,
            (e: { code?: string }) => e.code,
          );
        times[kind]?.push(performance.now() - start);
        expect(error, kind).toBe('AUTH_FAILED');
      }
    }
    const medians = Object.fromEntries(kinds.map((k) => [k, median(times[k] as number[])]));
    const values = Object.values(medians);
    const ratio = Math.max(...values) / Math.min(...values);
    const summary = `${kinds.map((k) => `${k} ${medians[k]?.toFixed(1)} ms`).join(', ')}; max/min ${ratio.toFixed(2)}`;
    console.log(`[${dialect}] failed sign-in medians: ${summary}`);
    expect(ratio, summary).toBeLessThan(MAX_RATIO);
  });
});
