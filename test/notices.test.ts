/**
 * Notices (issue 17) on every database, driven by the injected clock over simulated weeks: each
 * trigger fires once at its moment; one digest per borrower per run; a claim never hands a notice
 * to two workers (two connections claiming at once); after a 3-day outage each notice still
 * relevant goes out once and the missed ones never; a returned loan's pending overdue notice is
 * dropped; a failed send is retried with backoff and given up (reported) after the last attempt.
 * Figures from the seeded schedule (`DEFAULT_NOTICE_RULES`) and lending policies (DESIGN §5).
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { HoldService } from '../src/holds/hold.service.ts';
import { LoanService } from '../src/loans/loan.service.ts';
import { DEFAULT_NOTICE_RULES } from '../src/notices/defaults.ts';
import { NoticeService, type NoticeServiceOptions } from '../src/notices/notice.service.ts';
import { renderDigestText } from '../src/notices/render.ts';
import type { NoticeDigest } from '../src/notices/views.ts';
import { checkInvariants } from '../src/operations/invariants.ts';
import { ReservationService } from '../src/reservations/reservation.service.ts';
import { seedDefaults } from '../src/seeding/seed.ts';
import {
  type Desk,
  describeEachDialect,
  expectSwlError,
  rowCounts,
  T0,
  useDesk,
} from './support/fixtures.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const t0 = new Date(T0).getTime();
/** `ms` after T0, as ISO 8601 (for readable expectations). */
const at = (ms: number) => new Date(t0 + ms).toISOString();

function services(desk: Desk, options: NoticeServiceOptions = {}) {
  const shared = { clock: desk.clock, events: desk.events };
  return {
    notices: new NoticeService(desk.em(), { ...shared, ...options }),
    loans: new LoanService(desk.em(), shared),
    holds: new HoldService(desk.em(), shared),
    reservations: new ReservationService(desk.em(), shared),
  };
}

/** A loan of a new general entry to `borrower`, approved now. */
async function lend(desk: Desk, borrower: { id: number; role: 'student' | 'teacher' | 'staff' | 'admin' }) {
  const { loans } = services(desk);
  const entry = await desk.entry('general', 1);
  const request = await loans.request(desk.staff, { borrowerId: borrower.id, catalogEntryId: entry.id });
  return loans.approve(desk.staff, { loanId: request.id });
}

interface Sent {
  at: string;
  borrowerId: number;
  keys: string[];
  digest: NoticeDigest;
}

/**
 * A worker run every `stepMinutes` from the clock's now until `until` (exclusive): claims, and
 * marks every digest sent. Returns what went out, in order.
 */
async function runWorker(
  desk: Desk,
  notices: NoticeService,
  until: number,
  stepMinutes = 60,
): Promise<Sent[]> {
  const sent: Sent[] = [];
  while (desk.clock.now().getTime() < until) {
    for (const digest of await notices.claim(desk.staff, { limit: 1000 })) {
      sent.push({
        at: desk.clock.now().toISOString(),
        borrowerId: digest.borrower.id,
        keys: digest.notices.map((n) => n.templateKey),
        digest,
      });
      expect((await notices.markSent(desk.staff, { digestId: digest.digestId })).sent).toBe(
        digest.notices.length,
      );
    }
    desk.clock.advance({ minutes: stepMinutes });
  }
  return sent;
}

const here = dirname(fileURLToPath(import.meta.url));
type Claimed = { digestId: string; borrowerId: number; noticeIds: number[] };

/** A `notice-worker.ts` process on `url` at `now`: `ready` once it has opened the database, `go()` starts its claims. */
function startClaimer(url: string, now: string, actor: object, limit: number) {
  const child = spawn(
    process.execPath,
    [join(here, 'reliability', 'notice-worker.ts'), url, now, JSON.stringify(actor), String(limit)],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => {
    err += c;
  });
  const lines: string[] = [];
  const waiters: Array<(line: string) => void> = [];
  child.stdout.setEncoding('utf8').on('data', (c: string) => {
    out += c;
    for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      const w = waiters.shift();
      if (w) w(line);
      else lines.push(line);
    }
  });
  const exited = new Promise<never>((_, reject) =>
    child.on('exit', (code) => reject(new Error(`the claimer exited with ${code}: ${err}`))),
  );
  const next = () =>
    Promise.race([
      new Promise<string>((resolve) =>
        lines.length > 0 ? resolve(lines.shift() as string) : waiters.push(resolve),
      ),
      exited,
    ]);
  const ready = next().then((line) => expect(line).toBe('ready'));
  return {
    ready,
    go: () => child.stdin.write('go\n'),
    result: ready.then(next).then((line) => JSON.parse(line) as Claimed[]),
  };
}

const of = (sent: Sent[], borrowerId: number) =>
  sent.filter((s) => s.borrowerId === borrowerId).map((s) => [s.at, ...s.keys]);

describeEachDialect('notices', (dialect) => {
  const desk = useDesk(dialect, { per: 'test' });

  it('over two weeks, each trigger fires once at its moment: loan due, penalty, booking start, hold ready and expiring', async () => {
    const { notices, loans, holds, reservations } = services(desk);
    // A: a student's general loan, 3 days (due T0+3d), never returned.
    const a = await desk.user('student');
    await lend(desk, a);
    // B: a student's loan returned 2 days late (T0+5d): a 2-day fine, an unsettled penalty.
    const b = await desk.user('student');
    const bLoan = await lend(desk, b);
    // C: a teacher waits for a copy lent to D; D returns it at T0+1d, so it is set aside for C
    // (pickup within 48 h: the deadline T0+3d, "expiring" at T0+3d−12h); C never picks it up.
    const c = await desk.user('teacher');
    const d = await desk.user('teacher');
    const dLoan = await lend(desk, d);
    const hold = await holds.placeHold(c, { catalogEntryId: dLoan.catalogEntryId });
    // E: a teacher's booking of a premium entry from T0+2d (premium × teacher waits for
    // confirmation: staff confirm it).
    const e = await desk.user('teacher');
    const premium = await desk.entry('premium', 1);
    const booking = await reservations.reserve(desk.staff, {
      borrowerId: e.id,
      catalogEntryId: premium.id,
      startsAt: at(2 * DAY),
      endsAt: at(2 * DAY + 2 * HOUR),
    });
    if (booking.status === 'solicitada')
      await reservations.confirm(desk.staff, { reservationId: booking.id });

    const sent = await runWorker(desk, notices, t0 + DAY);
    await loans.return(desk.staff, { loanId: dLoan.id });
    sent.push(...(await runWorker(desk, notices, t0 + 5 * DAY)));
    await loans.return(desk.staff, { loanId: bLoan.id });
    sent.push(...(await runWorker(desk, notices, t0 + 14 * DAY)));

    expect(of(sent, a.id)).toEqual([
      [at(2 * DAY), 'loan.due-soon'],
      [at(3 * DAY), 'loan.due'],
      [at(4 * DAY), 'loan.overdue.1d'],
      [at(6 * DAY), 'loan.overdue.3d'],
      [at(10 * DAY), 'loan.overdue.7d'],
    ]);
    // B's loan was overdue from T0+3d; returned at T0+5d: the penalty notice at once, then nothing.
    expect(of(sent, b.id)).toEqual([
      [at(2 * DAY), 'loan.due-soon'],
      [at(3 * DAY), 'loan.due'],
      [at(4 * DAY), 'loan.overdue.1d'],
      [at(5 * DAY), 'account.blocked.penalty'],
    ]);
    // Day 1: the 7-day loan was returned before any of its notices; the set-aside copy is C's.
    expect(of(sent, d.id)).toEqual([]);
    const ready = await holds.getHold(c, { holdId: hold.id });
    expect(of(sent, c.id)).toEqual([
      [at(DAY), 'hold.ready'],
      [new Date((ready.expiresAt as Date).getTime() - 12 * HOUR).toISOString(), 'hold.expiring'],
    ]);
    expect(of(sent, e.id)).toEqual([
      [at(DAY), 'reservation.tomorrow'],
      [at(2 * DAY), 'reservation.pickup-ready'],
    ]);
    // The penalty digest carries the amount and the block: 2 days late, 1,000 COP a day.
    const penalty = sent.find((s) => s.borrowerId === b.id && s.keys[0] === 'account.blocked.penalty');
    expect(penalty?.digest).toMatchObject({
      penalties: [{ loanId: bLoan.id, amount: 200_000 }],
      fines: { accrued: 0, unsettled: 200_000, total: 200_000 },
      blocked: true,
      blocks: ['unsettled_penalty'],
    });
    // Nothing else was ever made, and a rerun sends nothing.
    expect(await notices.claim(desk.staff, {})).toEqual([]);
    const all = await notices.listNotices(desk.staff, { limit: 500 });
    expect(all.items.every((n) => n.status === 'enviado' && n.attempts === 1)).toBe(true);
    expect(all.total).toBe(sent.reduce((n, s) => n + s.keys.length, 0));
    expect(await checkInvariants(desk.orm)).toMatchObject({ ok: true, violations: [] });
  });

  it('one digest per borrower per run: all of their loans in one message, with due dates, fines and blocks', async () => {
    const { notices } = services(desk);
    const [a, b] = [await desk.user('student'), await desk.user('student')];
    const a1 = await lend(desk, a);
    desk.clock.advance({ hours: 2 });
    const a2 = await lend(desk, a);
    const b1 = await lend(desk, b);
    // T0+3d+2h: a1 is 2 h overdue (inside the 60-minute grace? no: past it — one started day,
    // 1,000 COP), a2 and b1 are due now.
    desk.clock.set(at(3 * DAY + 2 * HOUR));
    const digests = await notices.claim(desk.staff, {});
    expect(digests.map((d) => d.borrower.id).sort()).toEqual([a.id, b.id].sort());
    const da = digests.find((d) => d.borrower.id === a.id) as NoticeDigest;
    expect(da.notices.map((n) => [n.subjectId, n.templateKey])).toEqual([
      [a1.id, 'loan.due'],
      [a2.id, 'loan.due'],
    ]);
    expect(
      da.loans.map((l) => [l.loanId, l.dueDate.toISOString(), l.overdueMinutes, l.accruedFine.amount]),
    ).toEqual([
      [a1.id, at(3 * DAY), 120, 100_000],
      [a2.id, at(3 * DAY + 2 * HOUR), 0, 0],
    ]);
    expect(da).toMatchObject({ fines: { accrued: 100_000, unsettled: 0, total: 100_000 }, blocked: true });
    expect(da.blocks).toEqual(['overdue_loan']);
    const text = renderDigestText(da);
    expect(text).toContain(`Hello ${da.borrower.fullName},`);
    expect(text).toContain('OVERDUE by 2 h 0 min, fine so far COP');
    expect(text).toContain('You cannot borrow until you settle an overdue loan.');
    const db = digests.find((d) => d.borrower.id === b.id) as NoticeDigest;
    expect(db.loans.map((l) => l.loanId)).toEqual([b1.id]);
    // The same run again: nothing new is due, nothing is handed out twice.
    expect(await notices.claim(desk.staff, {})).toEqual([]);
    // `limit` counts digests (borrowers), never splitting one.
    desk.clock.set(at(4 * DAY + 2 * HOUR));
    const first = await notices.claim(desk.staff, { limit: 1 });
    expect(first).toHaveLength(1);
    expect(first[0]?.borrower.id).toBe(a.id);
    expect(first[0]?.notices).toHaveLength(2);
    expect((await notices.claim(desk.staff, { limit: 1 })).map((d) => d.borrower.id)).toEqual([b.id]);
  });

  it('a 3-day outage: each still-relevant notice goes out once, the missed ones never, a loan returned meanwhile gets no overdue notice', async () => {
    const { notices, loans } = services(desk);
    const [a, b] = [await desk.user('student'), await desk.user('student')];
    await lend(desk, a);
    const bLoan = await lend(desk, b);
    const before = await runWorker(desk, notices, t0 + 2 * DAY + HOUR);
    expect(before.map((s) => s.keys)).toEqual([['loan.due-soon'], ['loan.due-soon']]);
    // Down from T0+2d+1h to T0+5d+1h: the due (T0+3d) and 1-day (T0+4d) moments pass unseen; B
    // returns the loan at T0+4d12h, 1.5 days late (2 started days: 2,000 COP).
    desk.clock.set(at(4 * DAY + 12 * HOUR));
    await loans.return(desk.staff, { loanId: bLoan.id });
    desk.clock.set(at(5 * DAY + HOUR));
    const restart = await notices.claim(desk.staff, {});
    expect(restart.map((d) => [d.borrower.id, d.notices.map((n) => n.templateKey)])).toEqual([
      [a.id, ['loan.overdue.1d']],
      [b.id, ['account.blocked.penalty']],
    ]);
    for (const d of restart) await notices.markSent(desk.staff, { digestId: d.digestId });
    const after = await runWorker(desk, notices, t0 + 12 * DAY);
    expect(after.map((s) => [s.at, s.borrowerId, ...s.keys])).toEqual([
      [at(6 * DAY), a.id, 'loan.overdue.3d'],
      [at(10 * DAY), a.id, 'loan.overdue.7d'],
    ]);
    // The missed moments were never made into notices at all.
    const made = await notices.listNotices(desk.staff, { limit: 100 });
    expect(made.items.map((n) => n.templateKey).sort()).toEqual(
      [
        'account.blocked.penalty',
        'loan.due-soon',
        'loan.due-soon',
        'loan.overdue.1d',
        'loan.overdue.3d',
        'loan.overdue.7d',
      ].sort(),
    );
  });

  it('relevance at claim time: a returned loan’s pending overdue notice is dropped', async () => {
    const { notices, loans } = services(desk);
    const a = await desk.user('student');
    const loan = await lend(desk, a);
    desk.clock.set(at(4 * DAY));
    const [digest] = await notices.claim(desk.staff, {});
    expect(digest?.notices.map((n) => n.templateKey)).toEqual(['loan.overdue.1d']);
    await notices.markFailed(desk.staff, {
      digestId: digest?.digestId as string,
      error: 'smtp: 451 try later',
    });
    // Returned, and its penalty paid, before the retry is due.
    desk.clock.advance({ minutes: 5 });
    await loans.return(desk.staff, { loanId: loan.id });
    await loans.settlePenalty(desk.staff, { loanId: loan.id, settlement: 'paid' });
    desk.clock.advance({ hours: 1 });
    expect(await notices.claim(desk.staff, {})).toEqual([]);
    const [dropped] = (await notices.listNotices(desk.staff, { statuses: ['descartado'] })).items;
    expect(dropped).toMatchObject({
      subjectId: loan.id,
      templateKey: 'loan.overdue.1d',
      dropReason: 'not_relevant',
      attempts: 1,
      lastError: 'smtp: 451 try later',
    });
  });

  it('a renewal moves the anchor: reminders for the new due date, none left for the old one', async () => {
    const { notices, loans } = services(desk);
    const b = await desk.user('student');
    const second = await lend(desk, b);
    const due1 = (second.dueDate as Date).getTime();
    desk.clock.set(new Date(due1 - DAY));
    const [soon] = await notices.claim(desk.staff, {});
    expect(soon?.notices.map((n) => [n.templateKey, n.anchorAt.getTime()])).toEqual([
      ['loan.due-soon', due1],
    ]);
    await notices.markSent(desk.staff, { digestId: soon?.digestId as string });
    const renewed = await loans.renew(b, { loanId: second.id });
    const due2 = (renewed.dueDate as Date).getTime();
    expect(due2).toBe(due1 + 3 * DAY);
    desk.clock.set(new Date(due1 + HOUR));
    expect(await notices.claim(desk.staff, {}), 'the old due date is no longer the loan’s').toEqual([]);
    desk.clock.set(new Date(due2 - DAY));
    const [again] = await notices.claim(desk.staff, {});
    expect(again?.notices.map((n) => [n.templateKey, n.anchorAt.getTime()])).toEqual([
      ['loan.due-soon', due2],
    ]);
  });

  it('a failed send is retried with backoff, a lapsed lease counts as an attempt, and after the last attempt it is reported', async () => {
    const { notices } = services(desk, { maxAttempts: 3, leaseMinutes: 10, retryDelayMinutes: [15, 60] });
    const a = await desk.user('student');
    await lend(desk, a);
    desk.clock.set(at(2 * DAY));
    const first = await notices.claim(desk.staff, {});
    expect(first[0]?.notices[0]).toMatchObject({ templateKey: 'loan.due-soon', attempts: 1 });
    const failed = await notices.markFailed(desk.staff, {
      digestId: first[0]?.digestId as string,
      error: 'smtp down',
    });
    expect(failed).toMatchObject({
      retrying: 1,
      failed: 0,
      nextAttemptAt: new Date(t0 + 2 * DAY + 15 * MINUTE),
    });
    desk.clock.advance({ minutes: 14 });
    expect(await notices.claim(desk.staff, {}), 'not before its backoff').toEqual([]);
    desk.clock.advance({ minutes: 1 });
    const second = await notices.claim(desk.staff, {});
    expect(second[0]?.notices[0]?.attempts).toBe(2);
    // The worker dies: no report. Within the lease nobody else gets it; after it, attempt 3.
    desk.clock.advance({ minutes: 9 });
    expect(await notices.claim(desk.staff, {})).toEqual([]);
    desk.clock.advance({ minutes: 1 });
    const third = await notices.claim(desk.staff, {});
    expect(third[0]?.notices[0]?.attempts).toBe(3);
    // The dead worker's late report changes nothing: that claim is gone.
    expect(await notices.markSent(desk.staff, { digestId: second[0]?.digestId as string })).toMatchObject({
      sent: 0,
    });
    const last = await notices.markFailed(desk.staff, {
      digestId: third[0]?.digestId as string,
      error: 'mailbox full',
    });
    expect(last).toMatchObject({ retrying: 0, failed: 1, nextAttemptAt: null });
    desk.clock.advance({ hours: 6 });
    expect(await notices.claim(desk.staff, {}), 'never again').toEqual([]);
    const reported = await notices.listNotices(desk.staff, { statuses: ['fallido'] });
    expect(reported.items).toMatchObject([
      {
        borrowerId: a.id,
        templateKey: 'loan.due-soon',
        attempts: 3,
        lastError: 'mailbox full',
        status: 'fallido',
      },
    ]);
    // Its loan's next moment still gets its own notice.
    desk.clock.set(at(3 * DAY));
    expect((await notices.claim(desk.staff, {}))[0]?.notices.map((n) => n.templateKey)).toEqual(['loan.due']);
  });

  it('two processes claiming at once never hand out one notice twice nor split a borrower', async () => {
    const borrowers = await Promise.all(Array.from({ length: 40 }, () => desk.user('student')));
    for (const b of borrowers) {
      await lend(desk, b);
      await lend(desk, b);
    }
    const now = at(3 * DAY);
    const workers = [0, 1].map(() => startClaimer(desk.db.location, now, desk.staff, 2));
    await Promise.all(workers.map((w) => w.ready));
    for (const w of workers) w.go();
    const [x, y] = await Promise.all(workers.map((w) => w.result));
    const digests = [...(x ?? []), ...(y ?? [])];
    const ids = digests.flatMap((d) => d.noticeIds);
    expect(ids).toHaveLength(80);
    expect(new Set(ids).size, 'no notice handed out twice').toBe(80);
    expect(digests.map((d) => d.borrowerId).sort(), 'one digest per borrower').toEqual(
      borrowers.map((b) => b.id).sort(),
    );
    expect(
      digests.every((d) => d.noticeIds.length === 2),
      'no borrower split',
    ).toBe(true);
    expect(x?.length, 'both workers claimed').toBeGreaterThan(0);
    expect(y?.length, 'both workers claimed').toBeGreaterThan(0);
    // Every notice was claimed once and marked sent by the worker that claimed it.
    const { notices } = services(desk);
    const sent = await notices.listNotices(desk.staff, { statuses: ['enviado'], limit: 500 });
    expect(sent.items.every((n) => n.attempts === 1)).toBe(true);
    expect(sent.total).toBe(80);
  }, 120_000);

  it('due() is a dry run: the same digests a claim would give, nothing written', async () => {
    const { notices } = services(desk);
    const a = await desk.user('student');
    await lend(desk, a);
    const before = await rowCounts(desk.orm);
    const preview = await notices.due(desk.staff, { asOf: at(3 * DAY) });
    expect(preview.map((d) => d.notices.map((n) => n.templateKey))).toEqual([['loan.due']]);
    expect(await rowCounts(desk.orm)).toEqual(before);
    expect(await notices.due(desk.staff), 'nothing due at T0').toEqual([]);
    desk.clock.set(at(3 * DAY));
    const claimed = await notices.claim(desk.staff, {});
    expect(claimed.map((d) => d.notices.map((n) => n.templateKey))).toEqual([['loan.due']]);
  });

  it('the schedule is data: upsert, list and remove rules; a removed rule’s pending notice is dropped', async () => {
    const { notices } = services(desk);
    const rules = await notices.listRules(desk.staff);
    expect(
      rules
        .filter((r) => r.category === 'general' && r.role === 'student' && r.trigger === 'loan_due')
        .map((r) => r.offsetMinutes),
    ).toEqual([-1440, 0, 1440, 4320, 10080]);
    const extra = await notices.upsertRule(desk.admin, {
      category: 'general',
      role: 'student',
      trigger: 'loan_due',
      offsetMinutes: -120,
      templateKey: 'loan.due-in-2h',
    });
    const renamed = await notices.upsertRule(desk.admin, {
      category: 'general',
      role: 'student',
      trigger: 'loan_due',
      offsetMinutes: -120,
      templateKey: 'loan.due-soon-2h',
    });
    expect(renamed).toMatchObject({ id: extra.id, templateKey: 'loan.due-soon-2h' });
    const a = await desk.user('student');
    await lend(desk, a);
    desk.clock.set(at(3 * DAY - 2 * HOUR));
    const [digest] = await notices.claim(desk.staff, {});
    expect(digest?.notices.map((n) => n.templateKey)).toEqual(['loan.due-soon-2h']);
    await notices.markFailed(desk.staff, { digestId: digest?.digestId as string, error: 'x' });
    await notices.removeRule(desk.admin, { ruleId: extra.id });
    desk.clock.advance({ minutes: 30 });
    // Its pending notice is dropped; the loan's latest moment left (the day-before reminder) is sent instead.
    const [instead] = await notices.claim(desk.staff, {});
    expect(instead?.notices.map((n) => n.templateKey)).toEqual(['loan.due-soon']);
    expect((await notices.listNotices(desk.staff, { statuses: ['descartado'] })).items[0]).toMatchObject({
      templateKey: 'loan.due-soon-2h',
      dropReason: 'not_relevant',
    });
    await expectSwlError(notices.removeRule(desk.admin, { ruleId: extra.id }), 'NOT_FOUND');
    await expectSwlError(
      notices.upsertRule(desk.staff, {
        category: 'general',
        role: 'student',
        trigger: 'loan_due',
        offsetMinutes: 5,
        templateKey: 'k',
      }),
      'FORBIDDEN',
    );
    await expectSwlError(
      notices.upsertRule(desk.admin, {
        category: 'general',
        role: 'student',
        trigger: 'loan_due',
        offsetMinutes: 600_000,
        templateKey: 'k',
      }),
      'VALIDATION_FAILED',
    );
  });

  it('swl doctor’s `notices` rule names a notice about another borrower’s loan, or without what its status needs', async () => {
    const { notices } = services(desk);
    const [a, b] = [await desk.user('student'), await desk.user('student')];
    const aLoan = await lend(desk, a);
    await lend(desk, b);
    desk.clock.set(at(2 * DAY));
    const digests = await notices.claim(desk.staff, {});
    for (const d of digests) await notices.markSent(desk.staff, { digestId: d.digestId });
    expect((await checkInvariants(desk.orm)).ok).toBe(true);
    const aNotice = digests.find((d) => d.borrower.id === a.id)?.notices[0]?.id;
    const bNotice = digests.find((d) => d.borrower.id === b.id)?.notices[0]?.id;
    const conn = desk.em().getConnection();
    await conn.execute(`update swl_notice set borrower_id = ${b.id} where id = ${aNotice}`);
    await conn.execute(`update swl_notice set sent_at = null where id = ${bNotice}`);
    const report = await checkInvariants(desk.orm);
    expect(report.ok).toBe(false);
    expect(report.violations.filter((v) => v.rule === 'notices').map((v) => [v.id, v.message])).toEqual([
      [aNotice, `notice ${aNotice}: its loan ${aLoan.id} is borrower ${a.id}'s, not ${b.id}'s`],
      [bNotice, `notice ${bNotice}: enviado without sent_at`],
    ]);
  });

  it('a moment before the loan began is never sent: no "due tomorrow" for a loan of 8 hours', async () => {
    const { notices, loans } = services(desk);
    await notices.upsertRule(desk.admin, {
      category: 'premium',
      role: 'teacher',
      trigger: 'loan_due',
      offsetMinutes: -1440,
      templateKey: 'loan.due-tomorrow',
    });
    const teacher = await desk.user('teacher');
    const entry = await desk.entry('premium', 1);
    const request = await loans.request(teacher, { catalogEntryId: entry.id, environment: 'Aula 1' });
    const loan = await loans.approve(desk.staff, { loanId: request.id });
    const due = (loan.dueDate as Date).getTime();
    expect(due).toBe(t0 + 8 * HOUR);
    desk.clock.advance({ minutes: 5 });
    expect(await notices.claim(desk.staff, {}), 'its −1 day moment came before the approval').toEqual([]);
    desk.clock.set(new Date(due - HOUR));
    const [soon] = await notices.claim(desk.staff, {});
    expect(soon?.notices.map((n) => n.templateKey)).toEqual(['loan.due-soon']);
  });

  it('seeding adds the default schedule only to a category × role without rules, and the options are checked', async () => {
    const { notices } = services(desk);
    const pairs = new Set(DEFAULT_NOTICE_RULES.map((r) => `${r.category}/${r.role}`));
    const first = await seedDefaults(desk.em(), { adminPassword: 'a strong seed password' });
    expect(first.noticeRules).toEqual({ created: 0, existing: pairs.size });
    // A host removes one of general × student's rules: seeding again does not put it back; with
    // every rule of the pair gone, it seeds the pair's defaults.
    const own = await notices.listRules(desk.staff, { category: 'general', role: 'student' });
    await notices.removeRule(desk.admin, { ruleId: own[0]?.id as number });
    expect((await seedDefaults(desk.em())).noticeRules).toEqual({ created: 0, existing: pairs.size });
    for (const rule of own.slice(1)) await notices.removeRule(desk.admin, { ruleId: rule.id });
    const again = await seedDefaults(desk.em());
    expect(again.noticeRules).toEqual({ created: own.length, existing: pairs.size - 1 });
    expect(await notices.listRules(desk.staff, { category: 'general', role: 'student' })).toHaveLength(
      own.length,
    );
    expect(() => new NoticeService(desk.em(), { maxAttempts: 0 })).toThrow(
      expect.objectContaining({ code: 'CONFIGURATION' }),
    );
    expect(() => new NoticeService(desk.em(), { retryDelayMinutes: [] })).toThrow(
      expect.objectContaining({ code: 'CONFIGURATION' }),
    );
  });
});
