/**
 * `swl notices run`: the notice worker for a cron job (issue 17). Claims the notices due now
 * (`NoticeService.claim`), one digest per borrower, and hands each to the host's sender: the
 * command given with `--exec`, run through the shell with the digest as JSON on stdin (and
 * `SWL_DIGEST_ID`, `SWL_BORROWER_EMAIL`, `SWL_TEMPLATE_KEYS` in its environment); exit 0 marks the
 * digest sent, anything else failed (retried later with backoff; its stderr's last line is kept).
 * `--dry-run` prints what would go out (`NoticeService.due`, rendered by `renderDigestText`, or
 * the digests with `--json`) and writes nothing. `--now <instant>` runs at another instant (e.g.
 * a dry run of Monday morning). Acts as the default admin (`src/cli/acting-admin.ts`).
 *
 * @module
 * @internal
 */
import { spawn } from 'node:child_process';
import { InvalidArgumentError } from 'commander';
import { type Clock, systemClock } from '../../clock.ts';
import { NoticeService } from '../../notices/notice.service.ts';
import { renderDigestText } from '../../notices/render.ts';
import type { NoticeDigest } from '../../notices/views.ts';
import { InstantSchema, parseInput } from '../../validation.ts';
import { actingAdmin } from '../acting-admin.ts';
import { ChecksFailed, UsageError } from '../context.ts';
import type { RegisterCommands } from './index.ts';

/** What `swl notices run` did (or, with `--dry-run`, would do). */
export interface NoticesRunReport {
  asOf: string;
  dryRun: boolean;
  /** Digests handed to the sender (or that would be). */
  digests: number;
  notices: number;
  sent: number;
  /** Digests the sender failed; their notices wait for a retry or, at their last attempt, were given up. */
  failed: number;
  /** Notices given up in this run (`fallido`): see `listNotices({ statuses: ['fallido'] })`. */
  givenUp: number;
  /** With `--dry-run`: the digests. */
  preview?: NoticeDigest[];
}

/** Runs `command` through the shell with `input` on stdin; resolves its exit code and stderr's last line. */
function runSender(
  command: string,
  input: string,
  env: Record<string, string>,
): Promise<{ code: number; error: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, {
      shell: true,
      stdio: ['pipe', 'inherit', 'pipe'],
      env: { ...process.env, ...env },
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      if (stderr.length > 8192) stderr = stderr.slice(-8192);
    });
    child.stdin.on('error', () => {}); // a sender that does not read stdin
    child.stdin.end(input);
    child.on('error', (error) => resolve({ code: 127, error: error.message }));
    child.on('close', (code, signal) => {
      const last = stderr.trim().split('\n').pop() ?? '';
      resolve({ code: code ?? 128, error: last || `the sender exited with ${code ?? signal}` });
    });
  });
}

const positive = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new InvalidArgumentError('must be an integer 1..1000');
  return n;
};

export const registerNotices: RegisterCommands = (program, context) => {
  const notices = program
    .command('notices')
    .description('due-soon, overdue, booking and hold notices (issue 17)');
  notices
    .command('run')
    .description(
      'claim the notices due now, one digest per borrower, and send each with --exec <command> (digest JSON on ' +
        'stdin; exit 0 = sent, else retried later); --dry-run prints what would go out; for a cron job',
    )
    .option('--exec <command>', 'the sender: a shell command run once per digest')
    .option('--dry-run', 'print the digests that are due, write nothing')
    .option('--now <instant>', 'run as of this ISO 8601 instant (default: now)')
    .option(
      '--limit <n>',
      'digests per claim, 1..1000 (default 10: a claim is leased for 15 minutes while its digests go out)',
      positive,
    )
    .action(async (options: { exec?: string; dryRun?: boolean; now?: string; limit?: number }, command) => {
      const ctx = context(command);
      if (!options.dryRun && !options.exec) {
        throw new UsageError('say how to send: --exec <command>, or --dry-run to see what would go out');
      }
      const asOf = options.now === undefined ? undefined : parseInput(InstantSchema, options.now);
      const clock: Clock = asOf ? { now: () => new Date(asOf) } : systemClock;
      // Small batches: each claim is leased for 15 minutes while its digests are sent one by one.
      const limit = options.limit ?? 10;
      const report = await ctx.withOrm(async (orm): Promise<NoticesRunReport> => {
        const admin = await actingAdmin(orm.em.fork(), 'send notices');
        const service = new NoticeService(orm.em.fork(), { clock });
        const at = clock.now();
        if (options.dryRun) {
          const preview = await service.due(admin, { asOf: at, limit: 1000 });
          const count = preview.reduce((n, d) => n + d.notices.length, 0);
          return {
            asOf: at.toISOString(),
            dryRun: true,
            digests: preview.length,
            notices: count,
            sent: 0,
            failed: 0,
            givenUp: 0,
            preview,
          };
        }
        const totals = { digests: 0, notices: 0, sent: 0, failed: 0, givenUp: 0 };
        for (;;) {
          ctx.throwIfInterrupted();
          const batch = await service.claim(admin, { limit });
          if (batch.length === 0) break;
          for (const digest of batch) {
            totals.digests += 1;
            totals.notices += digest.notices.length;
            const outcome = await runSender(options.exec as string, JSON.stringify(digest), {
              SWL_DIGEST_ID: digest.digestId,
              SWL_BORROWER_EMAIL: digest.borrower.email ?? '',
              SWL_TEMPLATE_KEYS: digest.notices.map((n) => n.templateKey).join(','),
            });
            if (outcome.code === 0) {
              await service.markSent(admin, { digestId: digest.digestId });
              totals.sent += 1;
            } else {
              // Kept as the notices' last error: one line of the sender's stderr, without NUL or lone surrogates.
              const error =
                outcome.error
                  .replaceAll(String.fromCharCode(0), '')
                  .replace(/\p{Cs}/gu, '')
                  .slice(0, 2000)
                  .trim() || 'failed';
              const failed = await service.markFailed(admin, { digestId: digest.digestId, error });
              totals.failed += 1;
              totals.givenUp += failed.failed;
            }
          }
          // A failed digest is not claimable again before its backoff: the loop ends.
        }
        return { asOf: at.toISOString(), dryRun: false, ...totals };
      });
      ctx.print(report, (r) =>
        r.dryRun
          ? [
              ...(r.preview ?? []).map(
                (d) =>
                  `--- to ${d.borrower.fullName} <${d.borrower.email ?? 'no e-mail'}> (${d.notices.length} notice(s))\n${renderDigestText(d)}`,
              ),
              `dry run as of ${r.asOf}: ${r.digests} digest(s), ${r.notices} notice(s) would go out; nothing written`,
            ]
          : [
              `as of ${r.asOf}: ${r.digests} digest(s) (${r.notices} notice(s)); sent ${r.sent}, failed ${r.failed}` +
                (r.givenUp > 0 ? `; ${r.givenUp} notice(s) given up after their last attempt` : ''),
            ],
      );
      if (report.givenUp > 0) {
        throw new ChecksFailed(`${report.givenUp} notice(s) given up after their last attempt`);
      }
    });
};
