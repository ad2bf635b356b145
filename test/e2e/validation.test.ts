import { compareDatabases } from '@dmskit/validation';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createDatabase, type LocalServer, query, startServer } from '../helpers/servers.js';

/** The first comparison (counts and in-database checksums) on two real servers. */
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

  it('calls identical tables equal, even with the columns in another order on the target', async () => {
    await query(
      source,
      'CREATE TABLE t (id int PRIMARY KEY, name text, price numeric(10,2), at timestamptz)',
    );
    await query(
      target,
      'CREATE TABLE t (at timestamptz, price numeric(10,2), id int PRIMARY KEY, name text)',
    );
    const rows =
      "INSERT INTO t (id, name, price, at) SELECT g, 'n' || g, g * 1.5, '2024-01-01'::timestamptz + g * interval '1 s' FROM generate_series(1, 1000) g";
    await both(rows);
    const result = await compareDatabases({ source, target });
    expect(result.verdict).toBe('equal');
    expect(result.tables).toEqual([
      expect.objectContaining({ status: 'equal', source: expect.objectContaining({ rows: 1000 }) }),
    ]);
  });

  it('names a table with one changed row, and one with a missing row', async () => {
    await both('CREATE TABLE a (id int PRIMARY KEY, v text); CREATE TABLE b (id int PRIMARY KEY, v text)');
    await both(
      "INSERT INTO a SELECT g, 'x' FROM generate_series(1, 100) g; INSERT INTO b SELECT g, 'y' FROM generate_series(1, 100) g",
    );
    await query(target, "UPDATE a SET v = 'X' WHERE id = 50");
    await query(target, 'DELETE FROM b WHERE id = 7');
    const result = await compareDatabases({ source, target });
    expect(result.verdict).toBe('different');
    expect(result.tables.map((t) => [t.table.table, t.status, t.reasons])).toEqual([
      ['a', 'different', ['checksum differs over 100 rows']],
      ['b', 'different', ['row count differs: 100 on the source, 99 on the target']],
    ]);
  });

  it('tells NULL from an empty string, and a separator inside a value from two values', async () => {
    await both('CREATE TABLE t (id int PRIMARY KEY, a text, b text)');
    await query(source, "INSERT INTO t VALUES (1, NULL, 'x'), (2, 'p,q', 'r')");
    await query(target, "INSERT INTO t VALUES (1, '', 'x'), (2, 'p', 'q,r')");
    expect((await compareDatabases({ source, target })).tables[0]?.status).toBe('different');
  });

  it('reports a table missing on either side, and a column type difference, never as equal', async () => {
    await query(
      source,
      'CREATE TABLE only_source (id int PRIMARY KEY); CREATE TABLE typed (id int PRIMARY KEY, n int)',
    );
    await query(
      target,
      'CREATE TABLE only_target (id int PRIMARY KEY); CREATE TABLE typed (id int PRIMARY KEY, n bigint)',
    );
    const result = await compareDatabases({ source, target });
    expect(result.verdict).toBe('different');
    expect(result.tables.map((t) => [t.table.table, t.status])).toEqual([
      ['only_source', 'missing-on-target'],
      ['only_target', 'missing-on-source'],
      ['typed', 'different'],
    ]);
    expect(result.tables[2]?.reasons).toEqual(['column n is integer on the source but bigint on the target']);
  });

  it('reports a skipped table as skipped and the verdict as incomplete', async () => {
    await both('CREATE TABLE t (id int PRIMARY KEY); CREATE TABLE u (id int PRIMARY KEY)');
    const result = await compareDatabases({ source, target, skip: [{ schema: 'public', table: 'u' }] });
    expect(result.verdict).toBe('incomplete');
    expect(result.counts).toMatchObject({ equal: 1, skipped: 1 });
  });

  it('follows selection rules, and counts duplicates in a table without a key', async () => {
    await both('CREATE TABLE keep_me (v text); CREATE TABLE tmp_scratch (v text)');
    await query(
      source,
      "INSERT INTO keep_me VALUES ('a'), ('a'), ('b'); INSERT INTO tmp_scratch VALUES ('junk')",
    );
    await query(target, "INSERT INTO keep_me VALUES ('a'), ('b'), ('b')");
    const selection = [
      { action: 'include' as const, schema: 'public', table: '%' },
      { action: 'exclude' as const, schema: 'public', table: 'tmp_%' },
    ];
    const result = await compareDatabases({ source, target, selection });
    expect(result.tables.map((t) => [t.table.table, t.status])).toEqual([['keep_me', 'different']]);
  });

  it('fails with one line naming host and port when a server is unreachable', async () => {
    await expect(compareDatabases({ source, target: 'postgres://u:pw@127.0.0.1:1/x' })).rejects.toThrowError(
      'cannot connect to target 127.0.0.1:1/x: connection refused',
    );
  });
});
