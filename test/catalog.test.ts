import type { SqlEntityManager } from '@mikro-orm/sql';
import { beforeAll, describe, expect, it } from 'vitest';
import { CatalogService } from '../src/catalog/catalog.service.ts';
import {
  catalogSearchText,
  codePrefix,
  copyCode,
  prefixOfCode,
  refreshCatalogSearchText,
  type SqlStatementRunner,
} from '../src/catalog/codes.ts';
import {
  assertCopyOperation,
  COPY_TRANSITIONS,
  canTransitionCopy,
  copyNextStates,
} from '../src/catalog/copy-transitions.ts';
import { ManualClock } from '../src/clock.ts';
import { COPY_STATUSES, type CopyStatus } from '../src/domain/vocabulary.ts';
import { CatalogEntry, CopyEvent, ItemInstance } from '../src/entities/index.ts';
import { SwlError } from '../src/errors.ts';
import { foldText } from '../src/internal/text.ts';
import type { Actor } from '../src/permissions.ts';
import {
  createTestUser,
  describeEachDialect,
  expectSwlError,
  recordingBus,
  rowCounts,
  useTestOrm,
} from './support/fixtures.ts';

describe('copy codes and search text (pure)', () => {
  it('take the first three letters, upper-cased, accents removed, padded with X', () => {
    expect(codePrefix('Mouse USB')).toBe('MOU');
    expect(codePrefix('Kit LEGO Education')).toBe('KIT');
    expect(codePrefix('Cámara')).toBe('CAM');
    expect(codePrefix('Ñandú')).toBe('NAN');
    expect(codePrefix('  ¿él? ')).toBe('ELX');
    expect(codePrefix('3D Printer')).toBe('DPR');
    expect(codePrefix('TV')).toBe('TVX');
    expect(codePrefix('42')).toBe('XXX');
    expect(codePrefix('Фото')).toBe('XXX');
    expect(copyCode('MOU', 12, 7)).toBe('MOU-12-7');
    expect(prefixOfCode('MOU-12-7')).toBe('MOU');
    expect(prefixOfCode('legacy-code')).toBeNull();
  });

  it('fold title, author and identifier to lower case without accents', () => {
    expect(catalogSearchText({ titleOrName: 'Cámara  SONY', authorOrBrand: 'Éxito', identifier: null })).toBe(
      'camara sony exito',
    );
  });

  it('keep the whole title, author and identifier however long the folded text gets', () => {
    const title = hangulTitle(7, 150);
    const text = catalogSearchText({
      titleOrName: title,
      authorOrBrand: 'Author Zeta',
      identifier: 'KOR-150',
    });
    expect(text.length).toBeGreaterThan(320 + ' author zeta kor-150'.length);
    expect(text).toBe(`${foldText(title)} author zeta kor-150`);
  });
});

/**
 * `length` Hangul syllables from U+AC00..U+D7A3, the same for the same `seed` (MINSTD generator).
 * Under NFD a syllable becomes two or three jamo, so 150 syllables fold to ~440 characters.
 */
function hangulTitle(seed: number, length: number): string {
  let x = seed;
  let title = '';
  for (let k = 0; k < length; k++) {
    x = (x * 48_271) % 2_147_483_647;
    title += String.fromCharCode(0xac00 + (x % 11_172));
  }
  return title;
}

describe('copy state machine (pure, docs/DESIGN.md §4)', () => {
  it('allows exactly the direct operations of docs/DESIGN.md §4, plus withdrawal (issue 11)', async () => {
    // moves only: the creation row (from: null) is not a change of status
    const direct = COPY_TRANSITIONS.filter((t) => t.via === 'direct' && t.from !== null).map(
      (t) => `${t.from}>${t.to}`,
    );
    expect(direct.sort()).toEqual(
      [
        'disponible>mantenimiento',
        'mantenimiento>disponible',
        'disponible>perdido',
        'perdido>disponible',
        'perdido>mantenimiento',
        'disponible>retirado',
        'mantenimiento>retirado',
        'perdido>retirado',
      ].sort(),
    );
    expect(copyNextStates('prestado', 'direct')).toEqual([]);
    for (const s of COPY_STATUSES) expect(canTransitionCopy(s, s)).toBe(false);
    expect(canTransitionCopy('disponible', 'prestado', 'loan')).toBe(true);
    expect(canTransitionCopy('disponible', 'prestado', 'direct')).toBe(false);
    await expectSwlError(() => assertCopyOperation('sendToMaintenance', 'prestado', 1), 'INVALID_TRANSITION');
    expect(assertCopyOperation('sendToMaintenance', 'perdido').event).toBe('sent_to_maintenance');
  });
});

describeEachDialect('catalog', (dialect) => {
  const t = useTestOrm(dialect);
  let staff: Actor;
  let admin: Actor;
  let student: Actor;
  const clock = new ManualClock('2026-03-02T08:00:00Z');
  const { events, received: published } = recordingBus();
  const catalog = () => new CatalogService(t.orm.em.fork(), { clock, events });

  async function copiesOf(entryId: number) {
    return t.orm.em.fork().find(ItemInstance, { catalogEntry: entryId }, { orderBy: { sequence: 'asc' } });
  }

  beforeAll(async () => {
    staff = await createTestUser(t.orm, 'staff');
    admin = await createTestUser(t.orm, 'admin');
    student = await createTestUser(t.orm, 'student');
  });

  it('codes 50 copies of "Mouse USB" MOU-<id>-1 … MOU-<id>-50, and 5 more continue at 51', async () => {
    const { entry, copies } = await catalog().createEntry(staff, {
      titleOrName: 'Mouse USB',
      category: 'general',
      authorOrBrand: 'Genius',
      copies: 50,
    });
    const expected = Array.from({ length: 50 }, (_, k) => `MOU-${entry.id}-${k + 1}`);
    expect(copies.map((c) => c.code)).toEqual(expected);
    expect(entry.counts).toEqual({
      available: 50,
      onLoan: 0,
      maintenance: 0,
      lost: 0,
      withdrawn: 0,
      total: 50,
    });
    expect(entry.replacementCost).toBeNull(); // no cost given: unknown, not free

    const stored = await copiesOf(entry.id);
    expect(stored.map((c) => c.code)).toEqual(expected);
    expect(new Set(stored.map((c) => c.code)).size).toBe(50);
    expect(stored.every((c) => c.status === 'disponible')).toBe(true);

    const created = await t.orm.em
      .fork()
      .find(CopyEvent, { copy: { catalogEntry: entry.id } }, { orderBy: { id: 'asc' } });
    expect(created).toHaveLength(50);
    expect(
      created.every((e) => e.type === 'created' && e.fromStatus === null && e.toStatus === 'disponible'),
    ).toBe(true);
    expect(created[0]?.at.toISOString()).toBe('2026-03-02T08:00:00.000Z');
    expect(created[0]?.actor?.id).toBe(staff.id);

    const more = await catalog().addCopies(staff, { catalogEntryId: entry.id, count: 5 });
    expect(more.copies.map((c) => c.code)).toEqual([51, 52, 53, 54, 55].map((n) => `MOU-${entry.id}-${n}`));
    expect(more.entry.counts.total).toBe(55);
    const all = await copiesOf(entry.id);
    expect(all.map((c) => c.sequence)).toEqual(Array.from({ length: 55 }, (_, k) => k + 1));
    expect(new Set(all.map((c) => c.code)).size).toBe(55);
  });

  it('codes "Kit LEGO Education" KIT-…, "Cámara" CAM-…, "TV" TVX-…', async () => {
    for (const [name, prefix] of [
      ['Kit LEGO Education', 'KIT'],
      ['Cámara Sony', 'CAM'],
      ['TV', 'TVX'],
    ] as const) {
      const { entry, copies } = await catalog().createEntry(staff, {
        titleOrName: name,
        category: 'premium',
        copies: 2,
      });
      expect(copies.map((c) => c.code)).toEqual([`${prefix}-${entry.id}-1`, `${prefix}-${entry.id}-2`]);
    }
  });

  it('keeps copy codes when the entry is renamed, refreshes search, continues the old prefix', async () => {
    const { entry } = await catalog().createEntry(staff, {
      titleOrName: 'Proyector Epson',
      category: 'premium',
      copies: 2,
    });
    const updated = await catalog().updateEntry(staff, {
      catalogEntryId: entry.id,
      titleOrName: 'Zeta Projector',
      identifier: 'EB-X41',
      replacementCost: 150_000_000,
    });
    expect(updated.titleOrName).toBe('Zeta Projector');
    expect(updated.replacementCost).toBe(150_000_000);
    expect(updated.authorOrBrand).toBeNull();
    const stored = await t.orm.em.fork().findOneOrFail(CatalogEntry, entry.id);
    expect(stored.searchText).toBe('zeta projector eb-x41');
    expect((await copiesOf(entry.id)).map((c) => c.code)).toEqual([`PRO-${entry.id}-1`, `PRO-${entry.id}-2`]);
    expect((await catalog().search(student, { text: 'eb-x41' })).items.map((e) => e.id)).toEqual([entry.id]);
    expect((await catalog().search(student, { text: 'epson' })).total).toBe(0);
    const more = await catalog().addCopies(admin, { catalogEntryId: entry.id, count: 1 });
    expect(more.copies[0]?.code).toBe(`PRO-${entry.id}-3`);
  });

  describe('search', () => {
    let videobeam: number;
    let regleta: number;
    let camara: number;
    let cotton: number;
    let under: number;

    beforeAll(async () => {
      videobeam = (
        await catalog().createEntry(staff, { titleOrName: 'VideoBeam', category: 'premium', copies: 10 })
      ).entry.id;
      regleta = (
        await catalog().createEntry(staff, {
          titleOrName: 'Regleta/Extension',
          category: 'premium',
          copies: 15,
        })
      ).entry.id;
      camara = (
        await catalog().createEntry(staff, {
          titleOrName: 'Cámara fotográfica',
          category: 'premium',
          authorOrBrand: 'Canon',
        })
      ).entry.id;
      cotton = (await catalog().createEntry(staff, { titleOrName: 'Tela 100% algodón', category: 'general' }))
        .entry.id;
      under = (await catalog().createEntry(staff, { titleOrName: 'Cable snake_case', category: 'general' }))
        .entry.id;
    });

    const ids = async (text: string) =>
      (await catalog().search(student, { text, limit: 500 })).items.map((e) => e.id);

    it('finds by partial text, case-insensitively', async () => {
      expect(await ids('videobeam')).toEqual([videobeam]);
      expect(await ids('VIDEOBEAM')).toEqual([videobeam]);
      expect(await ids('eoBe')).toEqual([videobeam]);
      expect(await ids('Regleta')).toEqual([regleta]);
      expect(await ids('extens')).toEqual([regleta]);
    });

    it('is accent-insensitive both ways and matches every word', async () => {
      expect(await ids('camara')).toContain(camara);
      expect(await ids('camara fotografica')).toEqual([camara]);
      expect(await ids('CÁMARA FOTOGRÁFICA')).toEqual([camara]);
      expect(await ids('Camara Fotogràfica')).toEqual([camara]);
      expect(await ids('fotografica canon')).toEqual([camara]);
      expect(await ids('canon videobeam')).toEqual([]);
      expect(await ids('algodon')).toEqual([cotton]);
    });

    it('treats %, _, quotes and SQL fragments as text: no match, no error, tables intact', async () => {
      const before = await rowCounts(t.orm);
      const everything = (await catalog().search(student, { limit: 500 })).total;
      expect(everything).toBeGreaterThanOrEqual(5);
      // Unescaped, '%' and '_' would match every entry; escaped, only the entries containing them.
      expect(await ids('%')).toEqual([cotton]);
      expect(await ids('_')).toEqual([under]);
      for (const hostile of [
        '%%',
        '__',
        '!',
        "'",
        '"',
        '\\',
        "' OR 1=1 --",
        '"; drop table swl_user; --',
        "'); delete from swl_catalog; --",
        "%' or '1'='1",
      ]) {
        const page = await catalog().search(student, { text: hostile });
        expect(page.total, hostile).toBe(0);
        expect(page.items, hostile).toEqual([]);
      }
      expect(await rowCounts(t.orm)).toEqual(before);
      // The wildcard characters still match themselves literally.
      expect(await ids('100%')).toEqual([cotton]);
      expect(await ids('0% a')).toEqual([cotton]);
      expect(await ids('e_c')).toEqual([under]);
    });

    it('filters by category, orders by title then id, and paginates with a total', async () => {
      const all = await catalog().search(student, { category: 'premium', limit: 500 });
      expect(all.items.every((e) => e.category === 'premium')).toBe(true);
      const titles = all.items.map((e) => e.titleOrName);
      expect(titles).toEqual([...titles].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
      const page = await catalog().search(student, { category: 'premium', limit: 2, offset: 1 });
      expect(page.total).toBe(all.total);
      expect(page.items.map((e) => e.id)).toEqual(all.items.slice(1, 3).map((e) => e.id));
    });

    it('reports counts that match the copies’ statuses after maintenance and losses', async () => {
      const copies = await copiesOf(videobeam);
      await catalog().sendToMaintenance(staff, { copyId: copies[0]!.id });
      await catalog().sendToMaintenance(staff, { copyId: copies[1]!.id });
      await catalog().markLost(staff, { copyId: copies[2]!.id });
      // A copy on loan, set the way LoanService.approve does it.
      const em = t.orm.em.fork();
      const lent = await em.findOneOrFail(ItemInstance, copies[3]!.id);
      lent.status = 'prestado';
      await em.flush();

      const stored = await copiesOf(videobeam);
      const tally = (s: CopyStatus) => stored.filter((c) => c.status === s).length;
      const expected = {
        available: tally('disponible'),
        onLoan: tally('prestado'),
        maintenance: tally('mantenimiento'),
        lost: tally('perdido'),
        withdrawn: tally('retirado'),
        total: stored.length,
      };
      expect(expected).toEqual({ available: 6, onLoan: 1, maintenance: 2, lost: 1, withdrawn: 0, total: 10 });
      const [found] = (await catalog().search(student, { text: 'videobeam' })).items;
      expect(found?.counts).toEqual(expected);
      expect((await catalog().getEntry(student, { catalogEntryId: videobeam })).counts).toEqual(expected);
      const regletaCounts = (await catalog().search(student, { text: 'regleta' })).items[0]?.counts;
      expect(regletaCounts).toEqual({
        available: 15,
        onLoan: 0,
        maintenance: 0,
        lost: 0,
        withdrawn: 0,
        total: 15,
      });
      expect((await catalog().getEntry(student, { catalogEntryId: camara })).counts.total).toBe(0);
    });

    it('finds a copy by its code (case-insensitive) with its entry, and lists copies by status', async () => {
      const [first] = await copiesOf(regleta);
      const copy = await catalog().getCopyByCode(student, { code: ` ${first!.code.toLowerCase()} ` });
      expect(copy.id).toBe(first!.id);
      expect(copy.entry).toEqual({
        id: regleta,
        titleOrName: 'Regleta/Extension',
        category: 'premium',
        authorOrBrand: null,
        identifier: null,
      });
      await expectSwlError(catalog().getCopyByCode(student, { code: 'REG-999999-1' }), 'NOT_FOUND');
      const lost = await catalog().listCopies(student, { catalogEntryId: videobeam, status: 'perdido' });
      expect(lost.total).toBe(1);
      expect(lost.items[0]?.status).toBe('perdido');
    });
  });

  describe('search text is never cut (issue 11)', () => {
    const ids = async (text: string) =>
      (await catalog().search(student, { text, limit: 500 })).items.map((e) => e.id);
    const sqlEm = () => t.orm.em.fork() as SqlEntityManager;
    const entryCount = async () =>
      Number(
        (await sqlEm().execute<{ n: number | string }[]>('select count(*) as n from swl_catalog'))[0]?.n,
      );

    it('finds a 150-syllable Hangul title by its author, its identifier and the end of its title', async () => {
      const title = hangulTitle(11, 150);
      expect(foldText(title).length).toBeGreaterThan(320); // the old cut lost the author and identifier
      const { entry } = await catalog().createEntry(staff, {
        titleOrName: title,
        category: 'general',
        authorOrBrand: 'Author Zeta',
        identifier: 'KOR-150',
      });
      const stored = await t.orm.em.fork().findOneOrFail(CatalogEntry, entry.id);
      expect(stored.searchText).toBe(`${foldText(title)} author zeta kor-150`);
      expect(await ids('author zeta')).toEqual([entry.id]);
      expect(await ids('Zeta AUTHOR')).toEqual([entry.id]);
      expect(await ids('kor-150')).toEqual([entry.id]);
      // Typed in NFC, folded to NFD like the stored text.
      expect(await ids(title.slice(-4))).toEqual([entry.id]);
      expect(await ids(`${title.slice(-3)} zeta kor-150`)).toEqual([entry.id]);
      expect(await ids(title)).toEqual([entry.id]);
    });

    it('refreshCatalogSearchText rewrites a search text cut by an older version, idempotently', async () => {
      const title = hangulTitle(29, 150);
      const fields = { titleOrName: title, authorOrBrand: 'Author Omega', identifier: 'OLD-320' };
      const { entry } = await catalog().createEntry(staff, { ...fields, category: 'general' });
      const full = catalogSearchText(fields);
      // What an entry written before the fix holds: the folded text cut at 320 characters.
      const cutRow = () =>
        sqlEm().execute('update swl_catalog set search_text = ? where id = ?', [
          full.slice(0, 320),
          entry.id,
        ]);
      await cutRow();
      const updatedAt = async () =>
        (
          await sqlEm().execute<{ updated_at: unknown }[]>(
            'select updated_at from swl_catalog where id = ?',
            [entry.id],
          )
        )[0]?.updated_at;
      const stamp = await updatedAt();
      expect(await ids('author omega')).toEqual([]);
      expect(await ids(title.slice(-4))).toEqual([]);

      for (const name of ['Filler A', 'Filler B', 'Filler C']) {
        await catalog().createEntry(staff, { titleOrName: name, category: 'general' });
      }
      const entries = await entryCount();
      expect(entries).toBeGreaterThan(3);
      // Several batches of 3 (keyset by id), each its own transaction.
      expect(await refreshCatalogSearchText(t.orm.em.fork(), { batchSize: 3 })).toEqual({
        scanned: entries,
        updated: 1,
      });
      expect(await ids('author omega')).toEqual([entry.id]);
      expect(await ids(`${title.slice(-4)} old-320`)).toEqual([entry.id]);
      expect((await t.orm.em.fork().findOneOrFail(CatalogEntry, entry.id)).searchText).toBe(full);
      expect(await updatedAt()).toEqual(stamp); // the entry itself did not change
      expect(await refreshCatalogSearchText(t.orm.em.fork())).toEqual({ scanned: entries, updated: 0 });

      // Through a statement runner, as a migration calls it: (sql, params) => this.execute(sql, params).
      await cutRow();
      const connection = sqlEm().getConnection();
      const runner: SqlStatementRunner = (sql, params) => connection.execute(sql, params);
      expect(await refreshCatalogSearchText(runner, { batchSize: 1 })).toEqual({
        scanned: entries,
        updated: 1,
      });
      expect(await ids('author omega')).toEqual([entry.id]);
      expect(await refreshCatalogSearchText(runner)).toEqual({ scanned: entries, updated: 0 });
      await expectSwlError(refreshCatalogSearchText(runner, { batchSize: 0 }), 'VALIDATION_FAILED');
    });
  });

  it('reports a code taken by another entry’s copy as DUPLICATE from the bulk insert, writing nothing', async () => {
    const lamp = await catalog().createEntry(staff, {
      titleOrName: 'Lámpara',
      category: 'general',
      copies: 1,
    });
    const other = await catalog().createEntry(staff, { titleOrName: 'Otra', category: 'general' });
    const em = t.orm.em.fork();
    em.create(ItemInstance, { catalogEntry: other.entry.id, sequence: 1, code: `LAM-${lamp.entry.id}-2` });
    await em.flush();
    const before = await rowCounts(t.orm);
    const error = await expectSwlError(
      catalog().addCopies(staff, { catalogEntryId: lamp.entry.id, count: 1 }),
      'DUPLICATE',
    );
    expect(String(error.details.constraint)).toMatch(/code/);
    expect(await rowCounts(t.orm)).toEqual(before);
  });

  describe('copy state machine', () => {
    let entryId: number;
    let copyIds: number[];

    beforeAll(async () => {
      const { entry, copies } = await catalog().createEntry(staff, {
        titleOrName: 'Televisor',
        category: 'premium',
        copies: 5,
      });
      entryId = entry.id;
      copyIds = copies.map((c) => c.id);
    });

    const eventsOf = async (copyId: number) =>
      t.orm.em.fork().find(CopyEvent, { copy: copyId }, { orderBy: { id: 'asc' } });

    it('runs every allowed direct transition, each with a CopyEvent row and a bus event', async () => {
      const id = copyIds[0]!;
      const steps = [
        ['sendToMaintenance', 'mantenimiento', 'sent_to_maintenance'],
        ['repair', 'disponible', 'repaired'],
        ['markLost', 'perdido', 'marked_lost'],
        ['markFound', 'disponible', 'found'],
        ['markLost', 'perdido', 'marked_lost'],
        ['sendToMaintenance', 'mantenimiento', 'sent_to_maintenance'],
        ['repair', 'disponible', 'repaired'],
      ] as const;
      let previous: CopyStatus = 'disponible';
      let version = (await t.orm.em.fork().findOneOrFail(ItemInstance, id)).version;
      for (const [operation, to, type] of steps) {
        clock.advance({ minutes: 1 });
        const rowsBefore = (await eventsOf(id)).length;
        const publishedBefore = published.length;
        const copy = await catalog()[operation](staff, { copyId: id, note: `${operation} note` });
        expect(copy.status).toBe(to);
        expect(copy.version).toBe(version + 1);
        version = copy.version;
        const rows = await eventsOf(id);
        expect(rows).toHaveLength(rowsBefore + 1);
        const last = rows.at(-1)!;
        expect([last.type, last.fromStatus, last.toStatus]).toEqual([type, previous, to]);
        expect(last.at.getTime()).toBe(clock.now().getTime());
        expect(last.note).toBe(`${operation} note`);
        expect(published.slice(publishedBefore)).toEqual([
          {
            kind: 'copy',
            id: last.id,
            copyId: id,
            type,
            from: previous,
            to,
            loanId: null,
            actorId: staff.id,
            at: clock.now(),
            note: `${operation} note`,
          },
        ]);
        previous = to;
      }
      const history = await catalog().copyHistory(staff, { copyId: id });
      expect(history.map((h) => h.type)).toEqual(['created', ...steps.map((s) => s[2])]);
    });

    it('refuses disallowed transitions with INVALID_TRANSITION and writes nothing', async () => {
      const [available, , , , lentId] = copyIds as [number, number, number, number, number];
      const em = t.orm.em.fork();
      const lent = await em.findOneOrFail(ItemInstance, lentId);
      lent.status = 'prestado';
      await em.flush();
      const before = await rowCounts(t.orm);
      const publishedBefore = published.length;

      const cases: Array<[keyof CatalogService & string, number, string, string]> = [
        ['repair', available, 'disponible', 'disponible'],
        ['markFound', available, 'disponible', 'disponible'],
        ['sendToMaintenance', lentId, 'prestado', 'mantenimiento'],
        ['markLost', lentId, 'prestado', 'perdido'],
        ['repair', lentId, 'prestado', 'disponible'],
        ['markFound', lentId, 'prestado', 'disponible'],
      ];
      for (const [operation, copyId, from, to] of cases) {
        const svc = catalog() as unknown as Record<string, (a: Actor, i: unknown) => Promise<unknown>>;
        const error = await expectSwlError(svc[operation]!(staff, { copyId }), 'INVALID_TRANSITION');
        expect(error.details).toMatchObject({ entity: 'copy', from, to, operation, copyId });
      }
      // mantenimiento → perdido is not a direct operation either.
      await catalog().sendToMaintenance(staff, { copyId: available });
      await expectSwlError(catalog().markLost(staff, { copyId: available }), 'INVALID_TRANSITION');
      await catalog().repair(staff, { copyId: available });

      const after = await rowCounts(t.orm);
      expect(after.swl_instance_event).toBe(before.swl_instance_event! + 2);
      expect(published.length).toBe(publishedBefore + 2);
      expect((await t.orm.em.fork().findOneOrFail(ItemInstance, lentId)).status).toBe('prestado');
      expect((await catalog().getEntry(staff, { catalogEntryId: entryId })).counts.onLoan).toBe(1);
    });

    it('refuses a stale expectedVersion with CONFLICT', async () => {
      const id = copyIds[1]!;
      const current = (await t.orm.em.fork().findOneOrFail(ItemInstance, id)).version;
      await expectSwlError(
        catalog().sendToMaintenance(staff, { copyId: id, expectedVersion: current + 1 }),
        'CONFLICT',
      );
      const ok = await catalog().sendToMaintenance(staff, {
        copyId: id,
        expectedVersion: current,
        condition: 'pantalla rayada',
      });
      expect(ok.condition).toBe('pantalla rayada');
      expect(ok.status).toBe('mantenimiento');
    });

    it('lets only one of two concurrent changes of one copy win', async () => {
      const id = copyIds[2]!;
      const results = await Promise.allSettled([
        catalog().markLost(staff, { copyId: id }),
        catalog().sendToMaintenance(staff, { copyId: id }),
      ]);
      const ok = results.filter((r) => r.status === 'fulfilled');
      const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
      // disponible → perdido then perdido → mantenimiento is also a valid order; otherwise the
      // loser sees the winner's status (INVALID_TRANSITION) or a lost race (CONFLICT).
      expect(ok.length).toBeGreaterThanOrEqual(1);
      for (const f of failed) {
        expect(f.reason).toBeInstanceOf(SwlError);
        expect(['INVALID_TRANSITION', 'CONFLICT']).toContain((f.reason as SwlError).code);
      }
      const rows = await eventsOf(id);
      expect(rows.length).toBe(1 + ok.length);
    });
  });

  it('numbers concurrent addCopies one after the other without collisions', async () => {
    const { entry } = await catalog().createEntry(staff, {
      titleOrName: 'Cable HDMI',
      category: 'premium',
      copies: 3,
    });
    const results = await Promise.all([
      catalog().addCopies(staff, { catalogEntryId: entry.id, count: 20 }),
      catalog().addCopies(admin, { catalogEntryId: entry.id, count: 20 }),
      catalog().addCopies(staff, { catalogEntryId: entry.id, count: 7 }),
    ]);
    expect(results.map((r) => r.copies.length)).toEqual([20, 20, 7]);
    const stored = await copiesOf(entry.id);
    expect(stored.map((c) => c.sequence)).toEqual(Array.from({ length: 50 }, (_, k) => k + 1));
    expect(stored.map((c) => c.code)).toEqual(
      Array.from({ length: 50 }, (_, k) => `CAB-${entry.id}-${k + 1}`),
    );
  });

  it('refuses students and teachers every write with FORBIDDEN, writing nothing', async () => {
    const teacher = await createTestUser(t.orm, 'teacher');
    const gone = await createTestUser(t.orm, 'staff', { active: false });
    const { entry, copies } = await catalog().createEntry(staff, {
      titleOrName: 'Regla',
      category: 'general',
      copies: 1,
    });
    const before = await rowCounts(t.orm);
    for (const who of [student, teacher]) {
      await expectSwlError(
        catalog().createEntry(who, { titleOrName: 'X', category: 'general' }),
        'FORBIDDEN',
      );
      await expectSwlError(catalog().addCopies(who, { catalogEntryId: entry.id, count: 1 }), 'FORBIDDEN');
      await expectSwlError(
        catalog().updateEntry(who, { catalogEntryId: entry.id, titleOrName: 'Y' }),
        'FORBIDDEN',
      );
      for (const op of ['sendToMaintenance', 'repair', 'markLost', 'markFound'] as const) {
        await expectSwlError(catalog()[op](who, { copyId: copies[0]!.id }), 'FORBIDDEN');
      }
      await expectSwlError(catalog().copyHistory(who, { copyId: copies[0]!.id }), 'FORBIDDEN');
    }
    // A host that claims a role the user does not have is refused too.
    await expectSwlError(
      catalog().createEntry({ id: student.id, role: 'staff' }, { titleOrName: 'X', category: 'general' }),
      'FORBIDDEN',
    );
    // An inactive staff member is refused.
    await expectSwlError(catalog().createEntry(gone, { titleOrName: 'X', category: 'general' }), 'FORBIDDEN');
    expect(await rowCounts(t.orm)).toEqual(before);
  });

  it('refuses bad input to every command with VALIDATION_FAILED or NOT_FOUND, writing nothing', async () => {
    const { entry, copies } = await catalog().createEntry(staff, {
      titleOrName: 'Calculadora',
      category: 'general',
      copies: 1,
    });
    const copyId = copies[0]!.id;
    const before = await rowCounts(t.orm);
    const svc = () => catalog() as unknown as Record<string, (a: Actor, i: unknown) => Promise<unknown>>;
    const long = 'x'.repeat(151);
    const cases: Array<[string, unknown, 'VALIDATION_FAILED' | 'NOT_FOUND']> = [
      ['createEntry', {}, 'VALIDATION_FAILED'],
      ['createEntry', { titleOrName: '', category: 'general' }, 'VALIDATION_FAILED'],
      ['createEntry', { titleOrName: '   ', category: 'general' }, 'VALIDATION_FAILED'],
      ['createEntry', { titleOrName: long, category: 'general' }, 'VALIDATION_FAILED'],
      ['createEntry', { titleOrName: 'A', category: 'gold' }, 'VALIDATION_FAILED'],
      ['createEntry', { titleOrName: 42, category: 'general' }, 'VALIDATION_FAILED'],
      ['createEntry', { titleOrName: 'A', category: 'general', copies: -1 }, 'VALIDATION_FAILED'],
      ['createEntry', { titleOrName: 'A', category: 'general', copies: 1001 }, 'VALIDATION_FAILED'],
      ['createEntry', { titleOrName: 'A', category: 'general', copies: 1.5 }, 'VALIDATION_FAILED'],
      ['createEntry', { titleOrName: 'A', category: 'general', copies: '3' }, 'VALIDATION_FAILED'],
      ['createEntry', { titleOrName: 'A', category: 'general', replacementCost: -100 }, 'VALIDATION_FAILED'],
      ['createEntry', { titleOrName: 'A', category: 'general', replacementCost: 10.5 }, 'VALIDATION_FAILED'],
      [
        'createEntry',
        { titleOrName: 'A', category: 'general', authorOrBrand: 'y'.repeat(101) },
        'VALIDATION_FAILED',
      ],
      ['createEntry', { titleOrName: 'A\u0000', category: 'general' }, 'VALIDATION_FAILED'],
      ['createEntry', { titleOrName: 'A', category: 'general', isAdmin: true }, 'VALIDATION_FAILED'],
      ['createEntry', null, 'VALIDATION_FAILED'],
      ['addCopies', { catalogEntryId: entry.id, count: 0 }, 'VALIDATION_FAILED'],
      ['addCopies', { catalogEntryId: entry.id, count: -5 }, 'VALIDATION_FAILED'],
      ['addCopies', { catalogEntryId: -1, count: 1 }, 'VALIDATION_FAILED'],
      ['addCopies', { catalogEntryId: entry.id, count: 1, extra: 1 }, 'VALIDATION_FAILED'],
      ['addCopies', { catalogEntryId: 999_999, count: 1 }, 'NOT_FOUND'],
      ['updateEntry', { catalogEntryId: entry.id }, 'VALIDATION_FAILED'],
      ['updateEntry', { catalogEntryId: entry.id, titleOrName: '' }, 'VALIDATION_FAILED'],
      ['updateEntry', { catalogEntryId: entry.id, replacementCost: -1 }, 'VALIDATION_FAILED'],
      ['updateEntry', { catalogEntryId: entry.id, searchText: 'x' }, 'VALIDATION_FAILED'],
      ['updateEntry', { catalogEntryId: 999_999, titleOrName: 'Z' }, 'NOT_FOUND'],
      ['sendToMaintenance', { copyId: 'abc' }, 'VALIDATION_FAILED'],
      ['sendToMaintenance', { copyId, note: 'n'.repeat(501) }, 'VALIDATION_FAILED'],
      ['sendToMaintenance', { copyId, status: 'perdido' }, 'VALIDATION_FAILED'],
      ['sendToMaintenance', { copyId: 999_999 }, 'NOT_FOUND'],
      ['repair', { copyId: 0 }, 'VALIDATION_FAILED'],
      ['markLost', { copyId: 2 ** 31 }, 'VALIDATION_FAILED'],
      ['markFound', { copyId: 999_999 }, 'NOT_FOUND'],
      ['search', { limit: 0 }, 'VALIDATION_FAILED'],
      ['search', { limit: 501 }, 'VALIDATION_FAILED'],
      ['search', { offset: -1 }, 'VALIDATION_FAILED'],
      ['search', { text: 't'.repeat(201) }, 'VALIDATION_FAILED'],
      ['search', { category: 'gold' }, 'VALIDATION_FAILED'],
      ['search', { q: 'x' }, 'VALIDATION_FAILED'],
      ['getEntry', { catalogEntryId: 999_999 }, 'NOT_FOUND'],
      ['getEntry', { catalogEntryId: '1' }, 'VALIDATION_FAILED'],
      ['getCopyByCode', { code: '' }, 'VALIDATION_FAILED'],
      ['getCopyByCode', { code: 'C'.repeat(51) }, 'VALIDATION_FAILED'],
      ['listCopies', { catalogEntryId: 999_999 }, 'NOT_FOUND'],
      ['copyHistory', { copyId: 999_999 }, 'NOT_FOUND'],
    ];
    for (const [method, input, code] of cases) {
      const error = await expectSwlError(svc()[method]!(staff, input), code);
      if (code === 'VALIDATION_FAILED') expect(error.details.issues, method).toBeDefined();
    }
    await expectSwlError(
      svc().createEntry!({ id: 'x', role: 'staff' } as never, { titleOrName: 'A', category: 'general' }),
      'VALIDATION_FAILED',
    );
    expect(await rowCounts(t.orm)).toEqual(before);
  });
});
