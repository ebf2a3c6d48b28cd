import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MikroORM } from '@mikro-orm/core';
import { describe, expect, inject, it } from 'vitest';
import {
  assertSupportedNode,
  importDriverPackage,
  openSwlOrm,
  resolveDatabase,
  swlOrmConfig,
} from '../src/config.ts';
import { LoanService } from '../src/loans/loan.service.ts';
import { SwlSqliteDialect, type SwlSqliteDriverName } from '../src/sqlite.ts';
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
  it('sqlite+<driver>: names the SQLite library (SQLAlchemy dialect+driver form); a plain URL names none', () => {
    expect(resolveDatabase('sqlite+better-sqlite3:///var/lib/swl/app.db', cwd)).toEqual({
      dialect: 'sqlite',
      file: '/var/lib/swl/app.db',
      driver: '@mikro-orm/sqlite',
    });
    expect(resolveDatabase('sqlite+node-sqlite://data/app.db', cwd)).toEqual({
      dialect: 'sqlite',
      file: '/srv/desk/data/app.db',
      driver: 'node:sqlite',
    });
    expect(resolveDatabase('SQLITE+BETTER-SQLITE3::memory:', cwd)).toEqual({
      dialect: 'sqlite',
      file: ':memory:',
      driver: '@mikro-orm/sqlite',
    });
    expect(resolveDatabase('sqlite:data/app.db', cwd)).not.toHaveProperty('driver');
  });
  it('an unknown SQLite driver in the URL is VALIDATION_FAILED naming the known ones', async () => {
    const error = await expectSwlError(
      () => resolveDatabase('sqlite+sqlite3:///x.db', cwd),
      'VALIDATION_FAILED',
    );
    expect(error.details).toEqual({ driver: 'sqlite3', known: ['node-sqlite', 'better-sqlite3'] });
  });
  it('another scheme is refused with VALIDATION_FAILED', async () => {
    await expectSwlError(() => resolveDatabase('mysql://root@localhost/x', cwd), 'VALIDATION_FAILED');
    await expectSwlError(() => resolveDatabase('sqlite:', cwd), 'VALIDATION_FAILED');
  });
});

describe('swlOrmConfig picks the SQLite library (issue 13)', () => {
  it('node:sqlite by default; @mikro-orm/sqlite by option or by URL, the URL winning; the same dialect settings on each', async () => {
    const { SqliteDriver: Generic } = await import('@mikro-orm/sql');
    const { SqliteDriver: Standard } = await import('@mikro-orm/sqlite');
    const dir = mkdtempSync(join(tmpdir(), 'swl-config-'));
    try {
      const pick = async (databaseUrl: string, driver?: SwlSqliteDriverName) => {
        const options = await swlOrmConfig({ databaseUrl, cwd: dir, sqlite: driver ? { driver } : {} });
        expect(options.driverOptions).toBeInstanceOf(SwlSqliteDialect);
        return options.driver;
      };
      expect(await pick('a.db')).toBe(Generic);
      expect(await pick('a.db', '@mikro-orm/sqlite')).toBe(Standard);
      expect(await pick('sqlite+better-sqlite3:a.db')).toBe(Standard);
      expect(await pick('sqlite+node-sqlite:a.db', '@mikro-orm/sqlite')).toBe(Generic);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('a missing @mikro-orm/sqlite is CONFIGURATION with the install command', async () => {
    const missing = Object.assign(new Error("Cannot find package '@mikro-orm/sqlite'"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    const error = await expectSwlError(
      importDriverPackage(
        () => Promise.reject(missing),
        '@mikro-orm/sqlite',
        'the SQLite driver "@mikro-orm/sqlite"',
      ),
      'CONFIGURATION',
    );
    expect(error.message).toContain('@mikro-orm/sqlite is not installed');
    expect(error.details).toMatchObject({ fix: 'npm install --save-exact @mikro-orm/sqlite@7.2.1' });
  });
});

describe('start-up errors name the cause and the fix (issue 13)', () => {
  it('Node older than 22.17 is CONFIGURATION naming the version found and needed', async () => {
    const e = await expectSwlError(() => assertSupportedNode('20.20.2'), 'CONFIGURATION');
    expect(e.details).toMatchObject({ node: '20.20.2', required: '>=22.17.0' });
    expect(String(e.details.fix)).toMatch(/Node 22\.17/);
    await expectSwlError(() => assertSupportedNode('22.16.9'), 'CONFIGURATION');
    for (const ok of ['22.17.0', '22.18.1', '24.21.0', '25.0.0'])
      expect(() => assertSupportedNode(ok)).not.toThrow();
  });

  it('a missing @mikro-orm/postgresql is CONFIGURATION with the install command, not ERR_MODULE_NOT_FOUND', async () => {
    const missing = Object.assign(new Error("Cannot find package '@mikro-orm/postgresql'"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    const e = await expectSwlError(
      importDriverPackage(() => Promise.reject(missing)),
      'CONFIGURATION',
    );
    expect(e.details.fix).toBe('npm install --save-exact @mikro-orm/postgresql@7.2.1');
    const other = new Error('boom');
    await expect(importDriverPackage(() => Promise.reject(other))).rejects.toBe(other);
  });

  it('[postgresql] a wrong password and an unreachable server each get their own typed error', async () => {
    const good = new URL(inject('postgresUrl'));
    const wrongPassword = new URL(good);
    wrongPassword.password = 'not-the-password';
    const e = await expectSwlError(openSwlOrm({ databaseUrl: wrongPassword.toString() }), 'CONFIGURATION');
    expect(e.details).toMatchObject({ sqlState: '28P01' });
    expect(String(e.details.fix)).toMatch(/DATABASE_URL/);
    expect(JSON.stringify(e.toJSON())).not.toContain('not-the-password');

    const unreachable = new URL(good);
    unreachable.port = '1';
    await expectSwlError(openSwlOrm({ databaseUrl: unreachable.toString() }), 'UNAVAILABLE');
  });

  it('[postgresql] a command on an ORM with a wrong password is CONFIGURATION, not INTERNAL', async () => {
    const url = new URL(inject('postgresUrl'));
    url.password = 'not-the-password';
    const orm = await MikroORM.init(await swlOrmConfig({ databaseUrl: url.toString() }));
    try {
      const e = await expectSwlError(
        new LoanService(orm.em.fork()).approve({ id: 1, role: 'staff' }, { loanId: 1 }),
        'CONFIGURATION',
      );
      expect(e.details).toMatchObject({ sqlState: '28P01' });
    } finally {
      await orm.close(true);
    }
  });
});
