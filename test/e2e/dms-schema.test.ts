import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { copySequences } from '@dmskit/ops-cli';
import { parseMigrationConfig } from '@dmskit/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDmskit } from '../helpers/cli.js';
import { minimalConfig } from '../helpers/configs.js';
import { scratchDir } from '../helpers/scratch.js';
import { createDatabase, type LocalServer, query, startServer, withClient } from '../helpers/servers.js';

const SOURCE_SQL = `
CREATE SCHEMA sales;
CREATE TYPE sales.status AS ENUM ('new', 'paid');
CREATE TABLE sales.customers (id serial PRIMARY KEY, name text NOT NULL, email text UNIQUE);
CREATE TABLE sales.orders (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  customer_id int NOT NULL REFERENCES sales.customers (id),
  status sales.status NOT NULL DEFAULT 'new',
  total numeric(10,2),
  notes text,
  placed_at timestamptz DEFAULT now());
CREATE INDEX orders_customer_idx ON sales.orders (customer_id, status);
CREATE SEQUENCE sales.invoice_no START 1000;
CREATE VIEW sales.customer_names AS SELECT id, name FROM sales.customers;
INSERT INTO sales.customers (name, email) SELECT 'c' || g, 'c' || g || '@example.com' FROM generate_series(1, 30) g;
INSERT INTO sales.orders (customer_id, total, notes) SELECT 1 + g % 30, g, 'n' FROM generate_series(1, 70) g;
SELECT setval('sales.invoice_no', 1234);`;

const TRANSFORMATIONS = [
  { target: 'schema', action: 'rename', schema: 'sales', value: 'shop' },
  { target: 'table', action: 'rename', schema: 'sales', table: 'customers', value: 'clients' },
  { target: 'column', action: 'rename', schema: 'sales', table: 'customers', column: 'email', value: 'mail' },
  { target: 'column', action: 'remove-column', schema: 'sales', table: 'orders', column: 'notes' },
  {
    target: 'column',
    action: 'add-column',
    schema: 'sales',
    table: 'orders',
    value: 'region',
    expression: "'eu'",
    dataType: { type: 'string', length: 8 },
  },
  {
    target: 'column',
    action: 'change-data-type',
    schema: 'sales',
    table: 'orders',
    column: 'total',
    dataType: { type: 'numeric', precision: 12, scale: 2 },
  },
];

const configOf = (transformations: unknown[]) =>
  minimalConfig({
    task: { tableMappings: [{ action: 'include', schema: 'sales', table: '%' }], transformations },
  });

describe('dmskit schema: the target schema of a DMS task, with its transformation rules, in one transaction', () => {
  let source: LocalServer;
  let target: LocalServer;
  let sourceUrl: string;
  let targetUrl: string;
  let dir: string;
  const write = async (name: string, transformations: unknown[]) => {
    const file = path.join(dir, name);
    await writeFile(file, JSON.stringify(configOf(transformations)));
    return file;
  };
  const columns = (table: string) =>
    query<{ c: string }>(
      targetUrl,
      `SELECT attname || ' ' || format_type(atttypid, atttypmod) AS c FROM pg_attribute
        WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      [table],
    ).then((rows) => rows.map((r) => r.c));
  const tablesOn = (url: string) =>
    query<{ t: string }>(
      url,
      `SELECT n.nspname || '.' || c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND n.nspname IN ('sales', 'shop') ORDER BY 1`,
    ).then((rows) => rows.map((r) => r.t));

  beforeAll(async () => {
    [source, target] = await Promise.all([startServer('source'), startServer('target')]);
    sourceUrl = await createDatabase(source, 'shop');
    targetUrl = await createDatabase(target, 'shop');
    await withClient(sourceUrl, (c) => c.query(SOURCE_SQL));
    dir = await scratchDir('dms-schema');
  });
  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  const schemaRun = (config: string, ...extra: string[]) =>
    runDmskit(['schema', '--config', config, '--source-url', sourceUrl, '--target-url', targetUrl, ...extra]);

  it('a rule PostgreSQL cannot apply (a column a view needs) fails in one line and leaves the target as it was', async () => {
    const config = await write('bad.json', [
      { target: 'column', action: 'remove-column', schema: 'sales', table: 'customers', column: 'name' },
    ]);
    const run = await schemaRun(config);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(
      /the schema copy to 127\.0\.0\.1:\d+\/shop failed and was rolled back \(nothing applied\): ERROR: +cannot drop column name of table sales\.customers because other objects depend on it/,
    );
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(await tablesOn(targetUrl)).toEqual([]);
  });

  it('--dry-run prints the DDL and changes nothing', async () => {
    const config = await write('shop.json', TRANSFORMATIONS);
    const run = await schemaRun(config, '--dry-run');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('would create on');
    expect(run.stdout).toContain('ALTER TABLE "sales"."customers" RENAME TO "clients";');
    expect(await tablesOn(targetUrl)).toEqual([]);
  });

  it('creates the tables where DMS writes them, with their columns, keys, indexes and sequences', async () => {
    const config = await write('shop.json', TRANSFORMATIONS);
    const run = await schemaRun(config);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('created on');
    expect(run.stdout).toContain('sales.orders: column notes removed');
    expect(await tablesOn(targetUrl)).toEqual(['shop.clients', 'shop.orders']);
    expect(await columns('shop.orders')).toEqual([
      'id bigint',
      'customer_id integer',
      'status sales.status',
      'total numeric(12,2)',
      'placed_at timestamp with time zone',
      'region character varying(8)',
    ]);
    expect(await columns('shop.clients')).toEqual(['id integer', 'name text', 'mail text']);
    const constraints = await query<{ def: string }>(
      targetUrl,
      `SELECT conrelid::regclass || ' ' || pg_get_constraintdef(oid) AS def FROM pg_constraint
        WHERE connamespace = 'shop'::regnamespace ORDER BY 1`,
    );
    // No foreign key yet: DMS truncates the tables it loads, which PostgreSQL refuses for a referenced one.
    expect(constraints.map((r) => r.def)).toEqual([
      'shop.clients PRIMARY KEY (id)',
      'shop.clients UNIQUE (mail)',
      'shop.orders PRIMARY KEY (id)',
    ]);
    expect(run.stdout).toContain(
      '1 foreign key(s) left for after the full load (DMS truncates the tables it loads, which a foreign key forbids): dmskit schema --foreign-keys',
    );
    const [index] = await query<{ def: string }>(
      targetUrl,
      "SELECT pg_get_indexdef('shop.orders_customer_idx'::regclass) AS def",
    );
    expect(index?.def).toBe(
      'CREATE INDEX orders_customer_idx ON shop.orders USING btree (customer_id, status)',
    );
    const sequences = await query<{ s: string }>(
      targetUrl,
      "SELECT schemaname || '.' || sequencename AS s FROM pg_sequences ORDER BY 1",
    );
    expect(sequences.map((r) => r.s)).toEqual([
      'shop.customers_id_seq',
      'shop.invoice_no',
      'shop.orders_id_seq',
    ]);
  });

  it('run again: nothing to do; with some tables gone: refused, naming the ones there', async () => {
    const config = await write('shop.json', TRANSFORMATIONS);
    const again = await schemaRun(config);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('already on');
    await query(targetUrl, 'DROP TABLE shop.orders');
    const partial = await schemaRun(config);
    expect(partial.code).toBe(2);
    expect(partial.stderr).toContain('the target already has 1 of the 2 tables (shop.clients)');
    // Starting over: the tables' schema and the one that kept the enum type.
    await query(targetUrl, 'DROP SCHEMA shop, sales CASCADE');
    const fresh = await schemaRun(config);
    expect(fresh.code, fresh.stderr).toBe(0);
  });

  it('the cutover copies each sequence to the one its table and column own where DMS wrote them', async () => {
    const { config } = parseMigrationConfig(configOf(TRANSFORMATIONS));
    await withClient(sourceUrl, (s) =>
      withClient(targetUrl, (t) =>
        copySequences(s, t, config.task.tableMappings, config.task.transformations),
      ),
    );
    const values = await query<{ s: string; v: string }>(
      targetUrl,
      "SELECT schemaname || '.' || sequencename AS s, last_value::text AS v FROM pg_sequences ORDER BY 1",
    );
    expect(values).toEqual([
      { s: 'shop.customers_id_seq', v: '30' },
      { s: 'shop.invoice_no', v: '1234' },
      { s: 'shop.orders_id_seq', v: '70' },
    ]);
  });

  it('after the full load: --foreign-keys adds each key under the names DMS wrote, validated; rows that break one leave it out, exit 1', async () => {
    const config = await write('shop.json', TRANSFORMATIONS);
    // What DMS would have loaded, under the target's names.
    await query(
      targetUrl,
      "INSERT INTO shop.clients (id, name, mail) SELECT g, 'c' || g, 'c' || g || '@x' FROM generate_series(1, 30) g",
    );
    await query(
      targetUrl,
      'INSERT INTO shop.orders (id, customer_id, total) OVERRIDING SYSTEM VALUE SELECT g, 1 + g % 30, g FROM generate_series(1, 70) g',
    );
    const fkOf = () =>
      query<{ def: string; valid: boolean }>(
        targetUrl,
        `SELECT conname || ' ' || pg_get_constraintdef(oid) AS def, convalidated AS valid FROM pg_constraint
          WHERE contype = 'f' AND connamespace = 'shop'::regnamespace`,
      );
    const added = await schemaRun(config, '--foreign-keys');
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain('1 added and validated, 0 already there, 0 broken by the rows, 0 skipped');
    expect(await fkOf()).toEqual([
      { def: 'orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES shop.clients(id)', valid: true },
    ]);
    const again = await schemaRun(config, '--foreign-keys');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('0 added and validated, 1 already there');
    // An order whose client DMS never wrote: the key cannot hold, and it is not left half there.
    await query(targetUrl, 'ALTER TABLE shop.orders DROP CONSTRAINT orders_customer_id_fkey');
    await query(
      targetUrl,
      'INSERT INTO shop.orders (id, customer_id) OVERRIDING SYSTEM VALUE VALUES (999, 4242)',
    );
    const broken = await schemaRun(config, '--foreign-keys');
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(
      /not added \(removed again\): orders_customer_id_fkey on shop\.orders: .*violates foreign key constraint/,
    );
    expect(await fkOf()).toEqual([]);
  });
});
