/**
 * The published artifact, as a user gets it, made once per test run and shared by every test file
 * that needs it: `tsup`, `npm pack`, and the tarball installed (with the peer dependencies at the
 * versions this repository pins) into a fresh project outside the repository. The first file to
 * ask builds it under a lock; the others wait for it. The global setup names the folder and
 * removes it at the end.
 *
 * `swl(args)` runs the installed `swl` executable as a child process on this run's Node (the
 * pinned one), the way an operator runs it: `node_modules/.bin/swl …`.
 */
import { type ExecFileOptions, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { inject } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');

/** The peer dependencies a host installs beside the package (README's install line). */
const PEERS = [
  '@mikro-orm/core',
  '@mikro-orm/sql',
  '@mikro-orm/migrations',
  '@mikro-orm/seeder',
  '@mikro-orm/postgresql',
  '@mikro-orm/sqlite',
  'kysely',
];

/** A fresh project with the packed package installed. */
export interface InstalledPackage {
  /** The project folder (its `node_modules/swl-library` is the installed tarball). */
  dir: string;
  /** The installed `swl` executable's JavaScript file. */
  bin: string;
}

/** What one `swl` run did. */
export interface SwlRun {
  code: number;
  stdout: string;
  stderr: string;
}

async function build(dir: string): Promise<void> {
  await run(join(root, 'node_modules/.bin/tsup'), ['--silent'], { cwd: root });
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], {
    cwd: root,
    maxBuffer: 1 << 26,
  });
  const tarball = JSON.parse(stdout.slice(stdout.indexOf('[')))[0].filename as string;
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const peers = Object.fromEntries(PEERS.map((name) => [name, pkg.devDependencies[name]]));
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({
      name: 'swl-consumer',
      private: true,
      type: 'module',
      dependencies: { 'swl-library': `file:./${tarball}`, ...peers },
    }),
  );
  await run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], {
    cwd: dir,
    maxBuffer: 1 << 26,
  });
}

/**
 * The installed package of this run, building it first if no other test file has. Waits up to
 * 5 minutes for another file's build.
 */
export async function installedPackage(): Promise<InstalledPackage> {
  const dir = inject('packageProject');
  const ready = join(dir, '.ready');
  const failed = join(dir, '.failed');
  const result = { dir, bin: join(dir, 'node_modules/swl-library/dist/cli/index.js') };
  let mine = false;
  try {
    mkdirSync(join(dir, '.lock'));
    mine = true;
  } catch {
    // another file is building it
  }
  if (mine) {
    try {
      await build(dir);
      writeFileSync(ready, '');
    } catch (error) {
      writeFileSync(failed, String(error instanceof Error ? error.stack : error));
      throw error;
    }
    return result;
  }
  const deadline = Date.now() + 300_000;
  while (!existsSync(ready)) {
    if (existsSync(failed)) throw new Error(`building the package failed:\n${readFileSync(failed, 'utf8')}`);
    if (Date.now() > deadline) throw new Error('the package was not built within 5 minutes');
    await sleep(200);
  }
  return result;
}

/**
 * Runs the installed `swl` with `args` on this run's Node, in `cwd` (default: the project), with
 * `env` over the test process's environment (`DATABASE_URL` included when given), feeding `input`
 * on stdin (stdin is closed otherwise, so nothing waits for a terminal).
 */
export async function swl(
  pkg: InstalledPackage,
  args: string[],
  options: {
    env?: Record<string, string | undefined>;
    input?: string;
    cwd?: string;
    timeoutMs?: number;
  } = {},
): Promise<SwlRun> {
  const child = spawn(process.execPath, [pkg.bin, ...args], {
    cwd: options.cwd ?? pkg.dir,
    env: { ...process.env, SWL_CHECK_QUERY_SHAPES: undefined, ...options.env } as ExecFileOptions['env'],
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  child.stdin.end(options.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}
