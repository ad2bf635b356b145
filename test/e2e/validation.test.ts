import {
  type CompareOptions,
  type ComparisonResult,
  chooseHashMode,
  compareDatabases,
  diffTableData,
  openSnapshotSessions,
  type TableSpec,
} from '@dmskit/validation';
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDatabase, type LocalServer, query, query1, startServer } from '../helpers/servers.js';

/**
 * Correctness of `compareDatabases` on two real servers: each case asserts the exact rows and columns
 * reported. Small chunk and leaf sizes force the key-range drill-down on small tables.
 */
describe('compareDatabases', () => {
  let a: LocalServer;
  let b: LocalServer;
  let n = 0;
  let source: string;
  let target: string;

  beforeAll(async () => {
    [a, b] = await Promise.all([startServer('source'), startServer('target')]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });
  beforeEach(async () => {
    n++;
    [source, target] = await Promise.all([createDatabase(a, `db${n}`), createDatabase(b, `db${n}`)]);
  });

  const both = (sql: string) => Promise.all([query(source, sql), query(target, sql)]);
  const compare = (o: Partial<CompareOptions> = {}) =>
    compareDatabases({ source, target, chunkRows: 50, leafRows: 8, ...o });
  const diffs = (r: ComparisonResult, table: string) =>
    r.tables.find((t) => t.table.table === table)?.differences;

  it('calls identical tables equal, even with the columns in another order on the target', async () => {
    await query(
      source,
      'CREATE TABLE t (id int PRIMARY KEY, name text, price numeric(10,2), at timestamptz)',
    );
    await query(
      target,
      'CREATE TABLE t (at timestamptz, price numeric(10,2), id int PRIMARY KEY, name text)',
    );
    await both(
      "INSERT INTO t (id, name, price, at) SELECT g, 'n' || g, g * 1.5, '2024-01-01'::timestamptz + g * interval '1 s' FROM generate_series(1, 1000) g",
    );
    const result = await compare();
    expect(result.schema).toEqual([]);
    expect(result.verdict).toBe('equal');
    expect(result.tables).toEqual([
      expect.objectContaining({
        status: 'equal',
        source: expect.objectContaining({ rows: 1000 }),
        chunks: expect.any(Number),
      }),
    ]);
    expect(result.tables[0]?.chunks).toBeGreaterThan(1);
  });

  it('names changed values exactly: NULL vs empty, separators, trailing space, numeric scale, float ulp, microsecond, case', async () => {
    await both('CREATE TABLE v (id int PRIMARY KEY, a text, b text, n numeric, f float8, ts timestamptz)');
    const row = (id: number, a: string, b: string, num: string, f: string, ts: string) =>
      `(${id}, ${a}, ${b}, ${num}, ${f}, ${ts})`;
    const base = (id: number) => row(id, "'x'", "'y'", '1.5', '0.25', "'2026-01-01 00:00:00.000001+00'");
    const rows = (overrides: Record<number, string>) =>
      Array.from({ length: 40 }, (_, i) => overrides[i + 1] ?? base(i + 1)).join(', ');
    await query(
      source,
      `INSERT INTO v VALUES ${rows({
        3: row(3, 'NULL', "'y'", '1.5', '0.25', "'2026-01-01 00:00:00.000001+00'"),
        8: row(8, "'p,q'", "'r'", '1.5', '0.25', "'2026-01-01 00:00:00.000001+00'"),
        13: row(13, "'abc'", "'y'", '1.5', '0.25', "'2026-01-01 00:00:00.000001+00'"),
        21: row(21, "'x'", "'y'", '1.0', '0.25', "'2026-01-01 00:00:00.000001+00'"),
        27: row(27, "'x'", "'y'", '1.5', '0.1', "'2026-01-01 00:00:00.000001+00'"),
        33: row(33, "'x'", "'y'", '1.5', '0.25', "'2026-01-01 00:00:00.000001+00'"),
        38: row(38, "'Hello'", "'y'", '1.5', '0.25', "'2026-01-01 00:00:00.000001+00'"),
      })}`,
    );
    await query(
      target,
      `INSERT INTO v VALUES ${rows({
        3: row(3, "''", "'y'", '1.5', '0.25', "'2026-01-01 00:00:00.000001+00'"),
        8: row(8, "'p'", "'q,r'", '1.5', '0.25', "'2026-01-01 00:00:00.000001+00'"),
        13: row(13, "'abc '", "'y'", '1.5', '0.25', "'2026-01-01 00:00:00.000001+00'"),
        21: row(21, "'x'", "'y'", '1.00', '0.25', "'2026-01-01 00:00:00.000001+00'"),
        27: row(27, "'x'", "'y'", '1.5', '0.10000000000000002', "'2026-01-01 00:00:00.000001+00'"),
        33: row(33, "'x'", "'y'", '1.5', '0.25', "'2026-01-01 00:00:00.000002+00'"),
        38: row(38, "'hello'", "'y'", '1.5', '0.25', "'2026-01-01 00:00:00.000001+00'"),
      })}`,
    );
    const result = await compare();
    expect(result.verdict).toBe('different');
    expect(diffs(result, 'v')).toEqual([
      { kind: 'different', key: { id: '3' }, columns: [{ name: 'a', source: null, target: '' }] },
      {
        kind: 'different',
        key: { id: '8' },
        columns: [
          { name: 'a', source: 'p,q', target: 'p' },
          { name: 'b', source: 'r', target: 'q,r' },
        ],
      },
      { kind: 'different', key: { id: '13' }, columns: [{ name: 'a', source: 'abc', target: 'abc ' }] },
      { kind: 'different', key: { id: '21' }, columns: [{ name: 'n', source: '1.0', target: '1.00' }] },
      {
        kind: 'different',
        key: { id: '27' },
        columns: [{ name: 'f', source: '0.1', target: '0.10000000000000002' }],
      },
      {
        kind: 'different',
        key: { id: '33' },
        columns: [
          { name: 'ts', source: '2026-01-01 00:00:00.000001+00', target: '2026-01-01 00:00:00.000002+00' },
        ],
      },
      { kind: 'different', key: { id: '38' }, columns: [{ name: 'a', source: 'Hello', target: 'hello' }] },
    ]);
    expect(result.tables[0]?.differenceCount).toBe(7);
  });

  it('tells apart values that their type hashes alike, and values swapped between columns', async () => {
    // Enum labels get other OIDs on the target (created in another order): equal rows must stay equal.
    await query(source, "CREATE TYPE mood AS ENUM ('sad', 'happy')");
    await query(target, "CREATE TYPE filler AS ENUM ('x'); CREATE TYPE mood AS ENUM ('sad', 'happy')");
    await both(
      `CREATE TABLE h (id int PRIMARY KEY, f float8, n numeric, j jsonb, iv interval, arr int[], b bytea,
                       d date, ok boolean, m mood, x int NOT NULL, y int NOT NULL, ts timestamptz,
                       nt numeric(8,2), nn numeric(6,3) NOT NULL)`,
    );
    const base = {
      f: '1.5',
      n: '2.5',
      j: `'{"a": 1}'`,
      iv: "'1 hour'",
      arr: "'{1,2}'",
      b: "'\\x01'",
      d: "'2026-01-01'",
      ok: 'true',
      m: "'sad'",
      x: '1',
      y: '2',
      ts: "'2026-01-01 00:00:00+00'",
      nt: '1.5',
      nn: '0.5',
    };
    type Row = typeof base;
    const changes: Record<number, [Partial<Row>, Partial<Row>]> = {
      2: [{ f: '0' }, { f: "'-0'" }],
      3: [{ n: "'NaN'" }, { n: "'Infinity'" }],
      4: [{ n: "'Infinity'" }, { n: "'-Infinity'" }],
      5: [{ j: `'{"a": 1.0}'` }, { j: `'{"a": 1.00}'` }],
      6: [{ iv: "'1 day'" }, { iv: "'24 hours'" }],
      7: [{ arr: "'{1,2}'" }, { arr: "'[0:1]={1,2}'" }],
      8: [{ b: "'\\x01'" }, { b: "'\\x0100'" }],
      9: [{ d: "'infinity'" }, { d: "'-infinity'" }],
      10: [{ ok: 'true' }, { ok: 'false' }],
      11: [{ m: "'sad'" }, { m: "'happy'" }],
      12: [
        { x: '1', y: '2' },
        { x: '2', y: '1' },
      ],
      13: [{ ts: "'2026-01-01 00:00:00+00'" }, { ts: "'2026-01-01 01:00:00+01'" }],
      // numeric(p,s) hashes without its scale (always s): NaN, NULL and values differ; 16 and 18 are
      // the same value once the type has rounded it.
      14: [{ nt: "'NaN'" }, { nt: 'NULL' }],
      15: [{ nt: '1.5' }, { nt: "'NaN'" }],
      16: [{ nt: '1.25' }, { nt: '1.254' }],
      17: [{ nn: '0.5' }, { nn: '0.501' }],
      18: [{ nt: '1.5' }, { nt: '1.50' }],
    };
    const values = (side: 0 | 1) =>
      Array.from({ length: 30 }, (_, i) => {
        const r = { ...base, ...(changes[i + 1]?.[side] ?? {}) };
        return `(${i + 1}, ${Object.values(r).join(', ')})`;
      }).join(', ');
    await query(source, `INSERT INTO h VALUES ${values(0)}`);
    await query(target, `INSERT INTO h VALUES ${values(1)}`);
    const result = await compare();
    const changed = (id: number, columns: [string, string, string | null][]) => ({
      kind: 'different',
      key: { id: String(id) },
      columns: columns.map(([name, s, t]) => ({ name, source: s, target: t })),
    });
    // Row 13 is the same instant written in another zone, 16 and 18 the same numeric(8,2): equal.
    expect(diffs(result, 'h')).toEqual([
      changed(2, [['f', '0', '-0']]),
      changed(3, [['n', 'NaN', 'Infinity']]),
      changed(4, [['n', 'Infinity', '-Infinity']]),
      changed(5, [['j', '{"a": 1.0}', '{"a": 1.00}']]),
      changed(6, [['iv', '1 day', '24:00:00']]),
      changed(7, [['arr', '{1,2}', '[0:1]={1,2}']]),
      changed(8, [['b', '\\x01', '\\x0100']]),
      changed(9, [['d', 'infinity', '-infinity']]),
      changed(10, [['ok', 'true', 'false']]),
      changed(11, [['m', 'sad', 'happy']]),
      changed(12, [
        ['x', '1', '2'],
        ['y', '2', '1'],
      ]),
      changed(14, [['nt', 'NaN', null]]),
      changed(15, [['nt', '1.50', 'NaN']]),
      changed(17, [['nn', '0.500', '0.501']]),
    ]);
    for (const hash of ['typed', 'md5'] as const) {
      const again = await compare({ hashMode: hash, chunkRows: 1000 });
      expect(again.tables[0]?.differenceCount, hash).toBe(14);
    }
  });

  it('names two rows that traded the values of a column within one chunk (an XOR of row digests alone would not see it)', async () => {
    await both('CREATE TABLE tr (id int PRIMARY KEY, note text, v int, w int NOT NULL)');
    await both("INSERT INTO tr SELECT g, 'note ' || g, g * 10, g * 100 FROM generate_series(1, 200) g");
    // Trades on the target: nullable text, nullable int, and a NOT NULL column, each between two rows
    // of one chunk, with the XOR or the sum fold.
    await query(
      target,
      `UPDATE tr SET note = CASE id WHEN 10 THEN 'note 11' ELSE 'note 10' END WHERE id IN (10, 11);
       UPDATE tr SET v = CASE id WHEN 20 THEN 210 ELSE 200 END WHERE id IN (20, 21);
       UPDATE tr SET w = CASE id WHEN 30 THEN 3100 ELSE 3000 END WHERE id IN (30, 31);`,
    );
    for (const fold of ['xor', 'sum'] as const) {
      const r = await compare({ checksumFold: fold });
      expect(r.verdict).toBe('different');
      expect(diffs(r, 'tr')?.map((d) => [d.key.id, d.columns?.map((c) => c.name).join(',')])).toEqual([
        ['10', 'note'],
        ['11', 'note'],
        ['20', 'v'],
        ['21', 'v'],
        ['30', 'w'],
        ['31', 'w'],
      ]);
    }
  });

  it('finds an extra, a missing and a changed row in the same chunk', async () => {
    await both('CREATE TABLE c (id int PRIMARY KEY, v text)');
    await both("INSERT INTO c SELECT g * 2, 'v' || g FROM generate_series(1, 1000) g");
    await query(
      target,
      "DELETE FROM c WHERE id = 1000; INSERT INTO c VALUES (1001, 'odd'); UPDATE c SET v = 'changed' WHERE id = 1002",
    );
    const result = await compare({ chunkRows: 100_000, leafRows: 20 });
    expect(result.tables[0]?.chunks).toBe(1);
    expect(diffs(result, 'c')).toEqual([
      { kind: 'missing-on-target', key: { id: '1000' } },
      { kind: 'extra-on-target', key: { id: '1001' } },
      { kind: 'different', key: { id: '1002' }, columns: [{ name: 'v', source: 'v501', target: 'changed' }] },
    ]);
  });

  it('names rows whose integer keys lie beyond the source’s first and last key, up to the type’s limits', async () => {
    await both(
      'CREATE TABLE e (id int PRIMARY KEY, v text); CREATE TABLE s (id smallint PRIMARY KEY, v text)',
    );
    await both("INSERT INTO e SELECT g, 'v' || g FROM generate_series(1, 1000) g; ANALYZE e");
    await both("INSERT INTO s SELECT g, 'v' || g FROM generate_series(-500, 500) g; ANALYZE s");
    await query(
      target,
      `INSERT INTO e VALUES (-2147483648, 'min'), (-7, 'neg'), (0, 'zero'), (2147483647, 'max');
       INSERT INTO s VALUES (-32768, 'min'), (32767, 'max'); UPDATE s SET v = 'changed' WHERE id = -1`,
    );
    const result = await compare({ chunkRows: 50, leafRows: 8 });
    expect(result.tables[0]!.chunks).toBeGreaterThan(10);
    expect(diffs(result, 'e')).toEqual(
      ['-2147483648', '-7', '0', '2147483647'].map((id) => ({ kind: 'extra-on-target', key: { id } })),
    );
    expect(diffs(result, 's')).toEqual([
      { kind: 'extra-on-target', key: { id: '-32768' } },
      { kind: 'different', key: { id: '-1' }, columns: [{ name: 'v', source: 'v-1', target: 'changed' }] },
      { kind: 'extra-on-target', key: { id: '32767' } },
    ]);
  });

  it('compares a compound key', async () => {
    await both('CREATE TABLE lines (order_id int, line text, qty int, PRIMARY KEY (order_id, line))');
    await both(
      "INSERT INTO lines SELECT o, 'L' || l, o + l FROM generate_series(1, 100) o, generate_series(1, 5) l",
    );
    await query(
      target,
      "UPDATE lines SET qty = -1 WHERE order_id = 42 AND line = 'L3'; DELETE FROM lines WHERE order_id = 77 AND line = 'L1'; INSERT INTO lines VALUES (77, 'L9', 0)",
    );
    const result = await compare();
    expect(diffs(result, 'lines')).toEqual([
      {
        kind: 'different',
        key: { order_id: '42', line: 'L3' },
        columns: [{ name: 'qty', source: '45', target: '-1' }],
      },
      { kind: 'missing-on-target', key: { order_id: '77', line: 'L1' } },
      { kind: 'extra-on-target', key: { order_id: '77', line: 'L9' } },
    ]);
  });

  it('orders text keys under COLLATE "C": non-ASCII keys and a collation difference still line up', async () => {
    const [{ icu }] = await query1<{ icu: string | null }>(
      source,
      "SELECT (SELECT collname FROM pg_collation WHERE collprovider = 'i' AND collname = 'und-x-icu') AS icu",
    );
    const collation = icu ? '"und-x-icu"' : '"POSIX"';
    await query(source, `CREATE TABLE words (w text COLLATE ${collation} PRIMARY KEY, n int)`);
    await query(target, 'CREATE TABLE words (w text COLLATE "C" PRIMARY KEY, n int)');
    const words = [
      'apple',
      'Banana',
      'banana',
      'Zoë',
      'zebra',
      'Ångström',
      'éclair',
      'Éclair',
      'über',
      'Ærø',
      'ß',
      'ss',
      '東京',
      'naïve',
      'Naive',
      'z',
    ];
    const values = words
      .flatMap((w, i) => Array.from({ length: 5 }, (_, k) => `(${[`'${w}${k}'`, i * 10 + k].join(', ')})`))
      .join(', ');
    await both(`INSERT INTO words VALUES ${values}`);
    await query(target, "UPDATE words SET n = -1 WHERE w = 'éclair3'; DELETE FROM words WHERE w = 'Zoë0'");
    const result = await compare({ chunkRows: 10, leafRows: 4 });
    expect(diffs(result, 'words')).toEqual([
      { kind: 'missing-on-target', key: { w: 'Zoë0' } },
      { kind: 'different', key: { w: 'éclair3' }, columns: [{ name: 'n', source: '63', target: '-1' }] },
    ]);
    if (icu)
      expect(result.schema).toEqual([
        {
          kind: 'column',
          object: 'public.words.w',
          difference: 'different',
          source: 'text NOT NULL COLLATE "und-x-icu"',
          target: 'text NOT NULL COLLATE "C"',
        },
      ]);
  });

  it('counts a duplicated row in a table without a key, and says rows cannot be named', async () => {
    await both('CREATE TABLE events (v text)');
    await query(source, "INSERT INTO events VALUES ('a'), ('b'), ('c')");
    await query(target, "INSERT INTO events VALUES ('a'), ('a'), ('b'), ('c')");
    const result = await compare();
    const t = result.tables[0]!;
    expect(t).toMatchObject({ status: 'different', keyed: false, differences: [] });
    expect(t.reasons).toEqual([
      'row count differs: 3 on the source, 4 on the target',
      'rows differ; they cannot be named: the table has no primary key (compared as a multiset)',
    ]);
    await query(target, "DELETE FROM events WHERE ctid = (SELECT min(ctid) FROM events WHERE v = 'a')");
    expect((await compare()).verdict).toBe('equal');
  });

  it('reports a type difference (int vs bigint) in the schema diff', async () => {
    await query(source, 'CREATE TABLE typed (id int PRIMARY KEY, n int)');
    await query(target, 'CREATE TABLE typed (id int PRIMARY KEY, n bigint)');
    await both('INSERT INTO typed VALUES (1, 1)');
    const result = await compare();
    expect(result.verdict).toBe('different');
    expect(result.schema).toEqual([
      {
        kind: 'column',
        object: 'public.typed.n',
        difference: 'different',
        source: 'integer',
        target: 'bigint',
      },
    ]);
    expect(result.tables[0]?.reasons).toEqual(['column n is integer on the source but bigint on the target']);
  });

  it('diffs the schema by object and kind', async () => {
    await both(`
      CREATE TYPE mood AS ENUM ('calm', 'loud');
      CREATE DOMAIN pct AS int CHECK (VALUE BETWEEN 0 AND 100);
      CREATE TABLE p (id serial PRIMARY KEY, email text UNIQUE, score pct, m mood, CHECK (id > 0));
      CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';
      CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
      CREATE VIEW pv AS SELECT id FROM p;
      CREATE MATERIALIZED VIEW pm AS SELECT count(*) AS n FROM p;`);
    await query(
      source,
      `CREATE INDEX p_email_lower ON p (lower(email)); CREATE TRIGGER p_touch BEFORE UPDATE ON p FOR EACH ROW EXECUTE FUNCTION touch();
                         CREATE EXTENSION citext; SELECT setval('p_id_seq', 500)`,
    );
    await query(
      target,
      `ALTER TYPE mood ADD VALUE 'sad'; CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 2';
                         CREATE OR REPLACE VIEW pv AS SELECT id FROM p WHERE id > 1; ALTER TABLE p DROP CONSTRAINT p_id_check;
                         ALTER TABLE p ADD CONSTRAINT p_id_check CHECK (id > 1); CREATE INDEX p_email_idx ON p (email)`,
    );
    const result = await compare();
    expect(result.schema?.map((d) => [d.kind, d.object, d.difference])).toEqual([
      ['constraint', 'public.p: p_id_check', 'different'],
      ['index', 'public.p: CREATE INDEX ON public.p USING btree (lower(email))', 'missing-on-target'],
      ['index', 'public.p: CREATE INDEX ON public.p USING btree (email)', 'extra-on-target'],
      ['view', 'public.pv', 'different'],
      ['function', 'f()', 'different'],
      ['trigger', 'public.p: p_touch', 'missing-on-target'],
      ['enum', 'public.mood', 'different'],
      ['extension', 'citext', 'missing-on-target'],
      ['sequence', 'public.p_id_seq', 'different'],
    ]);
    expect(result.schema?.find((d) => d.kind === 'sequence')).toMatchObject({
      source: 'next value 501',
      target: 'next value 1 (behind the source)',
    });
  });

  it('switches to the portable md5 digest and finds the same rows', async () => {
    await both('CREATE TABLE m (id int PRIMARY KEY, v text)');
    await both('INSERT INTO m SELECT g, md5(g::text) FROM generate_series(1, 300) g');
    await query(target, "UPDATE m SET v = 'x' WHERE id IN (7, 250)");
    const auto = await compare();
    expect(auto.hashMode).toBe('typed');
    const portable = await compare({ hashMode: 'md5' });
    expect(portable.hashMode).toBe('md5');
    expect(diffs(portable, 'm')?.map((d) => d.key.id)).toEqual(['7', '250']);
    expect(diffs(auto, 'm')).toEqual(diffs(portable, 'm'));
  });

  it('falls back to md5 when the self-check fails on a side, and the snapshot transaction stays usable', async () => {
    await both('CREATE TABLE f (id int PRIMARY KEY, v text)');
    const [[s], [t]] = await Promise.all([
      openSnapshotSessions(source, 'source', 1),
      openSnapshotSessions(target, 'target', 1),
    ]);
    try {
      // The target's probe fails on the server (as a function missing before PostgreSQL 14 would),
      // which aborts its transaction unless the probe ran in a savepoint.
      const failing = new Proxy(t!, {
        get(client, prop) {
          if (prop !== 'query') return Reflect.get(client, prop);
          return (sql: string) =>
            client.query(sql.includes('string_agg') ? 'SELECT no_such_function_dmskit()' : sql);
        },
      });
      const chosen = await chooseHashMode(s!, failing);
      expect(chosen.mode).toBe('md5');
      expect(chosen.reason).toMatch(/no_such_function_dmskit.*portable md5 digest/);
      expect((await t!.query('SELECT count(*)::int AS n FROM f')).rows[0].n).toBe(0);
      expect((await t!.query('SELECT current_setting($1) AS v', ['transaction_isolation'])).rows[0].v).toBe(
        'repeatable read',
      );
      expect((await s!.query('SELECT count(*)::int AS n FROM f')).rows[0].n).toBe(0);
    } finally {
      await Promise.all([s!.end(), t!.end()]);
    }
  });

  it('re-checks a difference after the replication delay before reporting it', async () => {
    await both('CREATE TABLE lagging (id int PRIMARY KEY, v text)');
    await query(source, "INSERT INTO lagging SELECT g, 'v' FROM generate_series(1, 100) g");
    await query(target, "INSERT INTO lagging SELECT g, 'v' FROM generate_series(1, 99) g");
    const pending = compare({ recheck: { delayMs: 1500, attempts: 2 } });
    await new Promise((r) => setTimeout(r, 700));
    await query(target, "INSERT INTO lagging VALUES (100, 'v')"); // the change arrives, as CDC would bring it
    const result = await pending;
    expect(result.verdict).toBe('equal');
    expect(result.tables[0]).toMatchObject({ status: 'equal', rechecks: 1 });

    await query(target, 'DELETE FROM lagging WHERE id = 50');
    const still = await compare({ recheck: { delayMs: 100, attempts: 2 } });
    expect(still.tables[0]).toMatchObject({
      status: 'different',
      rechecks: 2,
      differences: [{ kind: 'missing-on-target', key: { id: '50' } }],
    });
  });

  it('follows selection rules and their row filters', async () => {
    await both('CREATE TABLE orders (id int PRIMARY KEY, region text); CREATE TABLE tmp_scratch (v text)');
    await query(
      source,
      "INSERT INTO orders SELECT g, CASE WHEN g % 2 = 0 THEN 'EU' ELSE 'US' END FROM generate_series(1, 100) g; INSERT INTO tmp_scratch VALUES ('junk')",
    );
    await query(target, "INSERT INTO orders SELECT g, 'EU' FROM generate_series(2, 100, 2) g");
    const selection = [
      {
        action: 'include' as const,
        schema: 'public',
        table: 'orders',
        filters: [{ column: 'region', conditions: [{ operator: 'eq' as const, value: 'EU' }] }],
      },
      { action: 'exclude' as const, schema: 'public', table: 'tmp_%' },
    ];
    const result = await compare({ selection, schema: false });
    expect(result.tables.map((t) => [t.table.table, t.status, t.source?.rows])).toEqual([
      ['orders', 'equal', 50],
    ]);
  });

  it('never calls a missing or skipped table equal', async () => {
    await query(source, 'CREATE TABLE only_source (id int PRIMARY KEY); CREATE TABLE u (id int PRIMARY KEY)');
    await query(target, 'CREATE TABLE only_target (id int PRIMARY KEY); CREATE TABLE u (id int PRIMARY KEY)');
    const result = await compare({ skip: [{ schema: 'public', table: 'u' }], schema: false });
    expect(result.tables.map((t) => [t.table.table, t.status])).toEqual([
      ['only_source', 'missing-on-target'],
      ['only_target', 'missing-on-source'],
      ['u', 'skipped'],
    ]);
    expect(result.verdict).toBe('different');
    const skipped = await compareDatabases({
      source,
      target,
      selection: [{ action: 'include', schema: 'public', table: 'u' }],
      skip: [{ schema: 'public', table: 'u' }],
      schema: false,
    });
    expect(skipped.verdict).toBe('incomplete');
  });

  it('a table that cannot be compared is skipped with the server’s error; the tables after it are still compared', async () => {
    const role = `checker${n}`;
    for (const url of [source, target]) {
      await query(
        url,
        `CREATE TABLE a (id int PRIMARY KEY, v text); CREATE TABLE b (id int PRIMARY KEY); CREATE TABLE c (id int PRIMARY KEY, v text);
         INSERT INTO a SELECT g, 'a' || g FROM generate_series(1, 300) g; INSERT INTO c SELECT g, 'c' || g FROM generate_series(1, 300) g;
         CREATE ROLE ${role} LOGIN PASSWORD 'checkerpw'; GRANT SELECT ON a, c TO ${role}`,
      );
    }
    await query(target, "UPDATE c SET v = 'changed' WHERE id = 150");
    const as = (url: string) => {
      const u = new URL(url);
      u.username = role;
      u.password = 'checkerpw';
      return u.toString();
    };
    // One session a side: b's error comes between a and c in the same snapshot transaction.
    const result = await compareDatabases({
      source: as(source),
      target: as(target),
      chunkRows: 50,
      leafRows: 8,
      concurrency: 1,
      schema: false,
    });
    const b = result.tables.find((t) => t.table.table === 'b')!;
    expect(b.status).toBe('skipped');
    expect(b.reasons.join(' ')).toMatch(
      /cannot be compared: permission denied for table b \(SQLSTATE 42501\)/,
    );
    expect(result.tables.find((t) => t.table.table === 'a')?.status).toBe('equal');
    const c = result.tables.find((t) => t.table.table === 'c')!;
    expect(c.status).toBe('different');
    expect(c.differences).toEqual([
      { kind: 'different', key: { id: '150' }, columns: [{ name: 'v', source: 'c150', target: 'changed' }] },
    ]);
    expect(result.verdict).toBe('different');
    await query(target, "UPDATE c SET v = 'c150' WHERE id = 150");
    const incomplete = await compareDatabases({
      source: as(source),
      target: as(target),
      concurrency: 1,
      schema: false,
    });
    expect(incomplete.verdict).toBe('incomplete');
  });

  it('chunks keys without a portable order by their hash: array, enum and composite keys, rows named exactly', async () => {
    await both("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')");
    await both("ALTER TYPE mood ADD VALUE 'aaa' BEFORE 'sad'");
    await both(
      `CREATE TYPE pair AS (a int, b text);
       CREATE TABLE arr (k int[] PRIMARY KEY, v text);
       CREATE TABLE mix (m mood, p pair, t text[], v numeric, PRIMARY KEY (m, p, t));
       INSERT INTO arr SELECT ARRAY[g, g % 7], 'v' || g FROM generate_series(1, 400) g;
       INSERT INTO mix SELECT (ARRAY['sad','ok','happy','aaa'])[1 + g % 4]::mood, ROW(g, 'x' || g)::pair, ARRAY['é', g::text], g
         FROM generate_series(1, 400) g;
       ANALYZE`,
    );
    await query(
      target,
      `UPDATE arr SET v = 'changed' WHERE k = '{17,3}'; DELETE FROM arr WHERE k = '{300,6}'; INSERT INTO arr VALUES ('{1,2,3}', 'new');
       UPDATE mix SET v = -1 WHERE p = ROW(9, 'x9')::pair; DELETE FROM mix WHERE p = ROW(10, 'x10')::pair`,
    );
    const result = await compare({ schema: false });
    const arr = result.tables.find((t) => t.table.table === 'arr')!;
    expect(arr.method).toBe('key-hash');
    expect(arr.chunks).toBeGreaterThan(1);
    expect(arr.differences).toEqual([
      { kind: 'extra-on-target', key: { k: '{1,2,3}' } },
      { kind: 'different', key: { k: '{17,3}' }, columns: [{ name: 'v', source: 'v17', target: 'changed' }] },
      { kind: 'missing-on-target', key: { k: '{300,6}' } },
    ]);
    const mix = result.tables.find((t) => t.table.table === 'mix')!;
    expect(mix.method).toBe('key-hash');
    expect(mix.differences).toEqual([
      { kind: 'missing-on-target', key: { m: 'happy', p: '(10,x10)', t: '{é,10}' } },
      {
        kind: 'different',
        key: { m: 'ok', p: '(9,x9)', t: '{é,9}' },
        columns: [{ name: 'v', source: '9', target: '-1' }],
      },
    ]);
  });

  it('compares each table with what DMS wrote under the transformation rules: renamed schema, table and columns, a removed column, an added one', async () => {
    await query(
      source,
      'CREATE TABLE orders (id int PRIMARY KEY, amount numeric(10,2), note text, secret text)',
    );
    await query(
      source,
      "INSERT INTO orders SELECT g, g * 1.25, 'n' || g, 'ssn' || g FROM generate_series(1, 300) g",
    );
    // As DMS writes it with the rules below: schema sales, table orders_v2, amount as total, no secret,
    // an added column.
    await query(
      target,
      `CREATE SCHEMA sales; CREATE TABLE sales.orders_v2 (id int PRIMARY KEY, total numeric(10,2), note text, loaded_by text DEFAULT 'dms');
       INSERT INTO sales.orders_v2 (id, total, note) SELECT g, g * 1.25, 'n' || g FROM generate_series(1, 300) g`,
    );
    const transformations = [
      { target: 'schema' as const, action: 'rename' as const, schema: 'public', value: 'sales' },
      {
        target: 'table' as const,
        action: 'rename' as const,
        schema: 'public',
        table: 'orders',
        value: 'orders_v2',
      },
      {
        target: 'column' as const,
        action: 'rename' as const,
        schema: 'public',
        table: 'orders',
        column: 'amount',
        value: 'total',
      },
      {
        target: 'column' as const,
        action: 'remove-column' as const,
        schema: 'public',
        table: 'orders',
        column: 'secret',
      },
      {
        target: 'column' as const,
        action: 'add-column' as const,
        schema: 'public',
        table: 'orders',
        value: 'loaded_by',
        expression: "'dms'",
        dataType: { type: 'string' as const, length: 10 },
      },
    ];
    const selection = [
      { action: 'include' as const, schema: 'public', table: '%' },
      { action: 'include' as const, schema: 'sales', table: '%' },
    ];
    const equal = await compare({ transformations, selection });
    expect(equal.tables.map((t) => [t.table.schema, t.table.table, t.status])).toEqual([
      ['public', 'orders', 'equal'],
    ]);
    expect(equal.verdict).toBe('equal');
    expect(equal.notes).toEqual([
      "schema not compared: the transformation rules rename objects, so the target's schema is DMS's, not a copy of the source's",
    ]);
    await query(target, 'UPDATE sales.orders_v2 SET total = 0 WHERE id = 42');
    const changed = await compare({ transformations, selection });
    expect(changed.tables[0]?.differences).toEqual([
      {
        kind: 'different',
        key: { id: '42' },
        columns: [{ name: 'amount', source: '52.50', target: '0.00' }],
      },
    ]);
    // Without the rules the same databases share no table.
    const plain = await compare({ selection, schema: false });
    expect(plain.tables.map((t) => [t.table.table, t.status])).toEqual([
      ['orders', 'missing-on-target'],
      ['orders_v2', 'missing-on-source'],
    ]);
  });

  it('names 10 scattered rows in a table of many chunks, with XORed or summed chunk checksums', async () => {
    await both('CREATE TABLE big (id bigint PRIMARY KEY, payload text, amount numeric(12,2))');
    await both(
      'INSERT INTO big SELECT g, md5(g::text), g / 100.0 FROM generate_series(1, 100000) g; ANALYZE big',
    );
    const changed = [17, 9_001, 22_222, 33_333, 45_000, 50_001, 61_234, 77_777, 88_888, 99_999];
    await query(target, `UPDATE big SET amount = amount + 1 WHERE id IN (${changed.join(', ')})`);
    // `sum` is how chunk checksums fold on a server before PostgreSQL 14 (no bit_xor): same rows named.
    for (const fold of ['auto', 'sum'] as const) {
      const result = await compareDatabases({
        source,
        target,
        chunkRows: 5_000,
        leafRows: 500,
        schema: false,
        checksumFold: fold,
      });
      expect(result.checksumFold).toBe(fold === 'auto' ? 'xor' : 'sum');
      const t = result.tables[0]!;
      expect(t.chunks).toBeGreaterThan(10);
      expect(t.differences?.map((d) => Number(d.key.id))).toEqual(changed);
      expect(t.differences?.every((d) => d.columns?.length === 1 && d.columns[0]?.name === 'amount')).toBe(
        true,
      );
    }
  });

  it('compiles the first-level scan of a large table with JIT, and leaves JIT off after it, failed or not', async () => {
    await both('CREATE TABLE j (id int PRIMARY KEY, v text, n numeric(8,2))');
    await both("INSERT INTO j SELECT g, 'v' || g, g / 4.0 FROM generate_series(1, 3000) g");
    await query(target, 'UPDATE j SET n = n + 1 WHERE id IN (5, 2999)');
    const [[s], [t]] = await Promise.all([
      openSnapshotSessions(source, 'source', 1),
      openSnapshotSessions(target, 'target', 1),
    ]);
    const spec: TableSpec = {
      schema: 'public',
      table: 'j',
      keys: [{ name: 'id', type: 'integer', collatable: false }],
      columns: [
        { name: 'id', type: 'integer', notNull: true },
        { name: 'n', type: 'numeric(8,2)', notNull: false },
        { name: 'v', type: 'text', notNull: false },
      ],
      filter: 'true',
      estimatedRows: 3000,
    };
    const jitOf = async (c: pg.Client) => (await c.query('SHOW jit')).rows[0].jit;
    try {
      await Promise.all([s!.query('SAVEPOINT x'), t!.query('SAVEPOINT x')]);
      const d = await diffTableData(s!, t!, spec, { mode: 'typed', chunkRows: 500, jitMinRows: 3000 });
      expect(d.differences.map((x) => x.key.id)).toEqual(['5', '2999']);
      expect([await jitOf(s!), await jitOf(t!)]).toEqual(['off', 'off']);
      // A first-level scan that fails (division by zero in the row filter) with JIT on: back to the
      // table's savepoint, JIT is off again.
      const failing = { ...spec, filter: '1 / (id - 7) <> 0' };
      await expect(diffTableData(s!, t!, failing, { mode: 'typed', jitMinRows: 1 })).rejects.toThrow(
        /division by zero/,
      );
      await Promise.all([s!.query('ROLLBACK TO SAVEPOINT x'), t!.query('ROLLBACK TO SAVEPOINT x')]);
      expect([await jitOf(s!), await jitOf(t!)]).toEqual(['off', 'off']);
    } finally {
      await Promise.all([s!.end(), t!.end()]);
    }
  });

  it('samples chunk bounds again, larger, when a block sample of the table holds too few rows', async () => {
    await both('CREATE TABLE s (k numeric PRIMARY KEY, v text)');
    await both("INSERT INTO s SELECT g / 3.0, 'v' || g FROM generate_series(1, 3000) g; ANALYZE s");
    // An estimate far above the truth (stale statistics): the first sample asks for 0.08% of 30 pages.
    await query(source, "UPDATE pg_class SET reltuples = 1e9 WHERE relname = 's'");
    await query(target, "UPDATE s SET v = 'changed' WHERE k = 1000");
    const result = await compare({ chunkRows: 2_000, leafRows: 100 });
    expect(result.tables[0]).toMatchObject({ status: 'different', method: 'sampled-ranges' });
    expect(result.tables[0]?.chunks).toBeGreaterThan(100);
    expect(diffs(result, 's')?.map((d) => d.key.k)).toEqual(['1000.0000000000000000']);
  });

  it('fails with one line naming host and port when a server is unreachable', async () => {
    await expect(compareDatabases({ source, target: 'postgres://u:pw@127.0.0.1:1/x' })).rejects.toThrowError(
      'cannot connect to target 127.0.0.1:1/x: connection refused',
    );
  });
});
