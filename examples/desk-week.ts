/**
 * A week at the lending desk, played on a real database with an injected clock.
 *
 *   npm run example                                   # SQLite file instance/app.db
 *   DATABASE_URL=postgresql://user:pw@host/db npm run example
 *
 * Run it again: the database is reused, nothing is seeded twice, and the week plays again.
 * Set SWL_ADMIN_PASSWORD to choose the default admin's password; otherwise one is generated and
 * printed once, when the admin is created.
 */
import {
  type Actor,
  CatalogService,
  initializeDatabase,
  isSwlError,
  LoanService,
  type LoanView,
  ManualClock,
  openSwlOrm,
  resolveDatabase,
  SwlEventBus,
  UserService,
  VisitorLogService,
} from 'swl-library';

// Monday 2 March 2026, 08:00 in Bogotá (UTC−5).
const clock = new ManualClock('2026-03-02T13:00:00Z');
const database = resolveDatabase();
const orm = await openSwlOrm();

const cop = (minor: number) =>
  (minor / 100).toLocaleString('es-CO', { style: 'currency', currency: 'COP', maximumFractionDigits: 0 });
const when = (d: Date | null) => (d ? d.toISOString().replace('T', ' ').slice(0, 16) : '—');
const say = (text: string) => console.log(`  ${when(clock.now())} UTC  ${text}`);
const day = (title: string) => console.log(`\n${title}`);

function table(rows: Record<string, unknown>[]) {
  if (rows.length === 0) return;
  const keys = Object.keys(rows[0] as object);
  const cells = rows.map((r) => keys.map((k) => String(r[k] ?? '')));
  const widths = keys.map((k, i) => Math.max(k.length, ...cells.map((c) => (c[i] as string).length)));
  const line = (values: string[]) => `  ${values.map((v, i) => v.padEnd(widths[i] as number)).join('  ')}`;
  console.log(line(keys));
  console.log(line(widths.map((w) => '─'.repeat(w))));
  for (const c of cells) console.log(line(c));
}

/** Runs a command that the desk expects to be refused, and shows why. */
async function refused(what: string, run: () => Promise<unknown>) {
  try {
    await run();
    throw new Error(`${what} was not refused`);
  } catch (error) {
    if (!isSwlError(error)) throw error;
    say(`✗ ${what}: ${error.code} — ${error.message}`);
  }
}

try {
  console.log(
    `swl-library — a week at the desk (${database.dialect}: ${database.dialect === 'sqlite' ? database.file : 'DATABASE_URL'})`,
  );
  const init = await initializeDatabase(orm, { clock });
  console.log(
    `\nDatabase ready: ${init.migrationsApplied.length} migration(s) applied; ` +
      `${init.catalog.created.length} items and ${init.catalog.copiesCreated} copies seeded; ` +
      `${init.policies.created} policies seeded.`,
  );
  if (init.admin.generatedPassword) {
    console.log(
      `Default admin (document ${init.admin.documentId}) created with this generated password — ` +
        `shown once, must be changed at first sign-in:\n  ${init.admin.generatedPassword}`,
    );
  }

  const events = new SwlEventBus();
  const audit: string[] = [];
  events.subscribe((e) => {
    if (e.kind === 'loan') audit.push(`loan ${e.loanId} ${e.type}`);
  });
  const em = () => orm.em.fork();
  const services = () => ({
    users: new UserService(em(), { clock, events }),
    catalog: new CatalogService(em(), { clock, events }),
    loans: new LoanService(em(), { clock, events }),
    visits: new VisitorLogService(em(), { clock, events }),
  });
  const admin: Actor = { id: init.admin.id, role: 'admin' };

  /** Registers a user once; on a re-run finds the one registered before. */
  async function person(
    actor: Actor,
    documentId: string,
    fullName: string,
    role: Actor['role'],
    programName?: string,
  ) {
    const { users } = services();
    const existing = (await users.listUsers(actor, { text: documentId })).items.find(
      (u) => u.documentId === documentId,
    );
    const user =
      existing ??
      (await users.createUser(actor, {
        documentId,
        fullName,
        role,
        programName,
        email: `${documentId}@example.edu`,
        password: `${fullName} library 2026`,
      }));
    return { actor: { id: user.id, role: user.role } as Actor, name: user.fullName, documentId };
  }

  day('Monday');
  const laura = await person(admin, '52000111', 'Laura Gómez', 'staff');
  const staff = laura.actor;
  say(`Laura Gómez runs the desk today (staff #${staff.id}).`);
  const carlos = await person(staff, '79000222', 'Carlos Ruiz', 'teacher', 'Física');
  const ana = await person(staff, '1010000333', 'Ana Pérez', 'student', 'Ingeniería de Sistemas');
  const juan = await person(staff, '1010000444', 'Juan Torres', 'student', 'Diseño Industrial');
  say(`Registered: teacher ${carlos.name}, students ${ana.name} and ${juan.name}.`);

  const { catalog, loans, visits } = services();
  for (const [who, role, activity] of [
    [ana, 'student', 'estudio'],
    [juan, 'student', 'préstamo'],
    [carlos, 'teacher', 'préstamo'],
  ] as const) {
    await visits.recordVisit(staff, {
      visitorName: who.name,
      visitorId: who.documentId,
      role,
      activity,
      userId: who.actor.id,
    });
  }
  await visits.recordVisit(staff, {
    visitorName: 'María Ospina',
    visitorId: 'CE-889900',
    role: 'visitor',
    activity: 'consulta',
  });
  say('Four visits logged at the entrance.');

  const find = async (title: string) => {
    const entry = (await catalog.search(staff, { text: title })).items.find((e) => e.titleOrName === title);
    if (!entry) throw new Error(`${title} is not in the catalog`);
    return entry;
  };
  const videoBeam = await find('VideoBeam');
  const mouse = await find('Mouse USB');
  const hdmi = await find('Cable HDMI');
  const tv = await find('Televisor');

  const beamLoan = await loans.request(carlos.actor, {
    catalogEntryId: videoBeam.id,
    environment: 'Aula 204',
  });
  say(`${carlos.name} asks for a VideoBeam for Aula 204 (request #${beamLoan.id}).`);
  const thirdMouse = await catalog.getCopyByCode(ana.actor, { code: `MOU-${mouse.id}-3` });
  const anaLoan = await loans.request(ana.actor, { copyId: thirdMouse.id });
  say(`${ana.name} asks for the mouse ${thirdMouse.code} by its code (request #${anaLoan.id}).`);
  const juanLoan = await loans.request(juan.actor, { catalogEntryId: mouse.id });
  const juanDuplicate = await loans.request(juan.actor, { catalogEntryId: mouse.id });
  say(`${juan.name} asks for a mouse — twice, by mistake (#${juanLoan.id}, #${juanDuplicate.id}).`);
  await refused(`${juan.name} asks for a Televisor`, () =>
    loans.request(juan.actor, { catalogEntryId: tv.id }),
  );
  await refused(`${carlos.name} asks for an HDMI cable without saying where`, () =>
    loans.request(carlos.actor, { catalogEntryId: hdmi.id }),
  );

  clock.advance({ hours: 1 });
  const beam = await loans.approve(staff, { loanId: beamLoan.id });
  say(`Approved #${beam.id}: ${beam.copyCode}, due ${when(beam.dueDate)} (premium: 8 hours).`);
  const anaMouse = await loans.approve(staff, { loanId: anaLoan.id });
  say(`Approved #${anaMouse.id}: ${anaMouse.copyCode}, due ${when(anaMouse.dueDate)} (students: 3 days).`);
  const juanMouse = await loans.approve(staff, { loanId: juanLoan.id });
  say(
    `Approved #${juanMouse.id}: ${juanMouse.copyCode} (any available copy), due ${when(juanMouse.dueDate)}.`,
  );
  await loans.reject(staff, {
    loanId: juanDuplicate.id,
    reason: 'Solicitud duplicada: ya tienes un mouse prestado',
  });
  say(`Rejected #${juanDuplicate.id} with a reason.`);

  clock.advance({ hours: 7 });
  const beamBack = await loans.return(staff, { loanId: beam.id, outcome: 'ok' });
  say(`${carlos.name} brings the VideoBeam back on time: penalty ${cop(beamBack.finalPenalty)}.`);

  day('Tuesday');
  clock.advance({ hours: 17 });
  await visits.recordVisit(staff, {
    visitorName: ana.name,
    visitorId: ana.documentId,
    role: 'student',
    activity: 'estudio',
    userId: ana.actor.id,
  });
  const renewed = await loans.renew(ana.actor, { loanId: anaMouse.id });
  say(`${ana.name} renews her mouse: due ${when(anaMouse.dueDate)} → ${when(renewed.dueDate)}.`);
  await refused(`${ana.name} renews it again`, () => loans.renew(ana.actor, { loanId: anaMouse.id }));

  day('Wednesday');
  clock.advance({ days: 1 });
  await visits.recordVisit(staff, {
    visitorName: carlos.name,
    visitorId: carlos.documentId,
    role: 'teacher',
    activity: 'préstamo',
    userId: carlos.actor.id,
  });
  const cable = await loans.request(carlos.actor, { catalogEntryId: hdmi.id, environment: 'Laboratorio 3' });
  const cableOut = await loans.approve(staff, { loanId: cable.id });
  say(`${carlos.name} takes HDMI cable ${cableOut.copyCode} to Laboratorio 3.`);
  clock.advance({ hours: 3 });
  await loans.return(staff, { loanId: cable.id, outcome: 'damaged', condition: 'conector doblado' });
  say(`The cable comes back damaged: ${cableOut.copyCode} goes to maintenance.`);

  day('Friday');
  clock.advance({ days: 2, hours: 2, minutes: 30 });
  await visits.recordVisit(staff, {
    visitorName: juan.name,
    visitorId: juan.documentId,
    role: 'student',
    activity: 'devolución',
    userId: juan.actor.id,
  });
  const late = await loans.return(staff, { loanId: juanMouse.id, outcome: 'ok' });
  const hoursLate = Math.round((late.returnDate!.getTime() - late.dueDate!.getTime()) / 360_000) / 10;
  say(
    `${juan.name} returns his mouse ${hoursLate} hours late: fine ${cop(late.overdueFine)} (1.000 COP/day, 60 min grace).`,
  );
  await refused(`${juan.name} asks for another mouse`, () =>
    loans.request(juan.actor, { catalogEntryId: mouse.id }),
  );
  await loans.settlePenalty(staff, { loanId: late.id, settlement: 'paid', note: 'Pagado en caja' });
  say(`${juan.name} pays ${cop(late.finalPenalty)}; the block is lifted.`);
  const again = await loans.request(juan.actor, { catalogEntryId: mouse.id });
  await loans.approve(staff, { loanId: again.id });
  say(`${juan.name}'s new request #${again.id} is approved.`);
  await catalog.repair(staff, { copyId: cableOut.copyId as number, note: 'conector reemplazado' });
  say(`HDMI cable ${cableOut.copyCode} repaired and back on the shelf.`);

  day('Saturday');
  clock.advance({ hours: 20 });
  await loans.return(staff, { loanId: anaMouse.id });
  await loans.return(staff, { loanId: again.id });
  say('The last mice come back; every loan of the week is closed.');

  console.log('\nAvailability');
  const shelf = await catalog.search(staff, { limit: 20 });
  table(
    shelf.items.map((e) => ({
      item: e.titleOrName,
      category: e.category,
      available: e.counts.available,
      'on loan': e.counts.onLoan,
      maintenance: e.counts.maintenance,
      lost: e.counts.lost,
      total: e.counts.total,
    })),
  );

  console.log(`\nAudit trail of ${juan.name}'s late loan #${juanMouse.id}`);
  const trail = await loans.getLoan(staff, { loanId: juanMouse.id });
  table(
    trail.events.map((e) => ({
      at: when(e.at),
      event: e.type,
      from: e.from ?? '—',
      to: e.to,
      by: e.actorId,
      details:
        e.type === 'returned'
          ? `fine ${cop(Number((e.data?.fine as { amount?: number } | undefined)?.amount ?? 0))}`
          : e.type === 'penalty_settled'
            ? String(e.data?.settlement)
            : '',
    })),
  );

  const week = { from: '2026-03-02T00:00:00Z', to: '2026-03-09T00:00:00Z' } as const;
  for (const groupBy of ['day', 'role', 'activity'] as const) {
    const stats = await visits.statistics(staff, { ...week, groupBy });
    console.log(`\nVisits this week by ${groupBy} (total ${stats.total})`);
    table(stats.rows.map((r) => ({ [groupBy]: r.key, visits: r.visits })));
  }

  const loanEvents = audit.length;
  console.log(`\nSubscribers heard ${loanEvents} loan events, each after its commit.`);
  const sample: LoanView = trail;
  console.log(
    `Done. Loan #${sample.id} is ${sample.status}; run again to replay the week on the same database.`,
  );
} finally {
  await orm.close();
}
