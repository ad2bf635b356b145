import pg from 'pg';

/**
 * An application that keeps writing during a cutover, written without dmskit code: it inserts into
 * `ledger` and records each id whose COMMIT the server acknowledged. Rejected writes (the fence) are
 * counted, not retried. Stop it with `stop()`.
 */
export function startLedgerWriter(url: string): {
  committed: number[];
  rejected: () => number;
  stop: () => Promise<void>;
} {
  const committed: number[] = [];
  let rejected = 0;
  let running = true;
  let client: pg.Client | undefined;
  const loop = (async () => {
    while (running) {
      try {
        if (!client) {
          client = new pg.Client({ connectionString: url });
          client.on('error', () => undefined);
          await client.connect();
        }
        const { rows } = await client.query("INSERT INTO ledger (note) VALUES ('tick') RETURNING id");
        committed.push(Number((rows[0] as { id: string }).id));
      } catch {
        rejected++;
        await client?.end().catch(() => undefined);
        client = undefined;
        await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return {
    committed,
    rejected: () => rejected,
    stop: async () => {
      running = false;
      await loop;
      await client?.end().catch(() => undefined);
    },
  };
}
