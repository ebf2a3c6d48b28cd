/**
 * Vitest global setup: provides a PostgreSQL server URL to every test file.
 *
 * - `SWL_TEST_POSTGRES_URL` set → that server is used (a database per suite is created in it and
 *   dropped afterwards; the role needs `CREATEDB`).
 * - unset → an embedded PostgreSQL is started for the run and removed at the end.
 */
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from './embedded-postgres.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const external = process.env.SWL_TEST_POSTGRES_URL;
  if (external) {
    project.provide('postgresUrl', external);
    return;
  }
  const server = await startEmbeddedPostgres();
  project.provide('postgresUrl', server.url);
  return () => server.stop();
}
