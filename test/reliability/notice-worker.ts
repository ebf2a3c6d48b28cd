/**
 * A separate OS process that claims notices, for the concurrent-claim test of
 * `test/notices.test.ts`: `node test/reliability/notice-worker.ts <DATABASE_URL> <now ISO> <actor JSON> <limit>`.
 * It opens the database the way a host does (`openSwlOrm`: on SQLite BEGIN IMMEDIATE, WAL and the
 * busy timeout), prints `ready`, waits for `go` on stdin, then works as a sending worker does —
 * claims `limit` digests, "sends" each (a 5 ms pause, outside any transaction) and marks it sent —
 * until a claim returns none, and prints what it got as one JSON line:
 * `[{ digestId, borrowerId, noticeIds }]`. Two of them told `go` together are two workers with
 * their own connections claiming at once — on SQLite too, where one process cannot hold two
 * transactions on one file at the same time.
 */
import { createInterface } from 'node:readline';
import { ManualClock } from '../../src/clock.ts';
import { openSwlOrm } from '../../src/config.ts';
import { NoticeService } from '../../src/notices/notice.service.ts';

const [url, now, actor, limit] = process.argv.slice(2) as [string, string, string, string];
const orm = await openSwlOrm({ databaseUrl: url });
await orm.em.fork().getConnection().execute('select count(*) from swl_notice');
const notices = new NoticeService(orm.em.fork(), { clock: new ManualClock(now) });
process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
for await (const line of lines) if (line === 'go') break;
lines.close();
const got: Array<{ digestId: string; borrowerId: number; noticeIds: number[] }> = [];
for (;;) {
  const batch = await notices.claim(JSON.parse(actor), { limit: Number(limit) });
  if (batch.length === 0) break;
  for (const d of batch) {
    got.push({ digestId: d.digestId, borrowerId: d.borrower.id, noticeIds: d.notices.map((n) => n.id) });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await notices.markSent(JSON.parse(actor), { digestId: d.digestId });
  }
}
process.stdout.write(`${JSON.stringify(got)}\n`);
await orm.close(true);
