/**
 * Builds tables' indexes while the full load goes on: a table is added once its rows are in, and its
 * indexes and keys are built (`concurrency` tables at a time) while other tables still copy, as pgcopydb
 * does. A build that fails is left for the final post-data restore, which skips what exists and reports
 * what fails.
 */
export interface IndexBuilder {
  /** Queues a table (`schema.table`). */
  add(table: string): void;
  /**
   * Starts nothing more, ends (`signal`) or waits for the builds under way.
   * @returns the tables whose indexes were built
   */
  settle(): Promise<string[]>;
}

/**
 * @param build - builds one table's indexes; rejects on failure
 * @param concurrency - tables built at once (the copy keeps the cores busy: 1 is usually right)
 */
export function indexBuilder(build: (table: string) => Promise<void>, concurrency = 1): IndexBuilder {
  const queue: string[] = [];
  const running = new Set<Promise<void>>();
  const built: string[] = [];
  let closed = false;
  const kick = (): void => {
    while (!closed && running.size < concurrency && queue.length) {
      const table = queue.shift() as string;
      const p: Promise<void> = build(table)
        .then(() => {
          built.push(table);
        })
        .catch(() => undefined)
        .finally(() => {
          running.delete(p);
          kick();
        });
      running.add(p);
    }
  };
  return {
    add(table) {
      queue.push(table);
      kick();
    },
    async settle() {
      closed = true;
      while (running.size) await Promise.all([...running]);
      return built;
    },
  };
}
