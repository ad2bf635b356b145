import { locksConflict, type TableLock } from './locks.js';

/**
 * One build of the full load: an index, a key's constraint on its index, a foreign key added `NOT VALID`
 * or validated. See fullload/build-units.ts for how they are made.
 */
export interface BuildUnit<T> {
  /** Unique among the units. */
  readonly id: string;
  /** Tables (`schema.table`) whose rows must all be in before the unit can start. */
  readonly tables: readonly string[];
  /** The table locks its statements take: no two units whose locks conflict run at once. */
  readonly locks: readonly TableLock[];
  /** Units (ids) that must have been built first; when one fails, this one is dropped. */
  readonly after: readonly string[];
  /** Expected cost (any unit, the larger the longer): among the units that may start, the costliest first. */
  readonly cost: number;
  /** Whether it sorts or accumulates in `maintenance_work_mem` (index builds): it gets a share of the budget. */
  readonly memory: boolean;
  readonly payload: T;
}

/** What a build is told when it starts. */
export interface BuildSlot {
  /** Builds running with it started, itself included. */
  readonly running: number;
  /** Its share of the memory budget, in MiB (0 for a unit that takes none). */
  readonly memoryMb: number;
}

/**
 * Runs the full load's builds while the copy goes on (pg_restore --jobs and pgcopydb do the same with
 * one TOC entry per job): a unit may start once the rows of its tables are in and the units it comes
 * after are built; of those, the costliest starts first (longest processing time first, so the builds on
 * the critical path, GiST and GIN above all, start as early as their table allows), unless its locks
 * conflict with a running unit's, so no build ever waits on a lock another holds. `limit` builds run at
 * once; it starts low (the copy keeps the cores busy) and is raised as copy workers run out of chunks.
 * A unit that uses memory gets what is left of `memoryBudgetMb` divided by the slots left, at least
 * `minMemoryMb`, so the builds running at once share the budget. A build that fails is left (with the
 * units after it) for the final post-data restore, which skips what exists and reports what fails.
 */
export interface BuildScheduler<T> {
  /** Adds units; they start when they may. */
  add(units: readonly BuildUnit<T>[]): void;
  /** The table's rows are all in: its units may start. */
  tableDone(table: string): void;
  /** Lets `n` builds run at once from now on (never fewer than before). */
  raise(n: number): void;
  /**
   * Starts nothing more once nothing is left that may start, and waits for the builds under way.
   * @returns the units built, in the order they finished
   */
  settle(): Promise<BuildUnit<T>[]>;
  /** Starts nothing more (what has not started is dropped) and waits for the builds under way. */
  stop(): Promise<BuildUnit<T>[]>;
}

/**
 * @param build - builds one unit; rejects on failure (the unit and those after it are then left out)
 * @param options.limit - builds at once to start with (the copy keeps the cores busy: 1 is usually right)
 * @param options.memoryBudgetMb - `maintenance_work_mem` the builds share, in MiB
 */
export function buildScheduler<T>(
  build: (unit: BuildUnit<T>, slot: BuildSlot) => Promise<void>,
  options: { limit?: number; memoryBudgetMb: number; minMemoryMb?: number },
): BuildScheduler<T> {
  const pending: BuildUnit<T>[] = [];
  const running = new Map<BuildUnit<T>, { done: Promise<void>; memoryMb: number }>();
  const done = new Set<string>();
  const failed = new Set<string>();
  const copied = new Set<string>();
  const built: BuildUnit<T>[] = [];
  const minMemoryMb = options.minMemoryMb ?? 64;
  let limit = Math.max(1, options.limit ?? 1);
  let stopped = false;

  const mayStart = (u: BuildUnit<T>): boolean =>
    u.tables.every((t) => copied.has(t)) &&
    u.after.every((id) => done.has(id)) &&
    ![...running.keys()].some((r) => locksConflict(r.locks, u.locks));
  const memoryFor = (u: BuildUnit<T>): number => {
    if (!u.memory) return 0;
    let held = 0;
    let users = 0;
    for (const r of running.values()) {
      held += r.memoryMb;
      if (r.memoryMb) users++;
    }
    const slots = Math.max(1, limit - users);
    return Math.max(minMemoryMb, Math.floor((options.memoryBudgetMb - held) / slots));
  };
  const kick = (): void => {
    // Units after a failed one are dropped: the final restore builds them, or says why it cannot.
    for (let i = pending.length - 1; i >= 0; i--)
      if ((pending[i] as BuildUnit<T>).after.some((id) => failed.has(id))) {
        failed.add((pending[i] as BuildUnit<T>).id);
        pending.splice(i, 1);
      }
    while (!stopped && running.size < limit) {
      let best = -1;
      for (let i = 0; i < pending.length; i++) {
        const u = pending[i] as BuildUnit<T>;
        if ((best < 0 || u.cost > (pending[best] as BuildUnit<T>).cost) && mayStart(u)) best = i;
      }
      if (best < 0) return;
      const unit = pending.splice(best, 1)[0] as BuildUnit<T>;
      const memoryMb = memoryFor(unit);
      const slot = { running: running.size + 1, memoryMb };
      const p = build(unit, slot)
        .then(
          () => {
            done.add(unit.id);
            built.push(unit);
          },
          () => {
            failed.add(unit.id);
          },
        )
        .finally(() => {
          running.delete(unit);
          kick();
        });
      running.set(unit, { done: p, memoryMb });
    }
  };
  const drain = async (): Promise<BuildUnit<T>[]> => {
    while (running.size) await Promise.all([...running.values()].map((r) => r.done));
    return built;
  };
  return {
    add(units) {
      if (stopped) return;
      pending.push(...units);
      kick();
    },
    tableDone(table) {
      copied.add(table);
      kick();
    },
    raise(n) {
      limit = Math.max(limit, n);
      kick();
    },
    settle: drain,
    async stop() {
      stopped = true;
      pending.length = 0;
      return drain();
    },
  };
}
