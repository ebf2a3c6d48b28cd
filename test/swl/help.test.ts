/**
 * Every `swl` command has readable help (issue 14), checked against the program's own command
 * tree, so a new command fails here until it has a description and its options are described.
 * In-process (`main` with captured streams): the executable itself is run by the other files.
 */
import { PassThrough } from 'node:stream';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import type { CliIo } from '../../src/cli/context.ts';
import { buildProgram, main } from '../../src/cli/main.ts';

function capture(): { io: CliIo; out: () => string } {
  let text = '';
  const sink = new PassThrough();
  sink.on('data', (chunk) => {
    text += chunk;
  });
  const stdin = new PassThrough();
  stdin.end();
  return { io: { stdout: sink, stderr: sink, stdin }, out: () => text };
}

/** Every command path of the program, e.g. `['db', 'upgrade']`, leaves and groups alike. */
function commandPaths(command: Command, prefix: string[] = []): string[][] {
  return command.commands
    .filter((c) => c.name() !== 'help')
    .flatMap((c) => [[...prefix, c.name()], ...commandPaths(c, [...prefix, c.name()])]);
}

const { io } = capture();
const program = buildProgram(io, new AbortController().signal);
const paths = commandPaths(program);

describe('swl help', () => {
  it('lists the commands the operations chapter needs', () => {
    const names = paths.map((p) => p.join(' '));
    for (const name of [
      'init',
      'db upgrade',
      'db downgrade',
      'db current',
      'db history',
      'db check',
      'db stamp',
      'admin create',
      'admin reset-password',
      'backup',
      'restore',
      'export',
      'import',
      'visits purge',
      'sweep',
      'notices',
      'stats',
      'report',
      'maintain',
      'doctor',
    ]) {
      expect(names).toContain(name);
    }
  });

  it.each(paths.map((p) => [p.join(' '), p] as const))(
    'swl %s --help: exit 0, usage, a description, every option described',
    async (_, path) => {
      const { io: captured, out } = capture();
      const code = await main(['node', 'swl', ...path, '--help'], captured, new AbortController().signal);
      expect(code).toBe(0);
      const text = out();
      expect(text).toContain(`Usage: swl ${path.join(' ')}`);
      let command: Command = program;
      for (const name of path) command = command.commands.find((c) => c.name() === name) as Command;
      expect(command.description().length, 'description').toBeGreaterThan(10);
      for (const option of command.options)
        expect(option.description.length, option.flags).toBeGreaterThan(5);
    },
  );
});
