import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, rehearseOn, runDmskit } from '../helpers/cli.js';
import { independentDiff } from '../helpers/independent.js';
import { scratchDir } from '../helpers/scratch.js';
import { query, startLogicalPair, withClient } from '../helpers/servers.js';

/**
 * Keys of every kind PostgreSQL allows, in the style of PostgreSQL's own logical-replication type tests
 * (src/test/subscription/t/002_types.pl): arrays, an enum whose sort order is not its text order,
 * composites and a nested composite, ranges and a multirange, domains, numeric and float keys, bytea,
 * inet, a unique key without a primary key, and keys mixing them; columns of extension and other types.
 * Enough rows that the larger tables are cut into chunks.
 */
const SCHEMA = `
CREATE EXTENSION hstore; CREATE EXTENSION ltree; CREATE EXTENSION citext;
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TYPE pair AS (a int, b text);
CREATE TYPE nested AS (p pair, tag mood);
CREATE DOMAIN posint AS int CHECK (VALUE > 0);
CREATE DOMAIN tags AS text[];
CREATE TABLE k_int_array (k int[] PRIMARY KEY, v text);
INSERT INTO k_int_array SELECT ARRAY[g % 97, g, -g], 'v' || g FROM generate_series(1, 5000) g;
INSERT INTO k_int_array VALUES ('{}', 'empty'), ('{{1,2},{3,4}}', 'matrix'), ('[0:1]={7,8}', 'lower bound 0');
CREATE TABLE k_text_array (k text[] PRIMARY KEY, h hstore, l ltree);
INSERT INTO k_text_array SELECT ARRAY['a,b', 'é' || g, NULL], hstore('k', g::text), ('top.n' || g)::ltree FROM generate_series(1, 300) g;
CREATE TABLE k_enum (k mood PRIMARY KEY, v citext);
INSERT INTO k_enum VALUES ('happy', 'Joy'), ('sad', 'Blue'), ('ok', 'Fine');
CREATE TABLE k_composite (k pair PRIMARY KEY, v int4multirange);
INSERT INTO k_composite SELECT ROW(g % 50, 'p "' || g || '"')::pair, int4multirange(int4range(g, g + 2), int4range(g + 5, g + 9)) FROM generate_series(1, 3000) g;
INSERT INTO k_composite VALUES (ROW(NULL, NULL)::pair, NULL), (ROW(1, NULL)::pair, '{}');
CREATE TABLE k_nested (k nested PRIMARY KEY, x xml, b bit varying(8), m money, ts tsvector, lsn pg_lsn);
INSERT INTO k_nested SELECT ROW(ROW(g, 'n' || g)::pair, (ARRAY['sad','ok','happy'])[1 + g % 3]::mood)::nested,
       xmlparse(content '<a>' || g || '</a>'), B'1011', g * 1.25, to_tsvector('simple', 'row ' || g), ('0/' || to_hex(g))::pg_lsn
  FROM generate_series(1, 400) g;
CREATE TABLE k_range (k int4range PRIMARY KEY, t tstzrange, p point, c circle);
INSERT INTO k_range SELECT int4range(g, g * 2 + 1), tstzrange('2026-01-01'::timestamptz + g * interval '1 h', NULL), point(g, -g), circle(point(0, g), 1) FROM generate_series(1, 2500) g;
INSERT INTO k_range VALUES ('empty', NULL, NULL, NULL), ('(,)', 'empty', NULL, NULL);
CREATE TABLE k_domain (k posint PRIMARY KEY, t tags);
INSERT INTO k_domain SELECT g, ARRAY['t' || g] FROM generate_series(1, 2500) g;
CREATE TABLE k_numeric (k numeric PRIMARY KEY, f float8, j jsonb);
INSERT INTO k_numeric SELECT g / 8.0, g / 3.0, jsonb_build_object('n', g / 4.0, 'a', jsonb_build_array(jsonb_build_array(g), g)) FROM generate_series(1, 3000) g;
INSERT INTO k_numeric VALUES ('NaN', 'NaN', '[[1],2]'), ('Infinity', '-Infinity', '1.50'), ('-Infinity', '-0', '{}');
CREATE TABLE k_float (k float8 PRIMARY KEY, v interval);
INSERT INTO k_float SELECT g * 0.1, g * interval '1 min' FROM generate_series(1, 2500) g;
INSERT INTO k_float VALUES ('Infinity', '1 day'), ('-Infinity', '24 hours'), ('NaN', '-1 day');
CREATE TABLE k_bytea (k bytea PRIMARY KEY, v inet);
INSERT INTO k_bytea SELECT decode(md5(g::text), 'hex'), ('10.0.' || (g % 256) || '.' || (g / 256))::inet FROM generate_series(1, 2500) g;
INSERT INTO k_bytea VALUES ('\\x', '::1');
CREATE TABLE k_inet (k inet PRIMARY KEY, v macaddr);
INSERT INTO k_inet SELECT ('192.168.' || (g / 256) || '.' || (g % 256) || '/32')::inet, '08:00:2b:01:02:03' FROM generate_series(1, 600) g;
CREATE TABLE k_unique (code text NOT NULL, n int, v text);
CREATE UNIQUE INDEX k_unique_code ON k_unique (code);
ALTER TABLE k_unique REPLICA IDENTITY USING INDEX k_unique_code;
INSERT INTO k_unique SELECT 'Code-' || g || CASE WHEN g % 2 = 0 THEN 'ä' ELSE 'A' END, g, NULL FROM generate_series(1, 2500) g;
CREATE TABLE k_mixed (a mood, b int[], c date, d uuid, e numeric, f pair, v text, PRIMARY KEY (a, b, c, d, e, f));
INSERT INTO k_mixed SELECT (ARRAY['sad','ok','happy'])[1 + g % 3]::mood, ARRAY[g % 5], date '2026-01-01' + g % 9,
       md5((g % 11)::text)::uuid, g % 13 / 4.0, ROW(g, 'x')::pair, 'v' || g FROM generate_series(1, 4000) g;
-- Row estimates as the catalog will hold them (validation chunks a table by its estimate).
ANALYZE;
`;

/** What the application does during CDC: updates of values and of keys, deletes and inserts, on every table. */
const CDC_CHANGES = `
UPDATE k_int_array SET v = v || '!' WHERE k[2] % 100 = 0;
UPDATE k_int_array SET k = k || 0 WHERE k[2] BETWEEN 10 AND 12;
DELETE FROM k_int_array WHERE k[2] % 250 = 3 OR k = '{}';
INSERT INTO k_int_array VALUES ('{-1,-1}', 'new'), ('{NULL,1}', 'null element');
UPDATE k_text_array SET h = h || hstore('x', NULL), l = l || 'leaf' WHERE k[2] = 'é7';
DELETE FROM k_text_array WHERE k[2] = 'é8';
UPDATE k_enum SET k = 'ok', v = 'FINE' WHERE k = 'ok';
DELETE FROM k_enum WHERE k = 'sad';
UPDATE k_composite SET v = v + int4multirange(int4range(100, 200)) WHERE (k).a = 3;
UPDATE k_composite SET k = ROW((k).a + 1000, (k).b)::pair WHERE (k).a = 4;
DELETE FROM k_composite WHERE (k).a = 5 OR (k).a IS NULL;
UPDATE k_nested SET m = m + 1::money, lsn = '1/0' WHERE ((k).p).a % 40 = 1;
DELETE FROM k_nested WHERE (k).tag = 'ok' AND ((k).p).a % 7 = 0;
UPDATE k_range SET k = int4range(lower(k), upper(k) + 1), t = 'empty' WHERE lower(k) % 300 = 1;
DELETE FROM k_range WHERE k = 'empty';
UPDATE k_domain SET t = t || 'extra'::text WHERE k % 500 = 0;
DELETE FROM k_domain WHERE k % 777 = 0;
UPDATE k_numeric SET j = '{"n": 1.0}', f = 'Infinity' WHERE k = 'NaN' OR k = 10;
UPDATE k_numeric SET k = k + 0.0001 WHERE k = 2;
DELETE FROM k_numeric WHERE k = 'Infinity' OR k = 7;
UPDATE k_float SET v = v + interval '1 s' WHERE k = 'NaN' OR k < 1;
DELETE FROM k_float WHERE k = '-Infinity';
UPDATE k_bytea SET k = k || '\\x00'::bytea WHERE substr(k, 1, 1) = '\\x00'::bytea;
DELETE FROM k_bytea WHERE k = '\\x';
UPDATE k_inet SET v = '08:00:2b:01:02:04' WHERE k << '192.168.1.0/24';
UPDATE k_unique SET v = 'set', code = code || 'ß' WHERE n % 400 = 0;
DELETE FROM k_unique WHERE n % 333 = 0;
UPDATE k_mixed SET v = NULL WHERE c = date '2026-01-03';
UPDATE k_mixed SET a = 'happy', e = e + 100 WHERE a = 'sad' AND (f).a % 97 = 0;
DELETE FROM k_mixed WHERE (f).a % 101 = 0;
INSERT INTO k_mixed VALUES ('ok', '{}', 'infinity', '00000000-0000-0000-0000-000000000000', 'NaN', ROW(NULL, NULL)::pair, 'edge');
`;

/**
 * The rehearsal on servers passed in (a user's own database, --no-sample-data) with those keys: every
 * table migrates, CDC carries updates (of keys too) and deletes, validation says equal and an independent
 * row-by-row check agrees; then single changes on the target are named exactly, with the column.
 */
describe('unusual keys through the native migration', () => {
  let pair: Awaited<ReturnType<typeof startLogicalPair>> | undefined;
  let sourceUrl: string;
  let targetUrl: string;
  let run: CliResult;
  let report: {
    validation: { verdict: string; tables: { table: { table: string }; status: string; method?: string }[] };
  };
  let changed = false;

  beforeAll(async () => {
    pair = await startLogicalPair('keys');
    ({ sourceUrl, targetUrl } = pair);
    await query(sourceUrl, SCHEMA);
    const out = await scratchDir('unusual-keys');
    run = await rehearseOn(sourceUrl, targetUrl, {
      out,
      duringCdc: () =>
        withClient(sourceUrl, async (c) => {
          await c.query(CDC_CHANGES);
          changed = true;
        }),
    });
    report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'));
  });

  afterAll(async () => {
    await Promise.all([pair?.source.stop(), pair?.target.stop()]);
  });

  it('migrates every table, CDC changes included, and validates equal', () => {
    expect(run.code, run.stderr).toBe(0);
    expect(changed).toBe(true);
    expect(report.validation.verdict).toBe('equal');
    expect(report.validation.tables).toHaveLength(13);
    for (const t of report.validation.tables) expect(t.status, t.table.table).toBe('equal');
    // The report says how each table was chunked; arrays, composites and ranges have no portable order.
    const method = Object.fromEntries(report.validation.tables.map((t) => [t.table.table, t.method]));
    expect(method.k_int_array).toBe('key-hash');
    expect(method.k_composite).toBe('key-hash');
    expect(method.k_numeric).toBe('sampled-ranges');
    for (const t of report.validation.tables) expect(t.method, t.table.table).toBeTruthy();
  });

  it('agrees with an independent row-by-row check', async () => {
    const check = await independentDiff(sourceUrl, targetUrl);
    expect(check.tables).toBe(13);
    expect(check.differences).toEqual([]);
  });

  it('names a changed cell, a deleted row and an inserted row on the target, with the column', async () => {
    await query(
      targetUrl,
      `UPDATE k_mixed SET v = 'changed' WHERE ctid = (SELECT ctid FROM k_mixed WHERE v = 'v77');
       DELETE FROM k_composite WHERE k = ROW(6, 'p "6"')::pair;
       INSERT INTO k_int_array VALUES ('{42,42,42}', 'extra');
       UPDATE k_nested SET x = xmlparse(content '<a>other</a>') WHERE ((k).p).a = 9;`,
    );
    const json = await runDmskit(['validate', '--source', sourceUrl, '--target', targetUrl, '--json']);
    expect(json.code, json.stderr).toBe(1);
    const result = JSON.parse(json.stdout) as {
      tables: {
        table: { table: string };
        status: string;
        differences?: { kind: string; key: Record<string, string>; columns?: { name: string }[] }[];
      }[];
    };
    const differing = Object.fromEntries(
      result.tables.filter((t) => t.status !== 'equal').map((t) => [t.table.table, t.differences]),
    );
    expect(Object.keys(differing).sort()).toEqual(['k_composite', 'k_int_array', 'k_mixed', 'k_nested']);
    expect(differing.k_mixed).toEqual([
      expect.objectContaining({ kind: 'different', columns: [expect.objectContaining({ name: 'v' })] }),
    ]);
    expect(differing.k_composite).toEqual([
      expect.objectContaining({ kind: 'missing-on-target', key: { k: '(6,"p ""6""")' } }),
    ]);
    expect(differing.k_int_array).toEqual([
      expect.objectContaining({ kind: 'extra-on-target', key: { k: '{42,42,42}' } }),
    ]);
    expect(differing.k_nested).toEqual([
      expect.objectContaining({ kind: 'different', columns: [expect.objectContaining({ name: 'x' })] }),
    ]);
  });
});
