// Values that are ready at once on a single node and arrive later in a cluster (a write that
// must reach the in-sync replicas): chaining them keeps the single-node path synchronous.

export type MaybePromise<T> = T | Promise<T>;

/** `next(value)` now when `value` is ready, else once it resolves. */
export function then<T, R>(value: MaybePromise<T>, next: (value: T) => MaybePromise<R>): MaybePromise<R> {
  return value instanceof Promise ? value.then(next) : next(value);
}
