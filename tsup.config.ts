import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    'migrations/index': 'migrations/index.ts',
    'migrations/sqlite/index': 'migrations/sqlite/index.ts',
    'migrations/postgresql/index': 'migrations/postgresql/index.ts',
    'seeders/index': 'seeders/index.ts',
    'http/index': 'src/http/index.ts',
    'cli/index': 'src/cli/index.ts',
  },
  format: ['esm'],
  target: 'node22',
  platform: 'node',
  dts: true,
  splitting: true,
  sourcemap: true,
  clean: true,
  // One copy of the ORM at run time: every ORM package, the query builder and drivers stay external.
  external: [/^@mikro-orm\//, 'mikro-orm', 'kysely', 'pg', 'better-sqlite3', 'zod', /^@node-rs\//, /^node:/],
});
