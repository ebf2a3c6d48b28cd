import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  // Code under test that imports the package by name (README blocks, examples) gets this
  // repository's source, as tsconfig.json's `paths` say — never a stale or missing dist/.
  resolve: {
    alias: [
      { find: /^swl-library$/, replacement: source('./src/index.ts') },
      { find: /^swl-library\/http$/, replacement: source('./src/http/index.ts') },
      { find: /^swl-library\/migrations$/, replacement: source('./migrations/index.ts') },
      { find: /^swl-library\/seeders$/, replacement: source('./seeders/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two test files at a time: much of a file's time is spent waiting on PostgreSQL, SQLite locks
    // and the `swl` child processes, so two overlap well even on a 2-core machine.
    maxWorkers: 2,
    reporters: ['verbose'],
    // Every typed query compiled from the shape cache is also compiled afresh and compared
    // (src/kernel/compiled.ts): a shape that depends on its arguments fails the tests.
    env: { SWL_CHECK_QUERY_SHAPES: '1' },
  },
});
