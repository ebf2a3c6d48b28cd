/**
 * What every `swl` command shares: the database (chosen by `--database-url` or `DATABASE_URL`,
 * exactly as the library chooses it), output for people or for scripts (`--json`), confirmation of
 * destructive steps (`--yes`), passwords read from a prompt or stdin (never from argv), a progress
 * bar on anything that walks many rows, and the one-line error with its exit code.
 *
 * Exit codes: 0 ok, 1 failed (a typed error, or a check that found problems), 2 usage (unknown
 * command or option, a missing argument, a destructive step without `--yes` and no terminal).
 *
 * Source: issue 14; docs/legacy/000_266b31aaf8610e4d.txt (the operations chapter).
 *
 * @module
 * @internal
 */
import type { MikroORM } from '@mikro-orm/core';
import { SingleBar } from 'cli-progress';
import { openSwlOrm, type SwlOrmConfigOptions } from '../config.ts';
import { isSwlError } from '../errors.ts';

/** The options every command takes (commander's global options). */
export interface GlobalOptions {
  /** Print one JSON document on stdout instead of text. */
  json?: boolean;
  /** Answer yes to every confirmation. */
  yes?: boolean;
  /** Overrides `DATABASE_URL`. */
  databaseUrl?: string;
}

/** A usage error: exit code 2, like an unknown option. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * A check that ran and found problems (e.g. `swl doctor`): exit code 1, its report already
 * printed, no error line.
 */
export class ChecksFailed extends Error {
  override readonly name = 'ChecksFailed';
}

/** Ctrl-C stopped a command at a safe point; its transaction rolled back. Exit code 1. */
export class Interrupted extends Error {
  override readonly name = 'Interrupted';
  constructor() {
    super('interrupted (Ctrl-C); the running step was rolled back');
  }
}

/** Streams the CLI writes to; tests of the command functions may pass their own. */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
}

/** The context a command's action gets. */
export class CliContext {
  readonly options: GlobalOptions;
  readonly io: CliIo;
  /** Aborted by the first Ctrl-C (SIGINT): long commands stop at the next safe point. */
  readonly signal: AbortSignal;

  constructor(options: GlobalOptions, io: CliIo, signal: AbortSignal) {
    this.options = options;
    this.io = io;
    this.signal = signal;
  }

  /** `swlOrmConfig` options for this invocation: the database URL, or `DATABASE_URL`. */
  ormOptions(extra: SwlOrmConfigOptions = {}): SwlOrmConfigOptions {
    return { ...extra, ...(this.options.databaseUrl ? { databaseUrl: this.options.databaseUrl } : {}) };
  }

  /** Opens the database as the library does (`openSwlOrm`), runs `body`, closes it. */
  async withOrm<T>(body: (orm: MikroORM) => Promise<T>, extra: SwlOrmConfigOptions = {}): Promise<T> {
    const orm = await openSwlOrm(this.ormOptions(extra));
    try {
      return await body(orm);
    } finally {
      await orm.close(true);
    }
  }

  /**
   * Prints a command's result: with `--json`, `result` as one JSON document on stdout; otherwise
   * the lines `text` makes of it.
   */
  print<T>(result: T, text: (result: T) => string | string[]): void {
    if (this.options.json) {
      this.io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      return;
    }
    const lines = text(result);
    this.io.stdout.write(`${Array.isArray(lines) ? lines.join('\n') : lines}\n`);
  }

  /** A note for people on stderr (never in `--json` output on stdout). */
  note(line: string): void {
    this.io.stderr.write(`${line}\n`);
  }

  /**
   * Asks before a destructive step. `--yes` answers yes; at a terminal the user is asked; with
   * neither, a {@link UsageError} (exit 2) says to pass `--yes`.
   * @returns false when the user answered no (the command then stops, changing nothing).
   */
  async confirm(question: string): Promise<boolean> {
    if (this.options.yes) return true;
    if (!this.io.stdin.isTTY || !this.io.stderr.isTTY) {
      throw new UsageError(`${question} — refusing without a terminal to ask; pass --yes`);
    }
    const { default: confirm } = await import('@inquirer/confirm');
    return await confirm({ message: question, default: false }, { output: this.io.stderr as never });
  }

  /**
   * Reads a password: at a terminal with a hidden prompt, otherwise the whole of stdin (one line;
   * the trailing newline dropped). Never from argv, so it is not in the shell history or `ps`.
   */
  async readPassword(message: string): Promise<string> {
    if (this.io.stdin.isTTY) {
      const { default: password } = await import('@inquirer/password');
      return await password({ message, mask: '*' }, { output: this.io.stderr as never });
    }
    let text = '';
    for await (const chunk of this.io.stdin) text += String(chunk);
    const value = text.replace(/\r?\n$/, '');
    if (value === '') throw new UsageError(`${message}: no password on stdin`);
    return value;
  }

  /**
   * A progress bar on stderr for `total` steps (hidden with `--json` or when stderr is not a
   * terminal). Call `tick(n)` as rows go by and `stop()` at the end.
   */
  progress(total: number, label: string): { tick(n?: number): void; stop(): void } {
    if (this.options.json || !this.io.stderr.isTTY || total <= 0) {
      return { tick: () => {}, stop: () => {} };
    }
    const bar = new SingleBar({
      format: `${label} [{bar}] {percentage}% | {value}/{total} | {eta_formatted}`,
      stream: this.io.stderr as NodeJS.WriteStream,
      hideCursor: true,
    });
    bar.start(total, 0);
    return { tick: (n = 1) => bar.increment(n), stop: () => bar.stop() };
  }

  /**
   * Throws {@link Interrupted} once Ctrl-C was pressed. Call it inside a transaction between
   * batches: the throw rolls the transaction back, so nothing is half-done.
   */
  throwIfInterrupted(): void {
    if (this.signal.aborted) throw new Interrupted();
  }
}

/**
 * The one line an error prints, and the exit code: `swl: CODE: message (fix: …)`; usage errors
 * exit 2, everything else 1. Never a stack (set `SWL_DEBUG=1` to see one).
 */
export function describeFailure(error: unknown): { line: string; exitCode: 1 | 2; json: unknown } {
  if (error instanceof UsageError) {
    return {
      line: `swl: ${error.message}`,
      exitCode: 2,
      json: { ok: false, error: { code: 'USAGE', message: error.message } },
    };
  }
  if (error instanceof Interrupted || error instanceof ChecksFailed) {
    const code = error instanceof Interrupted ? 'INTERRUPTED' : 'CHECKS_FAILED';
    return {
      line: `swl: ${error.message}`,
      exitCode: 1,
      json: { ok: false, error: { code, message: error.message } },
    };
  }
  if (isSwlError(error)) {
    const fix = typeof error.details.fix === 'string' ? ` (fix: ${error.details.fix})` : '';
    return {
      line: `swl: ${error.code}: ${error.message}${fix}`,
      exitCode: 1,
      json: { ok: false, error: error.toJSON() },
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  return {
    line: `swl: INTERNAL: ${message}`,
    exitCode: 1,
    json: { ok: false, error: { code: 'INTERNAL', message } },
  };
}
