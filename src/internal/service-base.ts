import { type EntityManager, LockMode } from '@mikro-orm/core';
import type { z } from 'zod';
import { type Clock, systemClock } from '../clock.ts';
import { User } from '../entities/user.entity.ts';
import { SwlError } from '../errors.ts';
import type { SwlDomainEvent, SwlEventBus } from '../events.ts';
import { type Actor, ActorSchema, assertCan, type Capability } from '../permissions.ts';
import { afterCommit, watchTransactions } from './after-commit.ts';
import { bindClock } from './clock-context.ts';
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
  /** The command's instant (one clock reading per command, UTC). */
  now: Date;
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
  }

  /** Validates `actor` and `input`, then checks `capability` — all before touching the database. */
  protected authorize<S extends z.ZodType>(
    actor: unknown,
    capability: Capability | null,
    schema: S,
    input: unknown,
  ): { actor: Actor; input: z.output<S> } {
    const a = ActorSchema.safeParse(actor);
    if (!a.success) throw toSwlError(a.error);
    if (capability) assertCan(a.data, capability);
    const parsed = schema.safeParse(input);
    if (!parsed.success) throw toSwlError(parsed.error);
    return { actor: a.data, input: parsed.data };
  }

  protected get postgres(): boolean {
    return /postgre/i.test(this.em.getPlatform().constructor.name);
  }

  /** Runs `body` atomically in `em.transactional()` on the caller's EntityManager. */
  protected async command<T>(body: (scope: CommandScope) => Promise<T>): Promise<T> {
    const events: Array<() => SwlDomainEvent> = [];
    const now = this.clock.now();
    const postgres = this.postgres;
    let result: T;
    try {
      result = await this.em.transactional(
        (em) => {
          bindClock(em, this.clock);
          return body({
            em,
            now,
            postgres,
            emit: (event) => events.push(event),
            loadActor: (actor) => loadActor(em, actor),
          });
        },
        { clear: true },
      );
    } catch (error) {
      throw toSwlError(error);
    }
    if (events.length > 0 && this.events) {
      const bus = this.events;
      const built = events.map((build) => build());
      afterCommit(this.em, () => bus.publish(built));
    }
    return result;
  }

  /** Runs a read (no transaction), translating driver errors. */
  protected async read<T>(body: (em: EntityManager) => Promise<T>): Promise<T> {
    try {
      return await body(this.em.fork({ clear: true }));
    } catch (error) {
      throw toSwlError(error);
    }
  }
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
