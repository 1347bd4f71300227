// One lock for operations that change the host: they run one at a time, in arrival order.

export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/** One Mutex per key (a file, a directory), made on first use. */
export class MutexMap {
  private locks = new Map<string, Mutex>();

  get(key: string): Mutex {
    let lock = this.locks.get(key);
    if (!lock) {
      lock = new Mutex();
      this.locks.set(key, lock);
    }
    return lock;
  }
}
