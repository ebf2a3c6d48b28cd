import { type EntityManager, LockMode } from '@mikro-orm/core';
import { z } from 'zod';
import { type Clock, systemClock } from '../clock.ts';
import { bindClock } from '../db/clock-context.ts';
import { isPostgres } from '../db/dialect.ts';
import { IdempotencyKey } from '../entities/idempotency-key.entity.ts';
import { SwlError } from '../errors.ts';
import type { SwlDomainEvent, SwlEventBus } from '../events.ts';
import { compiled } from '../kernel/compiled.ts';
import { kyselyOf, toBool } from '../kernel/db.ts';
import { type TransitionScope, WriteBatch } from '../kernel/writes.ts';
import { type Actor, ActorSchema, assertCan, type Capability } from '../permissions.ts';
import { parseInput } from '../validation.ts';
import { afterCommit, watchTransactions } from './after-commit.ts';
import { watchRowIds } from './id-ceiling.ts';
import { findStoredResult, fingerprintOf, type IdempotentCall, storeResult } from './idempotency.ts';
import { convertDriverError, toSwlError } from './translate-error.ts';

/** Moved to src/validation.ts (public since issue 13); re-exported for the services. @internal */
export { parseInput };

/**
 * Options every service takes.
 */
export interface ServiceOptions {
  /** Time source (default: the system clock). All recorded instants come from it. */
  clock?: Clock;
  /** Where domain events go after commit (default: nowhere). Share one bus across services. */
  events?: SwlEventBus;
}

/**
 * What the pipeline checks before a command or query touches the database.
 * @internal
 */
export interface QuerySpec<S extends z.ZodType = z.ZodType> {
  /** The capability the acting role needs (checked after the actor is validated), or null. */
  capability: Capability | null;
  /** The input schema (`VALIDATION_FAILED`). */
  input: S;
  /** Further checks of the valid input against the actor, before any read (e.g. acting for another borrower). */
  authorize?: (actor: Actor, input: z.output<S>) => void;
}

/**
 * A command: a {@link QuerySpec} with the name its idempotency records are stored under.
 * @internal
 */
export interface CommandSpec<S extends z.ZodType = z.ZodType, P = undefined> extends QuerySpec<S> {
  /** e.g. `loan.approve`. */
  name: string;
  /**
   * Slow work on the valid input that must not hold the transaction (hashing a password): runs
   * after the checks, before the transaction opens; its result is `scope.prepared`.
   */
  prepare?: (actor: Actor, input: z.output<S>) => Promise<P>;
  /**
   * Runs in the transaction before the acting user is loaded: for rows the actor check itself
   * depends on (the user commands lock every active admin first, so two admins demoting each other
   * cannot both pass the check).
   */
  beforeActor?: (scope: CommandScope<z.output<S>, P>) => Promise<void>;
  /** Makes a translated error more specific (e.g. which unique field a `DUPLICATE` is about). */
  mapError?: (error: SwlError) => SwlError;
}

/**
 * The `authorize` step of a command or read that acts on the actor's own records by default and on
 * `input.borrowerId`'s when given: another borrower's needs `anyCapability`.
 * @throws SwlError `FORBIDDEN`
 * @internal
 */
export function unlessOwn(anyCapability: Capability) {
  return (actor: Actor, input: { borrowerId?: number | undefined }): void => {
    if ((input.borrowerId ?? actor.id) !== actor.id) assertCan(actor, anyCapability);
  };
}

/** Declares a command (keeps the schema's type for `authorize`). @internal */
export function defineCommand<S extends z.ZodType, P = undefined>(
  spec: CommandSpec<S, P>,
): CommandSpec<S, P> {
  return spec;
}

/** Declares a query (keeps the schema's type for `authorize`). @internal */
export function defineQuery<S extends z.ZodType>(spec: QuerySpec<S>): QuerySpec<S> {
  return spec;
}

/**
 * What a command body gets: the acting user and input (both valid), its transaction (as an
 * EntityManager and as typed Kysely), its instant, its write batch and its event queue.
 * @internal
 */
export interface CommandScope<I = unknown, P = unknown> extends TransitionScope {
  /** The acting user: validated, and loaded (exists, active, has the claimed role). */
  actor: Actor;
  /** The parsed input. */
  input: I;
  /** What the spec's `prepare` returned (undefined without one). */
  prepared: P;
  /** EntityManager bound to the command's transaction. */
  em: EntityManager;
  /**
   * The command's instant (UTC), fixed by the first call: the clock's reading, but never earlier
   * than any of `floors` (the last instants recorded on the rows the command changes), so a clock
   * set back can never write a transition before its predecessor. Call it once the command holds
   * its locks (on PostgreSQL, after `FOR UPDATE`; SQLite holds the write lock from `BEGIN
   * IMMEDIATE`), so commands serialized by a lock record increasing instants.
   */
  instant(...floors: Array<Date | null | undefined>): Date;
  /** `instant()` with no floors: the command's instant (fixed on first read). */
  readonly now: Date;
}

/**
 * Shared plumbing of the services — one pipeline for every command, in this order: input and
 * actor validation, the capability check (both before touching the database), the transaction on
 * the caller's EntityManager (joining a host transaction as a savepoint), the idempotency record,
 * loading the acting user, the body, driver-error translation, and publishing the events after the
 * outermost commit. Queries take the same path without the transaction.
 * @internal
 */
export abstract class ServiceBase {
  protected readonly em: EntityManager;
  protected readonly clock: Clock;
  protected readonly events: SwlEventBus | undefined;

  constructor(em: EntityManager, options: ServiceOptions = {}) {
    this.em = em;
    this.clock = options.clock ?? systemClock;
    this.events = options.events;
    watchTransactions(em);
    watchRowIds(em);
  }

  protected get postgres(): boolean {
    return isPostgres(this.em);
  }

  /**
   * Runs the command `spec` with `body` atomically in `em.transactional()` on the caller's
   * EntityManager. With an `idempotencyKey` in the input, a result already stored under it is
   * returned instead (nothing written, no event), and a new result is stored under it in the same
   * transaction; when the command fails, the key is looked up once more, so a repeat that lost a
   * race with its first try, or whose first try committed before the connection dropped, still
   * gets the first result.
   */
  protected async command<S extends z.ZodType, P, T>(
    spec: CommandSpec<S, P>,
    actor: unknown,
    input: unknown,
    body: (scope: CommandScope<z.output<S>, P>) => Promise<T>,
  ): Promise<T> {
    const { actor: a, input: i } = this.#authorize(spec, actor, input);
    const prepared = (spec.prepare ? await spec.prepare(a, i) : undefined) as P;
    return this.#run(spec, a, i, prepared, idempotencyOf(spec.name, a, i), body);
  }

  async #run<S extends z.ZodType, P, T>(
    spec: CommandSpec<S, P>,
    a: Actor | null,
    i: z.output<S>,
    prepared: P,
    idempotency: IdempotentCall | undefined,
    body: (scope: CommandScope<z.output<S>, P>) => Promise<T>,
  ): Promise<T> {
    const events: Array<() => SwlDomainEvent> = [];
    const postgres = this.postgres;
    const fingerprint = idempotency ? fingerprintOf(idempotency) : '';
    let replayed = false;
    let result: T;
    try {
      result = await this.em.transactional(
        async (em) => {
          const instant = new CommandInstant(this.clock);
          bindClock(em, instant);
          if (idempotency) {
            const stored = await findStoredResult<T>(em, idempotency, fingerprint);
            if (stored) {
              replayed = true;
              return stored.result;
            }
          }
          const db = kyselyOf(em);
          const scope: CommandScope<z.output<S>, P> = {
            actor: a as Actor,
            input: i,
            prepared,
            em,
            db,
            postgres,
            writes: new WriteBatch(db, postgres),
            instant: (...floors) => instant.take(floors),
            get now() {
              return instant.take([]);
            },
            emit: (event) => events.push(event),
          };
          await spec.beforeActor?.(scope);
          if (a) await loadActor(em, a);
          const value = await body(scope);
          await scope.writes.run();
          if (idempotency) {
            em.create(IdempotencyKey, {
              key: idempotency.key,
              command: idempotency.command,
              actor: idempotency.actorId,
              fingerprint,
              result: storeResult(value),
              createdAt: instant.now(),
            });
            await em.flush();
          }
          return value;
        },
        { clear: true },
      );
    } catch (error) {
      if (idempotency && !isSwlErrorCode(error, 'IDEMPOTENCY_KEY_REUSED')) {
        const stored = await this.#read((em) => findStoredResult<T>(em, idempotency, fingerprint)).catch(
          (lookupError: unknown) => {
            if (isSwlErrorCode(lookupError, 'IDEMPOTENCY_KEY_REUSED')) throw lookupError;
            return undefined;
          },
        );
        if (stored) return stored.result;
      }
      const translated = toSwlError(convertDriverError(this.em, error));
      throw spec.mapError ? spec.mapError(translated) : translated;
    }
    if (replayed) return result;
    if (events.length > 0 && this.events) {
      const bus = this.events;
      const built = events.map((build) => build());
      afterCommit(this.em, () => bus.publish(built));
    }
    return result;
  }

  /**
   * Runs a command that has no acting user (e.g. upgrading a password hash at sign-in) through the
   * same pipeline as {@link command}: transaction, driver-error translation, after-commit events.
   * `scope.actor` is not set.
   */
  protected async commandWithoutActor<T>(
    name: string,
    body: (scope: CommandScope<undefined, undefined>) => Promise<T>,
  ): Promise<T> {
    const spec: CommandSpec<z.ZodUndefined> = { name, capability: null, input: z.undefined() };
    return this.#run(spec, null, undefined, undefined, undefined, body);
  }

  /**
   * Runs the query `spec`: validation and capability first, then `body` after the acting user is
   * loaded, translating driver errors. Outside a transaction it opens none; inside the caller's
   * open transaction it reads in it (SQLite has one connection, which that transaction holds: a
   * read beside it would wait for it forever).
   */
  protected async query<S extends z.ZodType, T>(
    spec: QuerySpec<S>,
    actor: unknown,
    input: unknown,
    body: (em: EntityManager, actor: Actor, input: z.output<S>) => Promise<T>,
  ): Promise<T> {
    const { actor: a, input: i } = this.#authorize(spec, actor, input);
    return this.#read(async (em) => {
      await loadActor(em, a);
      return body(em, a, i);
    });
  }

  /** A read without an acting user (sign-in), on a fork as {@link query} reads; driver errors translated. */
  protected async anonymousRead<T>(body: (em: EntityManager) => Promise<T>): Promise<T> {
    return this.#read(body);
  }

  #authorize<S extends z.ZodType>(spec: QuerySpec<S>, actor: unknown, input: unknown) {
    const a = parseInput(ActorSchema, actor);
    if (spec.capability) assertCan(a, spec.capability);
    const i = parseInput(spec.input, input);
    spec.authorize?.(a, i);
    return { actor: a, input: i };
  }

  async #read<T>(body: (em: EntityManager) => Promise<T>): Promise<T> {
    const em = this.em.fork({ clear: true, keepTransactionContext: true });
    try {
      return await body(em);
    } catch (error) {
      throw toSwlError(convertDriverError(em, error));
    }
  }
}

/** The idempotency record of a command when its input carries an `idempotencyKey`. */
function idempotencyOf(command: string, actor: Actor, input: unknown): IdempotentCall | undefined {
  const key = (input as { idempotencyKey?: unknown } | null)?.idempotencyKey;
  if (typeof key !== 'string') return undefined;
  return { key, command, actorId: actor.id, input: input as IdempotentCall['input'] };
}

/** The instant of one command: the clock read once, raised to the given floors. */
class CommandInstant implements Clock {
  readonly #clock: Clock;
  #at: number | undefined;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  take(floors: ReadonlyArray<Date | null | undefined>): Date {
    if (this.#at === undefined) {
      let ms = this.#clock.now().getTime();
      for (const floor of floors) {
        const f = floor?.getTime();
        if (f !== undefined && f > ms) ms = f;
      }
      this.#at = ms;
    }
    return new Date(this.#at);
  }

  now(): Date {
    return this.take([]);
  }
}

function isSwlErrorCode(error: unknown, code: SwlError['code']): boolean {
  return error instanceof SwlError && error.code === code;
}

/**
 * Checks the acting user: it must exist, be active and have the role the host claimed. One typed
 * Kysely read on `em`'s transaction (or connection).
 * @throws SwlError `FORBIDDEN`
 */
async function loadActor(em: EntityManager, actor: Actor): Promise<void> {
  const db = kyselyOf(em);
  const query = compiled(db, isPostgres(em), 'actor', [actor.id], (db, id) =>
    db.selectFrom('swl_user').select(['role', 'active']).where('id', '=', id),
  );
  const user = (await db.executeQuery(query)).rows[0];
  if (!user || !toBool(user.active) || user.role !== actor.role) {
    throw SwlError.forbidden('the acting user is unknown, inactive, or does not have the claimed role', {
      actorId: actor.id,
    });
  }
}

/** Locks `entity`'s row for update on PostgreSQL (a no-op on SQLite, where writers are serialized). */
export function lockFor(postgres: boolean): { lockMode?: LockMode } {
  return postgres ? { lockMode: LockMode.PESSIMISTIC_WRITE } : {};
}
