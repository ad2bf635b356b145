import { type ConnectionInput, closeQuietly, openConnection } from '@dmskit/validation';
import type pg from 'pg';
import { sleep } from '../util/time.js';

/** Rows written per table by committed transactions. */
export interface WriteCounts {
  inserts: number;
  updates: number;
  deletes: number;
}

/** What the writer did: committed transactions and rows, and what the fence turned away. */
export interface WriterStats {
  readonly transactions: number;
  readonly byTable: Readonly<Record<string, WriteCounts>>;
  readonly rows: WriteCounts;
  /** Transactions that failed (fenced: read-only, ended sessions). */
  readonly rejected: number;
  /** Transactions committed after {@link Writer.markCdcStart} was called. */
  readonly transactionsDuringCdc: number;
  /** The last error a transaction failed with (the fence's, normally). */
  readonly lastError: string | null;
}

export interface Writer {
  /** Counts what commits from now on as written during CDC. */
  markCdcStart(): void;
  stats(): WriterStats;
  /**
   * Stops at once: the session is closed, so a transaction in flight never reaches COMMIT (and is not
   * counted). Resolves with the final counts.
   */
  stop(): Promise<WriterStats>;
}

/** A small seeded PRNG (mulberry32), so that a rehearsal's workload is the same from run to run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

type Op = (
  c: pg.Client,
  rnd: () => number,
  count: (table: string, kind: keyof WriteCounts, n: number) => void,
) => Promise<void>;

const STATUSES = ['new', 'paid', 'shipped', 'delivered', 'cancelled'];

/** The workload: every kind of change on every table of the e-commerce set, with multi-table transactions. */
const OPS: readonly { weight: number; run: Op }[] = [
  {
    weight: 4, // a new order with its lines and the stock it takes
    run: async (c, rnd, count) => {
      const order = await c.query(
        `INSERT INTO orders (customer_id, status, placed_at, total, shipping)
         SELECT id, 'new', now(), round(($1::float8 * 500)::numeric, 2), jsonb_build_object('city', 'Zürich', 'express', $2::boolean)
           FROM customers WHERE id >= (SELECT min(id) + floor($1::float8 * (max(id) - min(id)))::int8 FROM customers) ORDER BY id LIMIT 1
         RETURNING id`,
        [rnd(), rnd() < 0.5],
      );
      count('orders', 'inserts', order.rowCount ?? 0);
      const orderId = (order.rows[0] as { id: string } | undefined)?.id;
      if (!orderId) return;
      const lines = 1 + Math.floor(rnd() * 3);
      for (let line = 1; line <= lines; line++) {
        const item = await c.query(
          `INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price)
           SELECT $1::int8, $2::int, id, $3::int, price FROM products WHERE id >= (SELECT min(id) + floor($4::float8 * (max(id) - min(id)))::int FROM products) ORDER BY id LIMIT 1
           RETURNING product_id`,
          [orderId, line, 1 + Math.floor(rnd() * 3), rnd()],
        );
        count('order_items', 'inserts', item.rowCount ?? 0);
        const product = (item.rows[0] as { product_id: number } | undefined)?.product_id;
        if (product === undefined) continue;
        const stock = await c.query(
          `UPDATE inventory SET quantity = greatest(quantity - 1, 0), updated_at = now() WHERE product_id = $1 AND warehouse = $2`,
          [product, rnd() < 0.5 ? 'AMS' : 'FRA'],
        );
        count('inventory', 'updates', stock.rowCount ?? 0);
      }
    },
  },
  {
    weight: 3, // an order moves on
    run: async (c, rnd, count) => {
      const r = await c.query(
        'UPDATE orders SET status = $2::text WHERE id = (SELECT id FROM orders WHERE id >= (SELECT min(id) + floor($1::float8 * (max(id) - min(id)))::int8 FROM orders) ORDER BY id LIMIT 1)',
        [rnd(), STATUSES[Math.floor(rnd() * STATUSES.length)]],
      );
      count('orders', 'updates', r.rowCount ?? 0);
    },
  },
  {
    weight: 2, // a product's price, text and jsonb change (the trigger sets updated_at)
    run: async (c, rnd, count) => {
      const r = await c.query(
        `UPDATE products SET price = round(($2::float8 * 300)::numeric, 2),
                description = CASE WHEN $2::float8 < 0.1 THEN NULL ELSE 'Revised ' || md5($2::text) END,
                attributes = attributes || jsonb_build_object('revision', floor($2::float8 * 1000)::int, 'note', 'café ''quoted'' \\ "x"')
          WHERE id = (SELECT id FROM products WHERE id >= (SELECT min(id) + floor($1::float8 * (max(id) - min(id)))::int FROM products) ORDER BY id LIMIT 1)`,
        [rnd(), rnd()],
      );
      count('products', 'updates', r.rowCount ?? 0);
    },
  },
  {
    weight: 1, // a cancelled order is deleted; its lines go with it (ON DELETE CASCADE)
    run: async (c, rnd, count) => {
      const r = await c.query(
        `WITH victim AS (SELECT id FROM orders WHERE id >= (SELECT min(id) + floor($1::float8 * (max(id) - min(id)))::int8 FROM orders) ORDER BY id LIMIT 1),
              lines AS (SELECT count(*) AS n FROM order_items WHERE order_id = (SELECT id FROM victim))
         DELETE FROM orders WHERE id = (SELECT id FROM victim) RETURNING (SELECT n FROM lines) AS lines`,
        [rnd()],
      );
      count('orders', 'deletes', r.rowCount ?? 0);
      count('order_items', 'deletes', Number((r.rows[0] as { lines?: string } | undefined)?.lines ?? 0));
    },
  },
  {
    weight: 1, // a customer signs up, another changes e-mail
    run: async (c, rnd, count) => {
      const n = Math.floor(rnd() * 1e9);
      const ins = await c.query(`INSERT INTO customers (email, full_name, country) VALUES ($1, $2, 'NL')`, [
        `new${n}@example.com`,
        `Nieuwe Klant ${n}`,
      ]);
      count('customers', 'inserts', ins.rowCount ?? 0);
      const upd = await c.query(
        `UPDATE customers SET email = 'changed' || id || '.' || $2::int8 || '@example.com', marketing_opt_in = NOT marketing_opt_in
          WHERE id = (SELECT id FROM customers WHERE id >= (SELECT min(id) + floor($1::float8 * (max(id) - min(id)))::int8 FROM customers) ORDER BY id LIMIT 1)`,
        [rnd(), n],
      );
      count('customers', 'updates', upd.rowCount ?? 0);
    },
  },
  {
    weight: 1, // a category is renamed
    run: async (c, rnd, count) => {
      const r = await c.query(
        `UPDATE categories SET name = 'Category ' || id || ' v' || $2::int WHERE id = 1 + floor($1::float8 * 50)::int`,
        [rnd(), Math.floor(rnd() * 1e6)],
      );
      count('categories', 'updates', r.rowCount ?? 0);
    },
  },
];

/** The op whose cumulative weight range holds `point` (0 <= point < total weight). */
function pickOp(point: number): (typeof OPS)[number] {
  let rest = point;
  for (const op of OPS) {
    rest -= op.weight;
    if (rest < 0) return op;
  }
  return OPS[0]!;
}

/**
 * Starts a writer on the source that keeps committing INSERT, UPDATE and DELETE transactions across the
 * e-commerce tables at about `ratePerSecond` transactions per second, until stopped. A failed transaction
 * (the fence makes the database read-only and ends sessions) is counted as rejected, and the writer
 * reconnects after a short pause.
 */
export function startWriter(
  source: ConnectionInput,
  options: { ratePerSecond: number; seed?: number },
): Writer {
  const rnd = prng(options.seed ?? 7);
  const total: WriteCounts = { inserts: 0, updates: 0, deletes: 0 };
  const byTable: Record<string, WriteCounts> = {};
  let transactions = 0;
  let rejected = 0;
  let lastError: string | null = null;
  let cdcMark: number | undefined;
  let stopping = false;
  const weights = OPS.reduce((s, o) => s + o.weight, 0);
  const interval = 1000 / Math.max(1, options.ratePerSecond);

  let client: pg.Client | undefined;
  const loop = async () => {
    while (!stopping) {
      const started = performance.now();
      try {
        client ??= await openConnection(source, 'source', { applicationName: 'dmskit-sample-writer' });
        const op = pickOp(rnd() * weights);
        const pending: [string, keyof WriteCounts, number][] = [];
        await client.query('BEGIN');
        await op.run(client, rnd, (table, kind, n) => pending.push([table, kind, n]));
        await client.query('COMMIT');
        transactions++;
        for (const [table, kind, n] of pending) {
          byTable[table] ??= { inserts: 0, updates: 0, deletes: 0 };
          byTable[table][kind] += n;
          total[kind] += n;
        }
      } catch (error) {
        rejected++;
        lastError = (error as Error).message;
        await closeQuietly(client);
        client = undefined;
        if (!stopping) await sleep(100);
      }
      const wait = interval - (performance.now() - started);
      if (wait > 0 && !stopping) await sleep(wait);
    }
    await closeQuietly(client);
  };
  const running = loop();
  const stats = (): WriterStats => ({
    transactions,
    byTable: structuredClone(byTable),
    rows: { ...total },
    rejected,
    transactionsDuringCdc: cdcMark === undefined ? 0 : transactions - cdcMark,
    lastError,
  });
  return {
    markCdcStart: () => {
      cdcMark ??= transactions;
    },
    stats,
    stop: async () => {
      stopping = true;
      await closeQuietly(client);
      await running;
      return stats();
    },
  };
}
