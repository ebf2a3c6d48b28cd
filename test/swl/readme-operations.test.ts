/**
 * README's "Operations" section runs as written (issue 14): its `sh` blocks, in order, through
 * bash, with `swl` on PATH being the installed tarball's executable, in a fresh working directory.
 * Once with `DATABASE_URL` unset (SQLite `instance/app.db`, as the original system), once with it
 * naming a PostgreSQL database. The only rewrite: the example server address of the
 * "develop on SQLite, deploy on PostgreSQL" move (`postgresql://swl:secret@db.example/swl`) becomes
 * a real scratch database.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type ScratchDatabase } from '../support/fixtures.ts';
import { type InstalledPackage, installedPackage } from '../support/installed-package.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const EXAMPLE_SERVER = 'postgresql://swl:secret@db.example/swl';

/** The `sh` blocks of the README section headed `## Operations`. */
function operationsBlocks(): string[] {
  const text = readFileSync(join(root, 'README.md'), 'utf8');
  const start = text.indexOf('\n## Operations');
  if (start < 0) return [];
  const end = text.indexOf('\n## ', start + 1);
  const section = text.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/^```sh\n([\s\S]*?)^```/gm)].map((m) => m[1] as string);
}

let pkg: InstalledPackage;
let bin: string;
beforeAll(async () => {
  pkg = await installedPackage();
  bin = mkdtempSync(join(tmpdir(), 'swl-bin-'));
  // `swl` as an operator has it on PATH, run by this run's (pinned) Node.
  writeFileSync(join(bin, 'swl'), `#!/bin/sh\nexec "${process.execPath}" "${pkg.bin}" "$@"\n`);
  chmodSync(join(bin, 'swl'), 0o755);
  return () => rmSync(bin, { recursive: true, force: true });
}, 300_000);

const blocks = operationsBlocks();

describe('README "Operations" runs as written', () => {
  it('has the operations section with its commands', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(5);
    const all = blocks.join('\n');
    for (const command of [
      'swl init',
      'swl db upgrade',
      'swl db current',
      'swl db stamp',
      'swl admin reset-password',
      'swl backup',
      'swl restore',
      'swl export',
      'swl import',
      'swl stats',
      'swl visits purge',
      'swl maintain',
      'swl doctor',
      'swl notices run',
      'swl report',
    ]) {
      // `swl [global options] <command>`, e.g. `swl --database-url … import desk.swl.jsonl`.
      const [, ...words] = command.split(' ');
      expect(all, command).toMatch(
        new RegExp(`^(.*\\| )?swl( --?[\\w-]+( \\S+)?)* ${words.join(' ')}\\b`, 'm'),
      );
    }
  });

  for (const target of ['sqlite (DATABASE_URL unset)', 'postgresql'] as const) {
    describe(`[${target}]`, () => {
      let cwd: string;
      const made: ScratchDatabase[] = [];
      beforeAll(() => {
        cwd = mkdtempSync(join(tmpdir(), 'swl-ops-'));
      });
      afterAll(async () => {
        for (const db of made) await db.drop();
        rmSync(cwd, { recursive: true, force: true });
      });

      it('every block exits 0, in order', async () => {
        const env: Record<string, string | undefined> = {
          ...process.env,
          PATH: `${bin}:${process.env.PATH}`,
          DATABASE_URL: undefined,
          SWL_ADMIN_PASSWORD: undefined,
          SWL_CHECK_QUERY_SHAPES: undefined,
          // What the README's reader sets for the admin blocks.
          NEW_ADMIN_PASSWORD: 'a new admin passphrase 2026',
        };
        if (target === 'postgresql') {
          const db = await createTestDatabase('postgresql');
          made.push(db);
          env.DATABASE_URL = db.location;
        }
        const server = await createTestDatabase('postgresql');
        made.push(server);
        for (const [i, block] of blocks.entries()) {
          const script = block.replaceAll(EXAMPLE_SERVER, server.location);
          try {
            await run('bash', ['-euo', 'pipefail', '-c', script], { cwd, env, timeout: 120_000 });
          } catch (error) {
            const e = error as { stdout?: string; stderr?: string; message: string };
            throw new Error(
              `block ${i + 1} failed:\n${block}\n${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`,
            );
          }
        }
        // Every `swl` command of the chapter in turn, each a new Node process: minutes on a busy machine.
      }, 240_000);
    });
  }
});
