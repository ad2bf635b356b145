import pg from 'pg';

/**
 * An application that writes during a cutover and records the history of its operations, in Jepsen's
 * terms: each op inserts one ledger row carrying its op number; an op is `ok` when the server
 * acknowledged its COMMIT, `fail` when the server refused it (the fence), `info` when the connection was
 * lost with the outcome unknown. Written without dmskit code.
 */
export interface HistoryWriter {
  readonly ok: number[];
  readonly fail: number[];
  readonly info: number[];
  stop(): Promise<void>;
}

export const LEDGER_DDL =
  'CREATE TABLE ledger (id bigserial PRIMARY KEY, op bigint NOT NULL, at timestamptz NOT NULL DEFAULT now())';

/** `firstOp`: the writer numbers its ops from here (two writers of one ledger must not overlap). */
export function startHistoryWriter(
  url: string,
  options: { pauseMs?: number; firstOp?: number } = {},
): HistoryWriter {
  const ok: number[] = [];
  const fail: number[] = [];
  const info: number[] = [];
  let running = true;
  let op = (options.firstOp ?? 1) - 1;
  let client: pg.Client | undefined;
  const loop = (async () => {
    while (running) {
      const n = ++op;
      try {
        if (!client) {
          client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
          client.on('error', () => undefined);
          await client.connect().catch((e) => {
            client = undefined;
            throw Object.assign(e as Error, { connect: true });
          });
        }
        await client.query('INSERT INTO ledger (op) VALUES ($1)', [n]);
        ok.push(n);
      } catch (error) {
        const e = error as { code?: string; connect?: boolean };
        // A server error (SQLSTATE) or a refused connection: the write did not happen.
        if (e.code && /^[0-9A-Z]{5}$/.test(e.code)) fail.push(n);
        else if (e.connect) fail.push(n);
        else info.push(n);
        await client?.end().catch(() => undefined);
        client = undefined;
        await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise((r) => setTimeout(r, options.pauseMs ?? 3));
    }
  })();
  return {
    ok,
    fail,
    info,
    stop: async () => {
      running = false;
      await loop;
      await client?.end().catch(() => undefined);
    },
  };
}

/** What the checker found: acknowledged ops missing on a side, ops applied twice, failed ops present. */
export interface HistoryCheck {
  readonly acknowledged: number;
  readonly lost: number[];
  readonly duplicated: number[];
  readonly phantom: number[];
}

/** Checks the ledger of `url` against the history: every `ok` op once, no `fail` op. */
export async function checkHistory(url: string, w: HistoryWriter): Promise<HistoryCheck> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query('SELECT op::int8 AS op, count(*)::int AS n FROM ledger GROUP BY op');
    const seen = new Map((rows as { op: string; n: number }[]).map((r) => [Number(r.op), r.n]));
    return {
      acknowledged: w.ok.length,
      lost: w.ok.filter((op) => !seen.has(op)),
      // The writer's ops are positive; seed rows and other writers use negative numbers.
      duplicated: [...seen].filter(([op, n]) => op > 0 && n > 1).map(([op]) => op),
      phantom: w.fail.filter((op) => seen.has(op)),
    };
  } finally {
    await c.end();
  }
}
