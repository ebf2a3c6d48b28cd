import type { EntityManager, EventSubscriber, TransactionEventArgs } from '@mikro-orm/core';

type Trx = NonNullable<TransactionEventArgs['transaction']>;
type Job = () => void;

/** Jobs waiting for a transaction context to commit. */
const pending = new WeakMap<Trx, Job[]>();
/** Savepoint context → the context it was opened in. */
const parentOf = new WeakMap<Trx, Trx>();
/** Fork → the context it opened its savepoint in (between before- and afterTransactionStart). */
const openingIn = new WeakMap<object, Trx>();

const isSavepoint = (trx: Trx) => typeof trx.savepointName === 'string';

/**
 * Transaction-lifecycle subscriber that runs jobs only once the outermost transaction commits:
 * jobs queued on a savepoint move to its parent when the savepoint is released, and are dropped
 * when any enclosing level rolls back.
 */
const subscriber: EventSubscriber = {
  beforeTransactionStart(args) {
    if (args.transaction) openingIn.set(args.em, args.transaction);
  },
  afterTransactionStart(args) {
    const parent = openingIn.get(args.em);
    openingIn.delete(args.em);
    if (args.transaction && parent && isSavepoint(args.transaction)) parentOf.set(args.transaction, parent);
  },
  afterTransactionCommit(args) {
    const trx = args.transaction;
    if (!trx) return;
    const jobs = pending.get(trx);
    if (!jobs) return;
    pending.delete(trx);
    const parent = isSavepoint(trx) ? parentOf.get(trx) : undefined;
    if (parent) {
      pending.set(parent, [...(pending.get(parent) ?? []), ...jobs]);
      return;
    }
    // Outermost commit (or a savepoint whose parent opened before this subscriber was registered).
    for (const job of jobs) job();
  },
  afterTransactionRollback(args) {
    if (args.transaction) pending.delete(args.transaction);
  },
};

const registered = new WeakSet<object>();

/**
 * Makes sure the after-commit subscriber listens on `em`'s event manager (forks made afterwards
 * inherit it). Call before opening the transaction.
 * @internal
 */
export function watchTransactions(em: EntityManager): void {
  const events = em.getEventManager();
  if (registered.has(events)) return;
  registered.add(events);
  events.registerSubscriber(subscriber);
}

/**
 * Runs `job` after the transaction `em` is in has committed at its outermost level; right away
 * when `em` is not in a transaction. Dropped if the transaction rolls back.
 * @internal
 */
export function afterCommit(em: EntityManager, job: Job): void {
  const trx = em.isInTransaction() ? (em.getTransactionContext() as Trx | undefined) : undefined;
  if (!trx) {
    job();
    return;
  }
  pending.set(trx, [...(pending.get(trx) ?? []), job]);
}
