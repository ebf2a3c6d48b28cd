/**
 * Vitest global setup: provides a PostgreSQL server URL to every test file, and the folder where
 * the packed package is installed once, on first use (`installed-package.ts`).
 *
 * - `SWL_TEST_POSTGRES_URL` set → that server is used (a database per suite is created in it and
 *   dropped afterwards; the role needs `CREATEDB`).
 * - unset → an embedded PostgreSQL is started for the run and removed at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from './embedded-postgres.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
    packageProject: string;
  }
}

export default async function setup(project: TestProject) {
  const packageProject = mkdtempSync(join(tmpdir(), 'swl-consumer-'));
  project.provide('packageProject', packageProject);
  const removePackage = () => rmSync(packageProject, { recursive: true, force: true });
  const external = process.env.SWL_TEST_POSTGRES_URL;
  if (external) {
    project.provide('postgresUrl', external);
    return removePackage;
  }
  const server = await startEmbeddedPostgres();
  project.provide('postgresUrl', server.url);
  return async () => {
    removePackage();
    await server.stop();
  };
}
