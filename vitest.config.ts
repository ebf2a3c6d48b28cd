import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['verbose'],
    // Every typed query compiled from the shape cache is also compiled afresh and compared
    // (src/kernel/compiled.ts): a shape that depends on its arguments fails the tests.
    env: { SWL_CHECK_QUERY_SHAPES: '1' },
  },
});
