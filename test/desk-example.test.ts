/**
 * examples/desk-week.ts (`npm run example`) played on every database, twice on the same one as a
 * user re-runs it: the week's story, and its booked Tuesday (issue 16) — a teacher books 2
 * VideoBeams, staff confirm, another teacher is refused for an overlapping range and takes the one
 * left, the booking is picked up into two loans due at its end and returned, the no-show sweep,
 * and the day's availability calendar before and after.
 */
import { expect, it } from 'vitest';
import { describeEachDialect, useTestOrm } from './support/fixtures.ts';

// The example imports the package by its name; vitest.config.ts resolves that name to this
// repository's source, so the example runs on the same classes as the test's ORM.
const { playDeskWeek } = await import('../examples/desk-week.ts');

/** One play of the week on `orm`, its output as one string. */
async function play(orm: Parameters<typeof playDeskWeek>[0]['orm'], database: string): Promise<string> {
  const lines: string[] = [];
  await playDeskWeek({ orm, database, log: (line) => lines.push(line) });
  return lines.join('\n');
}

/** The lines of the booked Tuesday, as regular expressions (ids vary between plays). */
const BOOKED_TUESDAY = [
  /2026-03-02 21:00 UTC {2}Carlos Ruiz books 2 VideoBeams for Aula 204, Tuesday 08:00–12:00 \(booking #\d+, solicitada: teachers' bookings wait for staff; held until 12:15 with the buffer\)\./,
  /2026-03-02 21:00 UTC {2}The science fair books 7 more for 10:00: Diana Castro 2 \(#\d+, solicitada\), Pedro Díaz 2 \(#\d+, solicitada\), Laura Gómez 2 \(#\d+, confirmada\), the admin 1 \(#\d+, confirmada\)\./,
  /2026-03-02 21:00 UTC {2}Laura Gómez confirms the teachers' bookings #\d+, #\d+, #\d+\./,
  /2026-03-02 21:00 UTC {2}✗ Sofía Mejía books 2 VideoBeams for Aula 105, Tuesday 10:00–11:00: COPY_UNAVAILABLE — not enough copies are free over that range\n {26}reason booked, catalogEntryId \d+, requested 2, capacity 10, free 1, fullAt 2026-03-03T10:00:00\.000Z/,
  /2026-03-02 21:00 UTC {2}Sofía Mejía takes the one that is left \(#\d+\); Laura Gómez confirms it\./,
  /\nTuesday\n {2}2026-03-03 08:00 UTC {2}VideoBeams on Tuesday 3 March \(UTC\), before the desk hands anything out: 10 copies, at least 0 free\./,
  /2026-03-03 08:00 UTC {2}Laura Gómez hands Carlos Ruiz his booking #\d+ \(recogida\): loans #\d+ VID-\d+-\d+ and #\d+ VID-\d+-\d+, both due 2026-03-03 12:00\./,
  /2026-03-03 10:00 UTC {2}Diana Castro, Laura Gómez and Sofía Mejía pick theirs up: 5 more loans \(#\d+, #\d+, #\d+, #\d+, #\d+\)\./,
  /2026-03-03 10:30 UTC {2}Nobody came for #\d+ \(Pedro Díaz\) or #\d+ \(the admin\): the no-show sweep marks them no_recogida and frees their copies\./,
  /2026-03-03 11:00 UTC {2}Sofía Mejía brings hers back \(#\d+\)\./,
  /2026-03-03 12:00 UTC {2}Carlos Ruiz brings both VideoBeams back \(#\d+ devuelto, #\d+ devuelto\): penalties \$\s0 and \$\s0\./,
  /2026-03-03 12:00 UTC {2}The science fair's 4 come back too\./,
  /2026-03-03 12:00 UTC {2}VideoBeams on Tuesday 3 March \(UTC\), after the returns: 10 copies, at least 10 free\./,
];

/** The day's calendar before the pickup: the bookings' ranges, each held 15 minutes past its end. */
const CALENDAR_BEFORE = [
  '  from   to     booked  free',
  '  ─────  ─────  ──────  ────',
  '  00:00  08:00  0       10  ',
  '  08:00  10:00  2       8   ',
  '  10:00  11:15  10      0   ',
  '  11:15  12:15  6       4   ',
  '  12:15  24:00  0       10  ',
].join('\n');
/** … and after the returns: nothing holds the day any more. */
const CALENDAR_AFTER = [
  'after the returns: 10 copies, at least 10 free.',
  '  from   to     booked  free',
  '  ─────  ─────  ──────  ────',
  '  00:00  24:00  0       10  ',
].join('\n');

describeEachDialect('the desk example plays a week with a booked Tuesday', (dialect) => {
  const t = useTestOrm(dialect, { migrate: false });

  it('tells the week, with the booking, the refusal, the pickup and the return — and again on the same database', async () => {
    const first = await play(t.orm, dialect);
    expect(first).toMatch(/^swl-library — a week at the desk \((sqlite|postgresql)\)\n/);
    expect(first).toMatch(
      /Database ready: \d+ migration\(s\) applied; 6 items and 108 copies seeded; 7 policies seeded\./,
    );

    const second = await play(t.orm, dialect);
    expect(second).toContain(
      'Database ready: 0 migration(s) applied; 0 items and 0 copies seeded; 0 policies seeded.',
    );

    for (const [run, out] of [
      ['first', first],
      ['second', second],
    ] as const) {
      for (const line of BOOKED_TUESDAY) expect(out, `${run} play: ${line}`).toMatch(line);
      expect(out, run).toContain(CALENDAR_BEFORE);
      expect(out, run).toContain(CALENDAR_AFTER);
      // The Tuesday lines come in the story's order, between Monday's return and Ana's renewal.
      const at = BOOKED_TUESDAY.map((line) => out.search(line));
      expect(at, run).toEqual([...at].sort((a, b) => a - b));
      expect(out.search(/Carlos Ruiz brings the VideoBeam back on time/), run).toBeLessThan(at[0] as number);
      expect(out.search(/Ana Pérez renews her mouse/), run).toBeGreaterThan(at.at(-1) as number);
      // The rest of the week still plays, and every loan of it — the booked ones too — is closed.
      expect(out, run).toContain(
        'Saturday\n  2026-03-07 15:30 UTC  The last mice come back; every loan of the week is closed.',
      );
      expect(out, run).toMatch(/ {2}VideoBeam {11}premium {3}10 {9}0 {8}0 {12}0 {5}10 {3}\n/);
      expect(out, run).toMatch(
        /Subscribers heard \d+ loan events and 18 reservation events, each after its commit\./,
      );
      expect(out, run).toMatch(
        /Done\. Loan #\d+ is devuelto; run again to replay the week on the same database\.$/,
      );
    }
  });
});
