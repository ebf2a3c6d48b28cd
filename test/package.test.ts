/**
 * The published artifact, as a user gets it: `npm pack`, install the tarball into a fresh project
 * outside the repository, and there — importing only `swl-library` — initialize a SQLite and a
 * PostgreSQL database and run request → approve → return; and `swl-library/http` answers an
 * `swl-library` error with its problem.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { swlMigrations } from '../migrations/index.ts';
import { createTestDatabase, describeEachDialect, type ScratchDatabase } from './support/fixtures.ts';
import { installedPackage } from './support/installed-package.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');

let project: string;

const CONSUMER = `
import { CatalogService, initializeDatabase, LoanService, openSwlOrm } from 'swl-library';

const orm = await openSwlOrm({ databaseUrl: process.argv[2] });
try {
  const init = await initializeDatabase(orm, { adminPassword: 'a tarball admin passphrase' });
  const admin = { id: init.admin.id, role: 'admin' };
  const mouse = (await new CatalogService(orm.em.fork()).search(admin, { text: 'mouse usb' })).items[0];
  const loans = new LoanService(orm.em.fork());
  const loan = await loans.request(admin, { catalogEntryId: mouse.id });
  const approved = await loans.approve(admin, { loanId: loan.id });
  const returned = await loans.return(admin, { loanId: loan.id, outcome: 'ok' });
  const again = await initializeDatabase(orm);
  console.log(JSON.stringify({
    migrations: init.migrationsApplied,
    seededCopies: init.catalog.copiesCreated,
    reseededCopies: again.catalog.copiesCreated,
    code: approved.copyCode,
    entryId: mouse.id,
    status: returned.status,
    events: (await loans.getLoan(admin, { loanId: loan.id })).events.map((e) => e.type),
  }));
} finally {
  await orm.close();
}
`;

// `swl-library/http` recognizes the `SwlError` class of `swl-library` (one shared copy of it).
const HTTP_CONSUMER = `
import { SwlError } from 'swl-library';
import { swlExpressErrorHandler, swlFastifyErrorHandler, toProblemDetails } from 'swl-library/http';

const problem = toProblemDetails(new SwlError('CONFLICT', 'try again', { loanId: 3 }));
console.log(JSON.stringify({
  problem,
  handlers: [typeof swlFastifyErrorHandler, swlExpressErrorHandler.length],
}));
`;

beforeAll(async () => {
  project = (await installedPackage()).dir;
  writeFileSync(join(project, 'consumer.mjs'), CONSUMER);
  writeFileSync(join(project, 'http-consumer.mjs'), HTTP_CONSUMER);
}, 300_000);

it('the tarball holds the built code, types and both migration sets, and nothing from src/ or test/', async () => {
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root });
  const files: string[] = JSON.parse(stdout.slice(stdout.indexOf('[')))[0].files.map(
    (f: { path: string }) => f.path,
  );
  for (const f of [
    'dist/index.js',
    'dist/index.d.ts',
    'dist/migrations/sqlite/index.js',
    'dist/migrations/postgresql/index.js',
    'dist/seeders/index.js',
    'dist/http/index.js',
    'dist/http/index.d.ts',
  ]) {
    expect(files).toContain(f);
  }
  expect(files.filter((f) => /^(src|test|scripts|bench|examples)\//.test(f))).toEqual([]);
});

it('swl-library/http turns an SwlError from swl-library into a problem, in the installed tarball', async () => {
  const { stdout } = await run(process.execPath, ['http-consumer.mjs'], { cwd: project, timeout: 60_000 });
  expect(JSON.parse(stdout.trim().split('\n').at(-1) as string)).toEqual({
    problem: {
      status: 409,
      headers: { 'content-type': 'application/problem+json', 'retry-after': '1' },
      body: {
        type: 'urn:swl-library:problem:conflict',
        title: 'Concurrent change',
        status: 409,
        detail: 'try again',
        code: 'CONFLICT',
        details: { loanId: 3 },
      },
    },
    handlers: ['function', 4],
  });
});

describeEachDialect('installed tarball', (dialect) => {
  let db: ScratchDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(dialect);
  });
  afterAll(async () => db?.drop());

  it('initializes a database and runs request → approve → return, importing only swl-library', async () => {
    const { stdout } = await run(process.execPath, ['consumer.mjs', db.location], {
      cwd: project,
      timeout: 120_000,
    });
    const result = JSON.parse(stdout.trim().split('\n').at(-1) as string);
    expect(result).toMatchObject({
      migrations: swlMigrations(dialect).map((m) => m.name),
      seededCopies: 108,
      reseededCopies: 0,
      code: `MOU-${result.entryId}-1`,
      status: 'devuelto',
      events: ['requested', 'approved', 'returned'],
    });
  });
});
