import { type EntityManager, LockMode } from '@mikro-orm/core';
import type { z } from 'zod';
import { type Clock, systemClock } from '../clock.ts';
import { bindClock } from '../db/clock-context.ts';
import { isPostgres } from '../db/dialect.ts';
import { IdempotencyKey } from '../entities/idempotency-key.entity.ts';
import { User } from '../entities/user.entity.ts';
import { SwlError } from '../errors.ts';
import type { SwlDomainEvent, SwlEventBus } from '../events.ts';
import { type Actor, ActorSchema, assertCan, type Capability } from '../permissions.ts';
import { afterCommit, watchTransactions } from './after-commit.ts';
import { watchRowIds } from './id-ceiling.ts';
import { findStoredResult, fingerprintOf, type IdempotentCall, storeResult } from './idempotency.ts';
import { toSwlError } from './translate-error.ts';

/**
 * Options every service takes.
 */
export interface ServiceOptions {
  /** Time source (default: the system clock). All recorded instants come from it. */
  clock?: Clock;
  /** Where domain events go after commit (default: nowhere). Share one bus across services. */
  events?: SwlEventBus;
}

/** What a command body gets: its transactional EntityManager, its instant, and helpers. */
export interface CommandScope {
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
  /** True on PostgreSQL (row locks are taken there; SQLite serializes writers with BEGIN IMMEDIATE). */
  postgres: boolean;
  /** Queue a domain event; it is published after the outermost commit. Pass a function to build it after flush (ids). */
  emit(event: () => SwlDomainEvent): void;
  /** Loads the acting user and checks it is active and still has the role it claims. */
  loadActor(actor: Actor): Promise<User>;
}

/**
 * Shared plumbing of the services: validation, the capability check before any read, the
 * transaction on the caller's EntityManager (joining a host transaction as a savepoint),
 * driver-error translation and after-commit events.
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

  /** Validates `actor` and `input`, then checks `capability` — all before touching the database. */
  protected authorize<S extends z.ZodType>(
    actor: unknown,
    capability: Capability | null,
    schema: S,
    input: unknown,
  ): { actor: Actor; input: z.output<S> } {
    const a = parseInput(ActorSchema, actor);
    if (capability) assertCan(a, capability);
    return { actor: a, input: parseInput(schema, input) };
  }

  /** The idempotency record of a command when its input carries an `idempotencyKey`. */
  protected idempotent(
    command: string,
    actor: Actor,
    input: { idempotencyKey?: string | undefined },
  ): IdempotentCall | undefined {
    if (input.idempotencyKey === undefined) return undefined;
    return { key: input.idempotencyKey, command, actorId: actor.id, input };
  }

  protected get postgres(): boolean {
    return isPostgres(this.em);
  }

  /**
   * Runs `body` atomically in `em.transactional()` on the caller's EntityManager. With an
   * idempotency key, a result already stored under it is returned instead (nothing written, no
   * event), and a new result is stored under it in the same transaction; when the command fails,
   * the key is looked up once more, so a repeat that lost a race with its first try, or whose
   * first try committed before the connection dropped, still gets the first result.
   */
  protected async command<T>(
    body: (scope: CommandScope) => Promise<T>,
    idempotency?: IdempotentCall,
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
          const value = await body({
            em,
            instant: (...floors) => instant.take(floors),
            get now() {
              return instant.take([]);
            },
            postgres,
            emit: (event) => events.push(event),
            loadActor: (actor) => loadActor(em, actor),
          });
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
        const stored = await this.read((em) => findStoredResult<T>(em, idempotency, fingerprint)).catch(
          (lookupError: unknown) => {
            if (isSwlErrorCode(lookupError, 'IDEMPOTENCY_KEY_REUSED')) throw lookupError;
            return undefined;
          },
        );
        if (stored) return stored.result;
      }
      throw toSwlError(error);
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
   * Runs a read, translating driver errors. Outside a transaction it opens none; inside the
   * caller's open transaction it reads in it (SQLite has one connection, which that transaction
   * holds: a read beside it would wait for it forever).
   */
  protected async read<T>(body: (em: EntityManager) => Promise<T>): Promise<T> {
    try {
      return await body(this.em.fork({ clear: true, keepTransactionContext: true }));
    } catch (error) {
      throw toSwlError(error);
    }
  }
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
 * Parses `value` with `schema`; anything that goes wrong — issues, or an input whose getters or
 * proxy traps throw — is `VALIDATION_FAILED`, never a raw error.
 * @internal
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  let parsed: ReturnType<S['safeParse']>;
  try {
    parsed = schema.safeParse(value) as ReturnType<S['safeParse']>;
  } catch (error) {
    throw new SwlError('VALIDATION_FAILED', 'the input could not be read', { issues: [] }, { cause: error });
  }
  if (!parsed.success) throw toSwlError(parsed.error);
  return parsed.data as z.output<S>;
}

/**
 * Loads the acting user: it must exist, be active and have the role the host claimed.
 * @throws SwlError `FORBIDDEN`
 */
export async function loadActor(em: EntityManager, actor: Actor): Promise<User> {
  const user = await em.findOne(User, actor.id);
  if (!user?.active || user.role !== actor.role) {
    throw SwlError.forbidden('the acting user is unknown, inactive, or does not have the claimed role', {
      actorId: actor.id,
    });
  }
  return user;
}

/** Locks `entity`'s row for update on PostgreSQL (a no-op on SQLite, where writers are serialized). */
export function lockFor(postgres: boolean): { lockMode?: LockMode } {
  return postgres ? { lockMode: LockMode.PESSIMISTIC_WRITE } : {};
}
