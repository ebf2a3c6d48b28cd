/**
 * The README's code runs (issue 13: "Every README code block is extracted and run by a test").
 *
 * Every `ts` block of README.md is written to a module of its own under `.readme-snippets/`
 * (git-ignored) and type-checked as a host would compile it: `strict`, NodeNext, with
 * `swl-library` resolved to this repository's source. What a block uses without declaring — the
 * host's `orm`, `actor`, `req`… — comes from one ambient file of host globals below, so a block
 * that misuses the API still fails. A block that declares everything it uses (no host global) has
 * an effect of its own and is executed too: on every database when it takes its database from
 * `DATABASE_URL`, and on its own SQLite file when it names one, in a fresh working directory each.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { MikroORM } from '@mikro-orm/core';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { swlMigrations } from '../migrations/index.ts';
import { createTestDatabase, describeEachDialect, type ScratchDatabase } from './support/fixtures.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, '.readme-snippets');

/** One fenced `ts` block of the README: where it starts, and its code. */
interface Block {
  line: number;
  code: string;
}

function readmeBlocks(): Block[] {
  const text = readFileSync(join(root, 'README.md'), 'utf8');
  const blocks: Block[] = [];
  for (const match of text.matchAll(/^```(ts|typescript)\n([\s\S]*?)^```/gm)) {
    blocks.push({ line: text.slice(0, match.index).split('\n').length, code: match[2] as string });
  }
  return blocks;
}

/**
 * What a host has around a README block: its ORM, its event bus, the signed-in users, its own
 * functions. Ambient globals, so a block's own declaration of a name shadows them.
 */
const HOST_GLOBALS = `import type { MikroORM } from '@mikro-orm/core';
import type { Express } from 'express';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Actor, Role, SwlEventBus, SwlDomainEvent } from 'swl-library';
declare global {
  const orm: MikroORM;
  const events: SwlEventBus;
  const req: { params: { id: string } };
  const session: { userId: number; role: Role };
  const actor: Actor;
  const staffActor: Actor;
  const staff: Actor;
  const admin: Actor;
  const student: Actor;
  const fastify: FastifyInstance;
  const app: Express;
  const err: unknown;
  function notifyBorrower(loanId: number): void;
  function loadSavedCursor(): Promise<string | undefined>;
  function saveCursor(cursor: string): Promise<void>;
  function deliver(event: SwlDomainEvent): Promise<void>;
  function sleep(ms: number): Promise<void>;
  function sendMail(to: string, subject: string, text: string): Promise<void>;
  function yourSessionActor(req: FastifyRequest): Promise<Actor>;
}
export {};
`;

const blocks = readmeBlocks();
const fileOf = (block: Block) => join(out, `readme-line-${block.line}.ts`);
/** Blocks that use no host global, by line: they are executed. */
const selfContained = new Set<number>();
let diagnostics: string[] = [];

beforeAll(() => {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'host-globals.d.ts'), HOST_GLOBALS);
  for (const block of blocks) writeFileSync(fileOf(block), `${block.code}\nexport {};\n`);

  const config = ts.getParsedCommandLineOfConfigFile(
    join(root, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  if (!config) throw new Error('tsconfig.json could not be read');
  // A host's usual strict settings; index access unchecked (not every host turns that on).
  const options = { ...config.options, noUncheckedIndexedAccess: false, noEmit: true };
  const program = ts.createProgram([join(out, 'host-globals.d.ts'), ...blocks.map(fileOf)], options);
  const checker = program.getTypeChecker();
  const globals = program.getSourceFile(join(out, 'host-globals.d.ts'));
  diagnostics = ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file?.fileName.startsWith(out))
    .map((d) => {
      const where = d.file ? d.file.getLineAndCharacterOfPosition(d.start ?? 0) : undefined;
      const name = d.file?.fileName.slice(out.length + 1) ?? '';
      return `${name}:${(where?.line ?? 0) + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
  for (const block of blocks) {
    const source = program.getSourceFile(fileOf(block));
    if (!source) continue;
    let usesHost = false;
    const visit = (node: ts.Node) => {
      if (ts.isIdentifier(node)) {
        const declaration = checker.getSymbolAtLocation(node)?.declarations?.[0];
        if (declaration && declaration.getSourceFile() === globals) usesHost = true;
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
    if (!usesHost) selfContained.add(block.line);
  }
}, 120_000);

afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('README code blocks', () => {
  it('has ts blocks to check', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(8);
  });

  it('every ts block type-checks as a strict host module (no diagnostics)', () => {
    expect(diagnostics).toEqual([]);
  });

  it('the blocks that open a database are self-contained, so they run below', () => {
    const opens = blocks.filter((b) => /openSwlOrm\(|MikroORM\.init\(/.test(b.code)).map((b) => b.line);
    expect(opens.length).toBeGreaterThanOrEqual(2);
    expect(opens.filter((line) => !selfContained.has(line))).toEqual([]);
  });
});

/** Runs `block` as a module with `cwd` as working directory; returns its exports. */
async function execute(block: Block, cwd: string): Promise<Record<string, unknown>> {
  const file = join(out, `run-${block.line}-${Math.random().toString(36).slice(2)}.ts`);
  const declared = ['orm', 'report'].filter((name) => new RegExp(`\\bconst ${name}\\b`).test(block.code));
  writeFileSync(file, `${block.code}\nexport { ${declared.join(', ')} };\n`);
  const before = process.cwd();
  process.chdir(cwd);
  try {
    return await import(pathToFileURL(file).href);
  } finally {
    process.chdir(before);
  }
}

describeEachDialect('README blocks that take DATABASE_URL run', (dialect) => {
  let db: ScratchDatabase;
  let cwd: string;
  const saved = { url: process.env.DATABASE_URL, password: process.env.SWL_ADMIN_PASSWORD };
  beforeAll(async () => {
    db = await createTestDatabase(dialect);
    cwd = mkdtempSync(join(tmpdir(), 'swl-readme-'));
  });
  afterAll(async () => {
    process.env.DATABASE_URL = saved.url;
    if (saved.password === undefined) delete process.env.SWL_ADMIN_PASSWORD;
    else process.env.SWL_ADMIN_PASSWORD = saved.password;
    await db?.drop();
    rmSync(cwd, { recursive: true, force: true });
  });

  it('"First run": openSwlOrm + initializeDatabase migrate and seed, and return the generated admin password once', async () => {
    const block = blocks.find((b) => b.code.includes('openSwlOrm()'));
    expect(block).toBeDefined();
    process.env.DATABASE_URL = db.location;
    delete process.env.SWL_ADMIN_PASSWORD;
    const { orm, report } = (await execute(block as Block, cwd)) as {
      orm: MikroORM;
      report: { migrationsApplied: string[]; admin: { created: boolean; generatedPassword?: string } };
    };
    try {
      expect(report.migrationsApplied).toEqual(swlMigrations(dialect).map((m) => m.name));
      expect(report.admin.created).toBe(true);
      expect(report.admin.generatedPassword).toMatch(/^.{24}$/);
    } finally {
      await orm.close(true);
    }
  });
});

describe('[sqlite] README block that builds its own configuration runs in a fresh project', () => {
  it('creates instance/app.db (folder included) and applies every migration', async () => {
    const block = blocks.find((b) => b.code.includes('MikroORM.init({'));
    expect(block).toBeDefined();
    const cwd = mkdtempSync(join(tmpdir(), 'swl-readme-own-'));
    try {
      const { orm } = (await execute(block as Block, cwd)) as { orm: MikroORM };
      try {
        expect(existsSync(join(cwd, 'instance/app.db'))).toBe(true);
        const executed = (await orm.migrator.getExecuted()).map((m) => m.name);
        expect(executed).toEqual(swlMigrations('sqlite').map((m) => m.name));
      } finally {
        await orm.close(true);
      }
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
