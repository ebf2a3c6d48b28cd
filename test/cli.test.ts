/**
 * The MikroORM CLI on a host configuration that includes us (issue 13): `swlOrmConfig` sets the
 * default seeder and the host's migrations folder, and discovers the host's migration files there,
 * after ours (MikroORM's `migrationsList` — how we ship ours — switches its own folder discovery
 * off).
 *
 * The CLI suites run the real `@mikro-orm/cli` (`cli.js`, on this Node) as a child process in a
 * temp host project: `package.json` (ESM, `@mikro-orm/cli` in its devDependencies, as the CLI
 * demands), `node_modules/@mikro-orm` linked to ours, `node_modules/swl-library` re-exporting this
 * repository's source, and `mikro-orm.config.js` = `export default swlOrmConfig()`. The database
 * is the suite's scratch database, passed as `DATABASE_URL`.
 */
import { execFile } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { MikroORM } from '@mikro-orm/core';
import { Seeder } from '@mikro-orm/seeder';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverHostMigrations, swlMigrations } from '../migrations/index.ts';
import { SWL_DEFAULT_SEEDER, swlSeeders } from '../seeders/index.ts';
import { swlOrmConfig } from '../src/config.ts';
import { CatalogEntry, LoanPolicy, User } from '../src/entities/index.ts';
import {
  createTestDatabase,
  describeEachDialect,
  expectSwlError,
  type ScratchDatabase,
} from './support/fixtures.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));

/** `cli.js` of `@mikro-orm/cli`, or `undefined` when the package is not installed. */
const CLI_JS: string | undefined = (() => {
  try {
    return join(dirname(fileURLToPath(import.meta.resolve('@mikro-orm/cli'))), 'cli.js');
  } catch {
    return undefined;
  }
})();

/**
 * A host project in a new temp folder (see the module comment); `config` is its
 * `mikro-orm.config.js`. Returns the folder.
 */
function makeHostProject(
  config = "import { swlOrmConfig } from 'swl-library';\nexport default swlOrmConfig();\n",
) {
  const dir = mkdtempSync(join(tmpdir(), 'swl-cli-host-'));
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({
      name: 'host',
      private: true,
      type: 'module',
      devDependencies: { '@mikro-orm/cli': '7.2.1' },
    }),
  );
  mkdirSync(join(dir, 'node_modules', 'swl-library'), { recursive: true });
  symlinkSync(join(REPO, 'node_modules', '@mikro-orm'), join(dir, 'node_modules', '@mikro-orm'), 'dir');
  writeFileSync(
    join(dir, 'node_modules', 'swl-library', 'package.json'),
    JSON.stringify({ name: 'swl-library', type: 'module', exports: { '.': './index.js' } }),
  );
  writeFileSync(
    join(dir, 'node_modules', 'swl-library', 'index.js'),
    `export * from ${JSON.stringify(pathToFileURL(join(REPO, 'src', 'index.ts')).href)};\n`,
  );
  writeFileSync(join(dir, 'mikro-orm.config.js'), config);
  return dir;
}

/** Runs `mikro-orm <args>` in `cwd` on `databaseUrl`; fails with the CLI's output if it exits non-zero. */
function mikroOrm(cwd: string, databaseUrl: string, ...args: string[]): Promise<string> {
  if (!CLI_JS) {
    throw new Error(
      '@mikro-orm/cli is not installed: npm install --save-dev --save-exact @mikro-orm/cli@7.2.1',
    );
  }
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    // the CLI must not think it runs under vitest (MikroORM's TypeScript detection reads VITEST)
    if (!key.startsWith('VITEST') && key !== 'NODE_OPTIONS') env[key] = value;
  }
  Object.assign(env, {
    DATABASE_URL: databaseUrl,
    SWL_ADMIN_PASSWORD: 'Cli-Admin-Password-1',
    NO_COLOR: '1',
  });
  return new Promise((resolvePromise, reject) => {
    execFile(process.execPath, [CLI_JS, ...args], { cwd, env, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error)
        reject(new Error(`mikro-orm ${args.join(' ')} failed: ${error.message}\n${stdout}\n${stderr}`));
      else resolvePromise(stdout);
    });
  });
}

/** The names in the migration table, in the order they ran. */
async function executedNames(orm: MikroORM): Promise<string[]> {
  return (await orm.migrator.getExecuted()).map((m) => m.name);
}

/** A migration file of the host that creates (and drops) `table`, in both dialects' SQL. */
function hostMigrationSource(className: string, table: string): string {
  return [
    "import { Migration } from '@mikro-orm/migrations';",
    '',
    `export class ${className} extends Migration {`,
    `  override up(): void {`,
    `    this.addSql('create table ${table} (id integer primary key, note varchar(100) not null)');`,
    '  }',
    `  override down(): void {`,
    `    this.addSql('drop table ${table}');`,
    '  }',
    '}',
    '',
  ].join('\n');
}

describe('swlOrmConfig is ready for the MikroORM CLI (issue 13)', () => {
  let host: string;
  beforeAll(() => {
    host = makeHostProject();
  });
  afterAll(() => rmSync(host, { recursive: true, force: true }));

  it('default seeder SwlDatabaseSeeder (listed in seedersList); migrations folder `migrations` under cwd for path and pathTs', async () => {
    const options = await swlOrmConfig({ databaseUrl: ':memory:', cwd: host });
    expect(SWL_DEFAULT_SEEDER).toBe('SwlDatabaseSeeder');
    expect(options.seeder?.defaultSeeder).toBe(SWL_DEFAULT_SEEDER);
    const listed = (options.seeder?.seedersList ?? []).map((s) => ('name' in s ? s.name : s));
    expect(listed).toContain(SWL_DEFAULT_SEEDER);
    expect(options.migrations).toMatchObject({
      path: join(host, 'migrations'),
      pathTs: join(host, 'migrations'),
    });
    expect(options.migrations?.migrationsList?.map((m) => ('name' in m ? m.name : m))).toEqual(
      swlMigrations('sqlite').map((m) => m.name),
    );
  });

  it('the folders, the default seeder and host seeders are options', async () => {
    class HostSeeder extends Seeder {
      async run(): Promise<void> {}
    }
    const options = await swlOrmConfig({
      databaseUrl: ':memory:',
      cwd: host,
      migrations: { path: 'dist/db', pathTs: 'src/db' },
      seeder: { defaultSeeder: 'HostSeeder', seedersList: [{ name: 'HostSeeder', class: HostSeeder }] },
    });
    expect(options.migrations).toMatchObject({ path: join(host, 'dist/db'), pathTs: join(host, 'src/db') });
    expect(options.seeder?.defaultSeeder).toBe('HostSeeder');
    expect(options.seeder?.seedersList?.map((s) => ('name' in s ? s.name : s))).toEqual([
      ...swlSeeders().map((s) => s.name),
      'HostSeeder',
    ]);
  });

  it("this repository's own migrations folder (only index.ts at its top) adds nothing", async () => {
    const options = await swlOrmConfig({ databaseUrl: ':memory:', cwd: REPO });
    expect(options.migrations?.migrationsList).toHaveLength(swlMigrations('sqlite').length);
  });
});

describe('discoverHostMigrations: the files of the host folder (issue 13)', () => {
  let host: string;
  let folder: string;
  beforeAll(() => {
    host = makeHostProject();
    folder = join(host, 'migrations');
    mkdirSync(folder);
  });
  afterAll(() => rmSync(host, { recursive: true, force: true }));
  const write = (file: string, text: string) => writeFileSync(join(folder, file), text);
  const clear = () => {
    for (const f of readdirSync(folder)) rmSync(join(folder, f));
  };

  it('a folder that does not exist holds none', async () => {
    expect(await discoverHostMigrations(join(host, 'nothing-here'))).toEqual([]);
  });

  it('ordered by name, recorded under the file name without extension; index.*, *.d.ts and other files skipped; X.ts or X.js by preferTs', async () => {
    clear();
    write('Migration20260301000000_b.ts', hostMigrationSource('Migration20260301000000_b', 'host_b'));
    write('Migration20250101000000_a.ts', hostMigrationSource('Migration20250101000000_a', 'host_a'));
    write(
      'Migration20250101000000_a.js',
      "import { Migration } from '@mikro-orm/migrations';\nexport class CompiledA extends Migration { up() {} }\n",
    );
    write('index.ts', 'export const all = [];\n');
    write('Migration20260301000000_b.d.ts', 'export declare class X {}\n');
    write('README.md', '# host migrations\n');
    const ts = await discoverHostMigrations(folder, { preferTs: true });
    expect(ts.map((m) => m.name)).toEqual(['Migration20250101000000_a', 'Migration20260301000000_b']);
    expect(ts.map((m) => m.class.name)).toEqual(['Migration20250101000000_a', 'Migration20260301000000_b']);
    const js = await discoverHostMigrations(folder, { preferTs: false });
    expect(js.map((m) => m.name)).toEqual(['Migration20250101000000_a', 'Migration20260301000000_b']);
    expect(js[0]?.class.name).toBe('CompiledA');
  });

  it('a file that is not one migration class, or cannot be imported, is CONFIGURATION naming it (never skipped)', async () => {
    clear();
    write('Migration20250101000000_helper.ts', 'export const helper = 1;\n');
    let e = await expectSwlError(discoverHostMigrations(folder), 'CONFIGURATION');
    expect(e.details.file).toBe(join(folder, 'Migration20250101000000_helper.ts'));
    expect(e.message).toContain('no migration class');
    clear();
    write(
      'Migration20250101000000_broken.ts',
      "import { nothing } from './not-there.ts';\nexport { nothing };\n",
    );
    e = await expectSwlError(discoverHostMigrations(folder), 'CONFIGURATION');
    expect(e.details.file).toBe(join(folder, 'Migration20250101000000_broken.ts'));
    // swlOrmConfig passes the error on
    await expectSwlError(swlOrmConfig({ databaseUrl: ':memory:', cwd: host }), 'CONFIGURATION');
    // …unless discovery is off
    const off = await swlOrmConfig({ databaseUrl: ':memory:', cwd: host, migrations: { discover: false } });
    expect(off.migrations?.migrationsList).toHaveLength(swlMigrations('sqlite').length);
  });

  it("a host file named like one of the package's migrations is CONFIGURATION", async () => {
    clear();
    const ours = swlMigrations('sqlite')[0]!.name;
    write(`${ours}.ts`, hostMigrationSource('Clash', 'host_clash'));
    const e = await expectSwlError(swlOrmConfig({ databaseUrl: ':memory:', cwd: host }), 'CONFIGURATION');
    expect(e.details.migration).toBe(ours);
    clear();
  });
});

describeEachDialect('host migrations run after the package’s (swlOrmConfig, issue 13)', (dialect) => {
  let db: ScratchDatabase;
  let host: string;
  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    host = makeHostProject();
    mkdirSync(join(host, 'migrations'));
    // named to sort before ours: the package's still run first
    writeFileSync(
      join(host, 'migrations', 'Migration20000101000000_early.ts'),
      hostMigrationSource('Migration20000101000000_early', 'host_early'),
    );
    writeFileSync(
      join(host, 'migrations', 'Migration20991231000000_late.ts'),
      hostMigrationSource('Migration20991231000000_late', 'host_late'),
    );
  });
  afterAll(async () => {
    await db?.drop();
    rmSync(host, { recursive: true, force: true });
  });

  it('pending lists them after ours; up applies them after all of ours, by name; down reverts the last first', async () => {
    const options = await swlOrmConfig({ databaseUrl: db.location, cwd: host });
    const orm = await MikroORM.init(options);
    try {
      const ours = swlMigrations(dialect).map((m) => m.name);
      const hosts = ['Migration20000101000000_early', 'Migration20991231000000_late'];
      expect((await orm.migrator.getPending()).map((m) => m.name)).toEqual([...ours, ...hosts]);
      await orm.migrator.up();
      expect(await executedNames(orm)).toEqual([...ours, ...hosts]);
      const em = orm.em.fork();
      for (const table of ['host_early', 'host_late'])
        expect(await em.getConnection().execute(`select count(*) as n from ${table}`)).toHaveLength(1);
      expect(await orm.migrator.getPending()).toEqual([]);
      const [reverted] = await orm.migrator.down();
      expect(reverted?.name).toBe('Migration20991231000000_late');
      await orm.migrator.up();
      expect(await executedNames(orm)).toEqual([...ours, ...hosts]);
    } finally {
      await orm.close(true);
    }
  });
});

describeEachDialect('the MikroORM CLI on a host config of swlOrmConfig() (issue 13)', (dialect) => {
  let db: ScratchDatabase;
  let host: string;
  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    host = makeHostProject();
  });
  afterAll(async () => {
    await db?.drop();
    rmSync(host, { recursive: true, force: true });
  });
  const open = async () => MikroORM.init(await swlOrmConfig({ databaseUrl: db.location, cwd: host }));

  it('migration:up applies our migrations; seeder:run without --class runs SwlDatabaseSeeder', async () => {
    expect(await mikroOrm(host, db.location, 'migration:up')).toContain('Successfully migrated up');
    expect(await mikroOrm(host, db.location, 'seeder:run')).toContain(
      `Seeder ${SWL_DEFAULT_SEEDER} successfully executed`,
    );
    const orm = await open();
    try {
      expect(await executedNames(orm)).toEqual(swlMigrations(dialect).map((m) => m.name));
      const em = orm.em.fork();
      expect(await em.count(User, { documentId: '1000000000', role: 'admin' })).toBe(1);
      expect(await em.count(LoanPolicy)).toBeGreaterThan(0);
      expect(await em.count(CatalogEntry)).toBe(6);
    } finally {
      await orm.close(true);
    }
  });

  it('migration:create --blank writes into the host folder; pending shows it; up applies it after ours; list shows it', async () => {
    const created = await mikroOrm(host, db.location, 'migration:create', '--blank', '--name', 'host_note');
    const files = readdirSync(join(host, 'migrations'));
    expect(files).toHaveLength(1);
    const file = files[0] as string;
    expect(created).toContain(`${file} successfully created`);
    const name = file.replace(/\.ts$/, '');
    expect(name).toMatch(/^Migration\d{14}_host_note$/);
    // the host fills in the blank migration
    const path = join(host, 'migrations', file);
    const blank = readFileSync(path, 'utf8');
    writeFileSync(
      path,
      blank
        .replace(
          'this.addSql(`select 1`);',
          "this.addSql('create table host_note (id integer primary key, text varchar(100) not null)');",
        )
        .replace('this.addSql(`select 1`);', "this.addSql('drop table host_note');"),
    );

    expect(await mikroOrm(host, db.location, 'migration:pending')).toMatch(new RegExp(`│ ${name} +│`));
    expect(await mikroOrm(host, db.location, 'migration:up')).toContain('Successfully migrated up');
    const list = await mikroOrm(host, db.location, 'migration:list');
    const listed = [...list.matchAll(/│ (\S+) +│ \S+ +│/g)].map((m) => m[1]).filter((n) => n !== 'Name');
    const ours = swlMigrations(dialect).map((m) => m.name);
    expect(listed).toEqual([...ours, name]);

    const orm = await open();
    try {
      expect(await executedNames(orm)).toEqual([...ours, name]);
      expect(await orm.migrator.getPending()).toEqual([]);
      const em = orm.em.fork();
      await em.getConnection().execute(`insert into host_note (id, text) values (1, 'hola')`);
      expect(await em.getConnection().execute('select text from host_note')).toEqual([{ text: 'hola' }]);
    } finally {
      await orm.close(true);
    }
  });
});
