/**
 * A week at the lending desk, played on a real database with an injected clock.
 *
 *   npm run example                                   # SQLite file instance/app.db
 *   DATABASE_URL=postgresql://user:pw@host/db npm run example
 *
 * Run it again: the database is reused, nothing is seeded twice, and the week plays again.
 * Set SWL_ADMIN_PASSWORD to choose the default admin's password; otherwise one is generated and
 * printed once, when the admin is created. test/desk-example.test.ts plays the week (twice on the
 * same database) on SQLite and PostgreSQL through {@link playDeskWeek}.
 */
import { fileURLToPath } from 'node:url';
import type { MikroORM } from '@mikro-orm/core';
import {
  type Actor,
  CatalogService,
  initializeDatabase,
  isSwlError,
  LoanService,
  type LoanView,
  ManualClock,
  openSwlOrm,
  ReservationService,
  type ReservationView,
  resolveDatabase,
  SwlEventBus,
  UserService,
  VisitorLogService,
} from 'swl-library';

/** What {@link playDeskWeek} plays on. */
export interface DeskWeekOptions {
  /** The application's ORM; its database is made ready (migrations, seed data) first. */
  orm: MikroORM;
  /** How the first line names the database (default: the ORM's `dbName`). */
  database?: string;
  /** Where the story goes, one line per call (default `console.log`). */
  log?: (line: string) => void;
}

/** Plays the week at the desk on `orm`'s database, always from Monday 2 March 2026, 08:00 in Bogotá. */
export async function playDeskWeek({ orm, database, log = console.log }: DeskWeekOptions): Promise<void> {
  // Monday 2 March 2026, 08:00 in Bogotá (UTC−5).
  const clock = new ManualClock('2026-03-02T13:00:00Z');

  const cop = (minor: number) =>
    (minor / 100).toLocaleString('es-CO', { style: 'currency', currency: 'COP', maximumFractionDigits: 0 });
  const when = (d: Date | null) => (d ? d.toISOString().replace('T', ' ').slice(0, 16) : '—');
  /** The time of day (UTC), midnight of the next day as 24:00. */
  const hm = (d: Date, end = false) => {
    const t = d.toISOString().slice(11, 16);
    return end && t === '00:00' ? '24:00' : t;
  };
  const say = (text: string) => log(`  ${when(clock.now())} UTC  ${text}`);
  const day = (title: string) => log(`\n${title}`);

  function table(rows: Record<string, unknown>[]) {
    if (rows.length === 0) return;
    const keys = Object.keys(rows[0] as object);
    const cells = rows.map((r) => keys.map((k) => String(r[k] ?? '')));
    const widths = keys.map((k, i) => Math.max(k.length, ...cells.map((c) => (c[i] as string).length)));
    const line = (values: string[]) => `  ${values.map((v, i) => v.padEnd(widths[i] as number)).join('  ')}`;
    log(line(keys));
    log(line(widths.map((w) => '─'.repeat(w))));
    for (const c of cells) log(line(c));
  }

  /** Runs a command that the desk expects to be refused, and shows why (with the error's details if asked). */
  async function refused(what: string, run: () => Promise<unknown>, withDetails = false) {
    try {
      await run();
      throw new Error(`${what} was not refused`);
    } catch (error) {
      if (!isSwlError(error)) throw error;
      say(`✗ ${what}: ${error.code} — ${error.message}`);
      if (withDetails) {
        const details = Object.entries(error.details ?? {}).map(([key, value]) => `${key} ${String(value)}`);
        log(`                          ${details.join(', ')}`);
      }
    }
  }

  log(`swl-library — a week at the desk (${database ?? orm.config.get('dbName')})`);
  const init = await initializeDatabase(orm, { clock });
  log(
    `\nDatabase ready: ${init.migrationsApplied.length} migration(s) applied; ` +
      `${init.catalog.created.length} items and ${init.catalog.copiesCreated} copies seeded; ` +
      `${init.policies.created} policies seeded.`,
  );
  if (init.admin.generatedPassword) {
    log(
      `Default admin (document ${init.admin.documentId}) created with this generated password — ` +
        `shown once, must be changed at first sign-in:\n  ${init.admin.generatedPassword}`,
    );
  }

  const events = new SwlEventBus();
  const audit: string[] = [];
  const bookingAudit: string[] = [];
  events.subscribe((e) => {
    if (e.kind === 'loan') audit.push(`loan ${e.loanId} ${e.type}`);
    if (e.kind === 'reservation') bookingAudit.push(`reservation ${e.reservationId} ${e.type}`);
  });
  const em = () => orm.em.fork();
  const services = () => ({
    users: new UserService(em(), { clock, events }),
    catalog: new CatalogService(em(), { clock, events }),
    loans: new LoanService(em(), { clock, events }),
    visits: new VisitorLogService(em(), { clock, events }),
    reservations: new ReservationService(em(), { clock, events }),
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

  const { catalog, loans, visits, reservations } = services();
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

  // Tuesday is booked: the VideoBeams (10 copies, at most 2 per borrower) for classes and the science fair.
  const diana = await person(staff, '52000555', 'Diana Castro', 'teacher', 'Química');
  const pedro = await person(staff, '79000666', 'Pedro Díaz', 'teacher', 'Matemáticas');
  const sofia = await person(staff, '52000777', 'Sofía Mejía', 'teacher', 'Ingeniería de Sistemas');
  say(`Registered teachers ${diana.name}, ${pedro.name} and ${sofia.name}.`);
  const tuesday = (time: string) => new Date(`2026-03-03T${time}:00Z`);
  const book = (who: { actor: Actor }, quantity: number, from: string, to: string, environment: string) =>
    reservations.reserve(who.actor, {
      catalogEntryId: videoBeam.id,
      quantity,
      startsAt: tuesday(from),
      endsAt: tuesday(to),
      environment,
    });
  const carlosBooking = await book(carlos, 2, '08:00', '12:00', 'Aula 204');
  say(
    `${carlos.name} books 2 VideoBeams for Aula 204, Tuesday ${hm(carlosBooking.startsAt)}–${hm(carlosBooking.endsAt)} ` +
      `(booking #${carlosBooking.id}, ${carlosBooking.status}: teachers' bookings wait for staff; ` +
      `held until ${hm(carlosBooking.blocksUntil)} with the buffer).`,
  );
  const theAdmin = { actor: admin, name: 'the admin' };
  const fair = [
    { who: diana, comes: true, booking: await book(diana, 2, '10:00', '12:00', 'Laboratorio 1') },
    { who: pedro, comes: false, booking: await book(pedro, 2, '10:00', '11:00', 'Aula 310') },
    { who: laura, comes: true, booking: await book(laura, 2, '10:00', '12:00', 'Auditorio') },
    { who: theAdmin, comes: false, booking: await book(theAdmin, 1, '10:00', '11:00', 'Sala de Juntas') },
  ];
  say(
    `The science fair books ${fair.reduce((n, f) => n + f.booking.quantity, 0)} more for 10:00: ` +
      `${fair.map((f) => `${f.who.name} ${f.booking.quantity} (#${f.booking.id}, ${f.booking.status})`).join(', ')}.`,
  );
  const toConfirm = [carlosBooking, ...fair.map((f) => f.booking)].filter((b) => b.status === 'solicitada');
  for (const b of toConfirm) await reservations.confirm(staff, { reservationId: b.id });
  say(`${laura.name} confirms the teachers' bookings ${toConfirm.map((b) => `#${b.id}`).join(', ')}.`);
  await refused(
    `${sofia.name} books 2 VideoBeams for Aula 105, Tuesday 10:00–11:00`,
    () => book(sofia, 2, '10:00', '11:00', 'Aula 105'),
    true,
  );
  const sofiaBooking = await book(sofia, 1, '10:00', '11:00', 'Aula 105');
  await reservations.confirm(staff, { reservationId: sofiaBooking.id });
  say(`${sofia.name} takes the one that is left (#${sofiaBooking.id}); ${laura.name} confirms it.`);

  const names = new Map(
    [carlos, diana, pedro, laura, sofia, theAdmin].map((p) => [p.actor.id, p.name] as const),
  );
  const calendar = async (moment: string) => {
    const free = await reservations.availability(staff, {
      catalogEntryId: videoBeam.id,
      from: tuesday('00:00'),
      to: new Date('2026-03-04T00:00:00Z'),
    });
    say(
      `VideoBeams on Tuesday 3 March (UTC), ${moment}: ${free.capacity} copies, at least ${free.minFree} free.`,
    );
    table(
      free.intervals.map((x) => ({ from: hm(x.from), to: hm(x.to, true), booked: x.booked, free: x.free })),
    );
  };

  day('Tuesday');
  clock.advance({ hours: 11 });
  await calendar('before the desk hands anything out');
  const pickup = await reservations.pickUp(staff, { reservationId: carlosBooking.id });
  say(
    `${laura.name} hands ${carlos.name} his booking #${pickup.reservation.id} (${pickup.reservation.status}): ` +
      `loans ${pickup.loans.map((l) => `#${l.id} ${l.copyCode}`).join(' and ')}, ` +
      `both due ${when(carlosBooking.endsAt)}.`,
  );

  clock.advance({ hours: 2 });
  const fairLoans: LoanView[] = [];
  const pickedUp: ReservationView[] = [];
  for (const b of [...fair.filter((f) => f.comes).map((f) => f.booking), sofiaBooking]) {
    const { reservation, loans: made } = await reservations.pickUp(staff, { reservationId: b.id });
    pickedUp.push(reservation);
    fairLoans.push(...made);
  }
  say(
    `${pickedUp
      .map((r) => names.get(r.borrowerId))
      .join(', ')
      .replace(/, ([^,]*)$/, ' and $1')} pick theirs up: ` +
      `${fairLoans.length} more loans (${fairLoans.map((l) => `#${l.id}`).join(', ')}).`,
  );
  clock.advance({ minutes: 30 });
  const sweep = await reservations.recordNoShows(staff);
  const missed = sweep.reservationIds.map((id) => {
    const f = fair.find((x) => x.booking.id === id);
    return `#${id} (${f ? f.who.name : 'another borrower'})`;
  });
  say(
    `Nobody came for ${missed.join(' or ')}: the no-show sweep marks them no_recogida and frees their copies.`,
  );

  clock.advance({ minutes: 30 });
  const sofiaLoan = fairLoans.find((l) => l.borrowerId === sofia.actor.id) as LoanView;
  await loans.return(staff, { loanId: sofiaLoan.id, outcome: 'ok' });
  say(`${sofia.name} brings hers back (#${sofiaLoan.id}).`);

  clock.advance({ hours: 1 });
  const beamsBack = [];
  for (const l of pickup.loans) beamsBack.push(await loans.return(staff, { loanId: l.id, outcome: 'ok' }));
  say(
    `${carlos.name} brings both VideoBeams back (${beamsBack.map((l) => `#${l.id} ${l.status}`).join(', ')}): ` +
      `penalties ${beamsBack.map((l) => cop(l.finalPenalty)).join(' and ')}.`,
  );
  const restBack = fairLoans.filter((l) => l.id !== sofiaLoan.id);
  for (const l of restBack) await loans.return(staff, { loanId: l.id, outcome: 'ok' });
  say(`The science fair's ${restBack.length} come back too.`);
  await calendar('after the returns');

  clock.advance({ hours: 2 });
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

  log('\nAvailability');
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

  log(`\nAudit trail of ${juan.name}'s late loan #${juanMouse.id}`);
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
    log(`\nVisits this week by ${groupBy} (total ${stats.total})`);
    table(stats.rows.map((r) => ({ [groupBy]: r.key, visits: r.visits })));
  }

  const loanEvents = audit.length;
  log(
    `\nSubscribers heard ${loanEvents} loan events and ${bookingAudit.length} reservation events, each after its commit.`,
  );
  const sample: LoanView = trail;
  log(`Done. Loan #${sample.id} is ${sample.status}; run again to replay the week on the same database.`);
}

// Run as a script (npm run example): the database of DATABASE_URL, default instance/app.db.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const database = resolveDatabase();
  const orm = await openSwlOrm();
  try {
    await playDeskWeek({
      orm,
      database: `${database.dialect}: ${database.dialect === 'sqlite' ? database.file : 'DATABASE_URL'}`,
    });
  } finally {
    await orm.close();
  }
}
