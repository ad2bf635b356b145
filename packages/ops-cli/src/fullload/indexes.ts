/**
 * Builds indexes while the full load goes on, one index (or key) per build: a table's indexes are queued
 * once its rows are in and built while other tables still copy, as pgcopydb does. `concurrency` builds run
 * at once; it starts low (the copy keeps the cores busy) and is raised as copy workers run out of chunks,
 * so that the indexes of the last tables copied are built side by side instead of one after another while
 * the cores idle (pg_restore --jobs does the same with one TOC entry per job). A build that fails is left
 * for the final post-data restore, which skips what exists and reports what fails.
 */
export interface IndexBuilder<T> {
  /** Queues builds, in order. */
  add(units: readonly T[]): void;
  /** Lets `n` builds run at once from now on (never fewer than before). */
  raise(n: number): void;
  /**
   * Starts nothing more once the queue is empty, and waits for the builds under way and queued.
   * @returns the units built, in the order they finished
   */
  settle(): Promise<T[]>;
  /** Starts nothing more (queued builds are dropped) and waits for the builds under way. */
  stop(): Promise<T[]>;
}

/**
 * @param build - builds one unit, told how many builds run with it started (itself included); rejects on
 *   failure (the unit is then left out of the result)
 * @param concurrency - builds at once to start with (the copy keeps the cores busy: 1 is usually right)
 */
export function indexBuilder<T>(
  build: (unit: T, running: number) => Promise<void>,
  concurrency = 1,
): IndexBuilder<T> {
  const queue: T[] = [];
  const running = new Set<Promise<void>>();
  const built: T[] = [];
  let limit = Math.max(1, concurrency);
  let stopped = false;
  const kick = (): void => {
    while (!stopped && running.size < limit && queue.length) {
      const unit = queue.shift() as T;
      const p: Promise<void> = build(unit, running.size + 1)
        .then(() => {
          built.push(unit);
        })
        .catch(() => undefined)
        .finally(() => {
          running.delete(p);
          kick();
        });
      running.add(p);
    }
  };
  const drain = async (): Promise<T[]> => {
    while (running.size) await Promise.all([...running]);
    return built;
  };
  return {
    add(units) {
      if (stopped) return;
      queue.push(...units);
      kick();
    },
    raise(n) {
      limit = Math.max(limit, n);
      kick();
    },
    settle: drain,
    async stop() {
      stopped = true;
      queue.length = 0;
      return drain();
    },
  };
}
