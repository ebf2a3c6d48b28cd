import { describe, expect, it } from 'vitest';
import { resolveDatabase } from '../src/config.ts';
import { expectSwlError } from './support/fixtures.ts';

describe('resolveDatabase (DATABASE_URL, docs/DESIGN.md §8)', () => {
  const cwd = '/srv/desk';
  it('unset or blank → SQLite instance/app.db under the working directory', () => {
    expect(resolveDatabase(undefined, cwd)).toEqual({ dialect: 'sqlite', file: '/srv/desk/instance/app.db' });
    expect(resolveDatabase('   ', cwd)).toEqual({ dialect: 'sqlite', file: '/srv/desk/instance/app.db' });
  });
  it('postgres:// and postgresql:// → PostgreSQL, URL kept as given', () => {
    const url = 'postgresql://library_user:s3cret@localhost/library_production';
    expect(resolveDatabase(url, cwd)).toEqual({ dialect: 'postgresql', url });
    expect(resolveDatabase('postgres://u@db:5432/x', cwd)).toEqual({
      dialect: 'postgresql',
      url: 'postgres://u@db:5432/x',
    });
  });
  it('sqlite: URLs and plain paths → that file (relative to the working directory)', () => {
    expect(resolveDatabase('sqlite:///var/lib/swl/app.db', cwd)).toEqual({
      dialect: 'sqlite',
      file: '/var/lib/swl/app.db',
    });
    expect(resolveDatabase('sqlite://data/app.db', cwd)).toEqual({
      dialect: 'sqlite',
      file: '/srv/desk/data/app.db',
    });
    expect(resolveDatabase('sqlite:data/app.db', cwd)).toEqual({
      dialect: 'sqlite',
      file: '/srv/desk/data/app.db',
    });
    expect(resolveDatabase('file:///tmp/x.db', cwd)).toEqual({ dialect: 'sqlite', file: '/tmp/x.db' });
    expect(resolveDatabase('other/app.sqlite', cwd)).toEqual({
      dialect: 'sqlite',
      file: '/srv/desk/other/app.sqlite',
    });
    expect(resolveDatabase('/abs/app.db', cwd)).toEqual({ dialect: 'sqlite', file: '/abs/app.db' });
  });
  it('in-memory SQLite', () => {
    expect(resolveDatabase('sqlite::memory:', cwd)).toEqual({ dialect: 'sqlite', file: ':memory:' });
    expect(resolveDatabase(':memory:', cwd)).toEqual({ dialect: 'sqlite', file: ':memory:' });
  });
  it('another scheme is refused with VALIDATION_FAILED', async () => {
    await expectSwlError(() => resolveDatabase('mysql://root@localhost/x', cwd), 'VALIDATION_FAILED');
    await expectSwlError(() => resolveDatabase('sqlite:', cwd), 'VALIDATION_FAILED');
  });
});
