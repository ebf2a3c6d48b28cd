/**
 * The `swl` program: commander, the global options, the command modules, and the mapping of
 * what happened to an exit code (0 ok, 1 failed, 2 usage). Source: issue 14.
 *
 * @module
 * @internal
 */
import { Command, CommanderError } from 'commander';
import { CLI_COMMANDS } from './commands/index.ts';
import { ChecksFailed, CliContext, type CliIo, describeFailure, type GlobalOptions } from './context.ts';

/** Builds the `swl` program; `run` gives each action its {@link CliContext}. */
export function buildProgram(io: CliIo, signal: AbortSignal): Command {
  const program = new Command('swl')
    .description(
      'Operate an SWL lending desk database: first run, migrations, admin, backup and restore, ' +
        'export/import between SQLite and PostgreSQL, visitor-log retention, statistics, reports, maintenance, ' +
        'and the consistency doctor. The database is DATABASE_URL (a PostgreSQL URL or a SQLite ' +
        'file; instance/app.db when unset), or --database-url.',
    )
    .option('--database-url <url>', 'the database (overrides DATABASE_URL)')
    .option('--json', 'print one JSON document on stdout instead of text')
    .option('-y, --yes', 'answer yes to every confirmation (destructive commands)')
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .exitOverride();
  const context = (command: Command) => new CliContext(command.optsWithGlobals<GlobalOptions>(), io, signal);
  for (const register of CLI_COMMANDS) register(program, context);
  // Subcommands report usage errors the same way as the program.
  const override = (command: Command) => {
    for (const sub of command.commands) {
      sub.exitOverride().configureOutput({
        writeOut: (text) => io.stdout.write(text),
        writeErr: (text) => io.stderr.write(text),
      });
      sub.showHelpAfterError('(add --help for usage)');
      override(sub);
    }
  };
  override(program);
  return program;
}

/**
 * Runs `swl` with `argv` (as `process.argv`: node, script, arguments…) and returns the exit code.
 * Errors print one line on stderr (`swl: CODE: message`), or with `--json` a JSON document
 * `{ ok: false, error }` on stdout; no stack unless `SWL_DEBUG=1`.
 */
export async function main(argv: readonly string[], io: CliIo, signal: AbortSignal): Promise<number> {
  const program = buildProgram(io, signal);
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end as "errors" under exitOverride, with exit code 0.
      return error.exitCode === 0 ? 0 : 2;
    }
    const failure = describeFailure(error);
    if (process.env.SWL_DEBUG === '1' && error instanceof Error) io.stderr.write(`${error.stack}\n`);
    // A failed check has printed its report (the JSON document, with --json) already.
    if (error instanceof ChecksFailed) {
      if (!argv.includes('--json')) io.stderr.write(`${failure.line}\n`);
    } else if (argv.includes('--json')) io.stdout.write(`${JSON.stringify(failure.json, null, 2)}\n`);
    else io.stderr.write(`${failure.line}\n`);
    return failure.exitCode;
  }
}
