import { readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDmskit, startDmskit } from '../helpers/cli.js';
import { independentDiff } from '../helpers/independent.js';
import { prepareMigration, until } from '../helpers/migration.js';
import { scratchDir } from '../helpers/scratch.js';
import { expectNoReplicationObjects, type LocalServer, query, startServer } from '../helpers/servers.js';

/** Tables that exercise every path of the copy: split, whole, binary, text, odd columns, partitions, LOBs. */
const SCHEMA = `
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN positive AS int CHECK (VALUE > 0);
CREATE TYPE pair AS (a int, b text);
CREATE TABLE accounts (id bigint PRIMARY KEY, balance numeric(14,2) NOT NULL, note text, at timestamptz NOT NULL DEFAULT now());
INSERT INTO accounts SELECT g, g * 1.5, repeat('x', g % 50), timestamptz '2026-01-01' - g * interval '1 minute'
  FROM generate_series(1, 150000) g;
CREATE INDEX accounts_balance_idx ON accounts (balance);
CREATE TABLE nokey (a int, b text, c float8);
INSERT INTO nokey SELECT g, md5(g::text), g / 7.0 FROM generate_series(1, 60000) g;
CREATE TABLE gen (id int PRIMARY KEY, price numeric(10,2), qty int, total numeric GENERATED ALWAYS AS (price * qty) STORED);
INSERT INTO gen (id, price, qty) SELECT g, g / 3.0, g % 7 FROM generate_series(1, 1000) g;
CREATE TABLE dropped (id int PRIMARY KEY, gone text, kept text);
INSERT INTO dropped SELECT g, 'gone', 'kept ' || g FROM generate_series(1, 1000) g;
ALTER TABLE dropped DROP COLUMN gone;
CREATE TABLE part (id int, at date, v text, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE part_2025 PARTITION OF part FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE part_2026 PARTITION OF part FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO part SELECT g, date '2025-01-01' + (g % 700), 'v' || g FROM generate_series(1, 5000) g;
CREATE TABLE blobs (id int PRIMARY KEY, data bytea NOT NULL);
INSERT INTO blobs SELECT g, decode(repeat(md5(g::text), 300000), 'hex') FROM generate_series(1, 3) g;
CREATE TABLE typed (id int PRIMARY KEY, m mood, ms mood[], p positive, pr pair, tags text[], j jsonb, u uuid,
  ts timestamptz, iv interval, f4 real, f8 float8, nums numeric[]);
INSERT INTO typed VALUES
  (1, 'happy', '{sad,happy}', 7, ROW(1, 'a "quoted", text'), '{"x y",NULL,"\\\\"}', '{"k": [1, 2.5, null]}',
   'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'infinity', '1 year 2 days 03:04:05.678', 'NaN', '-Infinity', '{1.5,NaN}'),
  (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (3, 'ok', '{}', 1, ROW(NULL, NULL), '{}', '[]', '00000000-0000-0000-0000-000000000000', '1999-12-31 23:59:59.999999+05',
   '-1 microsecond', 3.4028235e38, 2.2250738585072014e-308, '{0.000000000000000001}');
CREATE TABLE keyed (id int, region int, code text NOT NULL, label text, slot int,
  CONSTRAINT keyed_pkey PRIMARY KEY (region, id) WITH (fillfactor = 80),
  CONSTRAINT "Keyed Code" UNIQUE (code) INCLUDE (label),
  CONSTRAINT keyed_slot_key UNIQUE (slot) DEFERRABLE INITIALLY DEFERRED);
CREATE INDEX keyed_label_idx ON keyed (lower(label)) WHERE slot > 10;
INSERT INTO keyed SELECT g, g % 5, 'c' || g, 'L' || g, CASE WHEN g % 3 > 0 THEN g END FROM generate_series(1, 20000) g;
CREATE TABLE orders (id int PRIMARY KEY, account bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
  code text REFERENCES keyed (code) DEFERRABLE INITIALLY IMMEDIATE, parent int REFERENCES orders (id) ON DELETE SET NULL,
  gen_id int, part_id int, part_at date, doc jsonb, words tsvector, during tstzrange,
  CONSTRAINT orders_during_excl EXCLUDE USING gist (during WITH &&),
  CONSTRAINT orders_part_fkey FOREIGN KEY (part_id, part_at) REFERENCES part (id, at));
INSERT INTO orders SELECT g, 1 + g * 7 % 150000, 'c' || (1 + g % 20000), CASE WHEN g > 1 THEN g / 2 END,
  1 + g % 1000, 1 + g % 5000, date '2025-01-01' + ((1 + g % 5000) % 700),
  jsonb_build_object('k', g % 10), to_tsvector('simple', 'w' || g % 30), tstzrange(timestamptz '2026-01-01' + g * interval '1 h', timestamptz '2026-01-01' + (g + 1) * interval '1 h')
  FROM generate_series(1, 5000) g;
-- A key the source has NOT VALID (a row breaks it): it stays so on the target, never validated.
UPDATE orders SET gen_id = 5000 WHERE id = 7;
ALTER TABLE orders ADD CONSTRAINT orders_gen_fkey FOREIGN KEY (gen_id) REFERENCES gen (id) NOT VALID;
CREATE INDEX orders_doc_gin ON orders USING gin (doc);
CREATE INDEX orders_words_gin ON orders USING gin (words);
CREATE INDEX orders_account_idx ON orders USING hash (account);
CREATE INDEX orders_during_spgist ON orders USING spgist (during);
CREATE INDEX accounts_at_brin ON accounts USING brin (at);
CREATE UNIQUE INDEX orders_lower_code_id ON orders (lower(code), id) INCLUDE (doc);
CREATE INDEX orders_words_gist ON orders USING gist (words tsvector_ops (siglen = 32));
CREATE INDEX part_v_idx ON part (v);
-- Index kinds of extensions, an exclusion constraint over two operators, NULLS NOT DISTINCT, a sort order
-- and collation, an expression column's statistics target, CLUSTER ON.
CREATE EXTENSION btree_gist;
CREATE EXTENSION bloom;
CREATE TABLE bookings (id int PRIMARY KEY, room int NOT NULL, during tsrange NOT NULL, guest text, score int,
  CONSTRAINT bookings_no_overlap EXCLUDE USING gist (room WITH =, during WITH &&));
INSERT INTO bookings SELECT g, g % 50, tsrange(timestamp '2026-01-01' + g * interval '1 h', timestamp '2026-01-01' + (g + 1) * interval '1 h'),
  CASE WHEN g > 1 THEN 'g' || g % 5000 END, g % 7 FROM generate_series(1, 20000) g;
ALTER TABLE bookings ADD CONSTRAINT bookings_guest_score_key UNIQUE NULLS NOT DISTINCT (guest, score);
CREATE INDEX bookings_bloom ON bookings USING bloom (room, score) WITH (length = 80, col1 = 2);
CREATE INDEX bookings_guest_desc ON bookings (guest COLLATE "C" DESC NULLS LAST, id);
CREATE INDEX bookings_lower_guest ON bookings (lower(guest));
ALTER INDEX bookings_lower_guest ALTER COLUMN 1 SET STATISTICS 500;
ALTER TABLE bookings CLUSTER ON bookings_guest_desc;
-- A foreign key onto a unique index that is no constraint, the replica identity on that index, a comment.
CREATE TABLE customer (id int NOT NULL, email text NOT NULL, tier int);
INSERT INTO customer SELECT g, 'e' || g, g % 4 FROM generate_series(1, 5000) g;
CREATE UNIQUE INDEX customer_id_uidx ON customer (id);
ALTER TABLE customer REPLICA IDENTITY USING INDEX customer_id_uidx;
COMMENT ON INDEX customer_id_uidx IS 'the key, without a constraint';
ALTER TABLE customer ALTER COLUMN email SET STATISTICS 800;
CREATE TABLE purchase (id int PRIMARY KEY, customer int NOT NULL REFERENCES customer (id));
INSERT INTO purchase SELECT g, 1 + g % 5000 FROM generate_series(1, 10000) g;
-- Two tables that reference each other, one key deferrable.
CREATE TABLE ca (id int PRIMARY KEY, cb int);
CREATE TABLE cb (id int PRIMARY KEY, ca int REFERENCES ca (id));
ALTER TABLE ca ADD CONSTRAINT ca_cb_fkey FOREIGN KEY (cb) REFERENCES cb (id) DEFERRABLE INITIALLY DEFERRED;
INSERT INTO ca SELECT g FROM generate_series(1, 500) g;
INSERT INTO cb SELECT g, g FROM generate_series(1, 500) g;
UPDATE ca SET cb = id;
-- Sub-partitions with defaults, and an index made ON ONLY the parents, then attached.
CREATE TABLE ev (id int, region text, at date, payload jsonb) PARTITION BY LIST (region);
CREATE TABLE ev_eu PARTITION OF ev FOR VALUES IN ('eu') PARTITION BY RANGE (at);
CREATE TABLE ev_eu_2025 PARTITION OF ev_eu FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE ev_eu_rest PARTITION OF ev_eu DEFAULT;
CREATE TABLE ev_other PARTITION OF ev DEFAULT;
ALTER TABLE ev ADD PRIMARY KEY (id, region, at);
INSERT INTO ev SELECT g, CASE WHEN g % 3 = 0 THEN 'us' ELSE 'eu' END, date '2025-01-01' + g % 600, jsonb_build_object('g', g)
  FROM generate_series(1, 6000) g;
CREATE INDEX ev_payload ON ev USING gin (payload jsonb_path_ops);
CREATE INDEX ev_at ON ONLY ev (at);
CREATE INDEX ev_eu_at ON ONLY ev_eu (at);
CREATE INDEX ev_eu_2025_at ON ev_eu_2025 (at);
CREATE INDEX ev_eu_rest_at ON ev_eu_rest (at);
CREATE INDEX ev_other_at ON ev_other (at);
ALTER INDEX ev_eu_at ATTACH PARTITION ev_eu_2025_at;
ALTER INDEX ev_eu_at ATTACH PARTITION ev_eu_rest_at;
ALTER INDEX ev_at ATTACH PARTITION ev_eu_at;
ALTER INDEX ev_at ATTACH PARTITION ev_other_at;
-- Inheritance: the parent's rows are its own (COPY of the parent alone), the child has its own key.
CREATE TABLE log (id int PRIMARY KEY, msg text);
CREATE TABLE log_child (extra int) INHERITS (log);
ALTER TABLE log_child ADD PRIMARY KEY (id);
INSERT INTO log SELECT g, 'm' FROM generate_series(1, 500) g;
INSERT INTO log_child SELECT g, 'c', g FROM generate_series(501, 900) g;
CREATE INDEX log_child_extra ON log_child (extra) WHERE extra > 600;
-- Materialized views: a schema-only dump makes them WITH NO DATA; one reads another; one is unpopulated.
CREATE MATERIALIZED VIEW tier_counts AS SELECT tier, count(*) AS n FROM customer GROUP BY tier;
CREATE UNIQUE INDEX tier_counts_tier ON tier_counts (tier);
CREATE MATERIALIZED VIEW busy_tiers AS SELECT tier FROM tier_counts WHERE n > 1000;
CREATE MATERIALIZED VIEW never_filled AS SELECT 1 AS one WITH NO DATA;
-- One that reads another through a plain view (no direct dependency between the two).
CREATE VIEW tier_counts_v AS SELECT * FROM tier_counts;
CREATE MATERIALIZED VIEW big_tiers AS SELECT tier FROM tier_counts_v WHERE n > 100;
ANALYZE;`;

/**
 * Every index, constraint and relation of schema public, with what makes it what it is: for a relation its
 * kind, persistence, replica identity, inheritance and whether a materialized view is populated.
 */
const keysAndIndexes = (url: string) =>
  query<{ d: string }>(
    url,
    `SELECT indexdef AS d FROM pg_indexes WHERE schemaname = 'public'
     UNION ALL
     SELECT format('%s %s on %s: %s index %s (primary %s, immediate %s)', contype, conname, conrelid::regclass,
                   pg_get_constraintdef(c.oid), conindid::regclass, x.indisprimary, x.indimmediate)
       FROM pg_constraint c LEFT JOIN pg_index x ON x.indexrelid = c.conindid
      WHERE connamespace = 'public'::regnamespace
     UNION ALL
     SELECT format('index %s: clustered %s, valid %s, replica identity %s, statistics %s, comment %s',
                   x.indexrelid::regclass, x.indisclustered, x.indisvalid, x.indisreplident,
                   (SELECT string_agg(a.attnum || '=' || a.attstattarget, ',' ORDER BY a.attnum)
                      FROM pg_attribute a WHERE a.attrelid = x.indexrelid AND a.attstattarget >= 0),
                   obj_description(x.indexrelid, 'pg_class'))
       FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
      WHERE i.relnamespace = 'public'::regnamespace
     UNION ALL
     SELECT format('relation %s: kind %s, persistence %s, replica identity %s, populated %s, inherits %s',
                   c.oid::regclass, c.relkind, c.relpersistence, c.relreplident, c.relispopulated,
                   (SELECT string_agg(inhparent::regclass::text, ',') FROM pg_inherits WHERE inhrelid = c.oid))
       FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'm')
     UNION ALL
     SELECT format('column %s.%s: statistics %s', a.attrelid::regclass, a.attname, a.attstattarget)
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
      WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND a.attstattarget > 0
     ORDER BY 1`,
  );

/**
 * The native full load from one snapshot with several workers: every kind of table copies exactly, a
 * large table and a table without a key are split across workers, and writes running on the source
 * during the copy all arrive through CDC (checked row by row without dmskit's code).
 */
describe('full load: parallel copy from the slot snapshot, then CDC from the same point', () => {
  let source: LocalServer;
  let target: LocalServer;
  let dir: string;

  beforeAll(async () => {
    [source, target] = await Promise.all([
      startServer('source', { logical: true }),
      startServer('target', { logical: true }),
    ]);
    dir = await scratchDir('fullload');
  });
  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('copies every table kind exactly under concurrent INSERT/UPDATE/DELETE; split tables use every worker; nothing lost', async () => {
    const m = await prepareMigration(source, target, dir, {
      schema: SCHEMA,
      fullLoad: { chunkMb: 1 },
      // nokey: no replica identity; status would count it as a problem for the cutover otherwise.
      cutover: { insertOnlyTables: [{ schema: 'public', table: 'nokey' }] },
    });
    // The application: INSERT, UPDATE and DELETE on the largest table, INSERT on the one without a key.
    let running = true;
    let committed = 0;
    const writer = (async () => {
      const c = new pg.Client({ connectionString: m.sourceUrl });
      await c.connect();
      let next = 1_000_000;
      while (running) {
        const id = 1 + Math.floor(Math.random() * 150_000);
        await c.query('BEGIN');
        await c.query('UPDATE accounts SET balance = balance + 1, note = $2 WHERE id = $1', [id, `u${next}`]);
        await c.query('DELETE FROM accounts WHERE id = $1', [(id * 7) % 150_000]);
        await c.query('INSERT INTO accounts (id, balance, note) VALUES ($1, 1, $2)', [next, 'new']);
        await c.query('INSERT INTO nokey VALUES ($1, $2, 0.5)', [next, 'during']);
        await c.query('COMMIT');
        committed++;
        next++;
      }
      await c.end();
    })();
    const started = await runDmskit(['start', ...m.args, '--jobs', '3']);
    running = false;
    await writer;
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toMatch(/full load done: [\d,]+ rows of 20 table\(s\) in .* with 3 worker\(s\)/);
    expect(committed).toBeGreaterThan(0);

    const state = JSON.parse(await readFile(path.join(m.stateDir, `start-${m.name}-staging.json`), 'utf8'));
    const chunks = Object.fromEntries(
      (state.fullLoad.tables as { table: string; chunks: number }[]).map((t) => [t.table, t.chunks]),
    );
    expect(chunks.accounts).toBeGreaterThan(3);
    expect(chunks.nokey).toBeGreaterThan(1); // no key: split by ctid
    expect(chunks.typed).toBe(1);

    // CDC carries every write made during and after the copy.
    // CDC carries every write made during and after the copy: a last write, once on the target, follows them.
    await query(m.sourceUrl, "INSERT INTO accounts (id, balance, note) VALUES (0, 0, 'last')");
    await until('the last write to reach the target', async () => {
      return (await query(m.targetUrl, 'SELECT 1 FROM accounts WHERE id = 0')).length === 1;
    });
    const diff = await independentDiff(m.sourceUrl, m.targetUrl);
    expect(diff.differences).toEqual([]);
    expect(diff.tables).toBeGreaterThanOrEqual(20);
    // Materialized views populated from the loaded rows (one over another), as on the source.
    for (const view of ['tier_counts', 'busy_tiers', 'big_tiers'])
      expect(await query(m.targetUrl, `SELECT * FROM ${view} ORDER BY 1`)).toEqual(
        await query(m.sourceUrl, `SELECT * FROM ${view} ORDER BY 1`),
      );
    // Indexes and constraints as on the source.
    expect(await keysAndIndexes(m.targetUrl)).toEqual(await keysAndIndexes(m.sourceUrl));

    const gone = await runDmskit(['abandon', ...m.args]);
    expect(gone.code, gone.stderr).toBe(0);
    await expectNoReplicationObjects(m.sourceUrl, m.targetUrl);
  });

  it.each([
    ["between a key's index and its constraint adopts the index", 'index-build:constraint'],
    ['with a foreign key added NOT VALID copies again and validates it', 'index-build:validate'],
  ])('a start killed %s when run again', async (_, point) => {
    const m = await prepareMigration(source, target, dir, { schema: SCHEMA });
    // Keys are built as a unique index, then the constraint on it: the kill leaves an index without one.
    // Foreign keys are added NOT VALID, then validated: the kill leaves one not validated, which the copy
    // done again must not trip over (TRUNCATE refuses a referenced table).
    const killed = await runDmskit(['start', ...m.args, '--jobs', '2'], {
      env: { DMSKIT_FAULT: `kill:${point}` },
    });
    expect(killed.code).toBeNull();
    const left = await query(
      m.targetUrl,
      point === 'index-build:constraint'
        ? `SELECT 1 FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
            WHERE i.relnamespace = 'public'::regnamespace AND x.indisunique
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)`
        : `SELECT 1 FROM pg_constraint WHERE contype = 'f' AND NOT convalidated AND conname <> 'orders_gen_fkey'`,
    );
    expect(left.length).toBeGreaterThan(0);
    const again = await runDmskit(['start', ...m.args, '--jobs', '2']);
    expect(again.code, again.stderr).toBe(0);
    expect(await keysAndIndexes(m.targetUrl)).toEqual(await keysAndIndexes(m.sourceUrl));
    const diff = await independentDiff(m.sourceUrl, m.targetUrl);
    expect(diff.differences).toEqual([]);
    const gone = await runDmskit(['abandon', ...m.args]);
    expect(gone.code, gone.stderr).toBe(0);
    await expectNoReplicationObjects(m.sourceUrl, m.targetUrl);
  });

  it('an UNLOGGED table in scope: refused before anything is made, in one line naming it', async () => {
    const m = await prepareMigration(source, target, dir, {
      schema: 'CREATE TABLE kept (id int PRIMARY KEY); CREATE UNLOGGED TABLE "Sessions" (id int PRIMARY KEY)',
    });
    const run = await runDmskit(['start', ...m.args]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toMatch(
      /^dmskit: source \S+: public\."Sessions" is UNLOGGED: its changes never reach the WAL, so replication cannot carry them; ALTER TABLE \.\.\. SET LOGGED on the source, or exclude it in task\.tableMappings$/,
    );
    await expectNoReplicationObjects(m.sourceUrl, m.targetUrl);
    expect(
      await query(m.targetUrl, "SELECT 1 FROM pg_class WHERE relnamespace = 'public'::regnamespace"),
    ).toEqual([]);
  });

  it('status during the load shows rows, rate and ETA per table; after it, what each table took', async () => {
    const m = await prepareMigration(source, target, dir, {
      schema: SCHEMA,
      fullLoad: { chunkMb: 1 },
      // nokey: no replica identity; status would count it as a problem for the cutover otherwise.
      cutover: { insertOnlyTables: [{ schema: 'public', table: 'nokey' }] },
    });
    const run = startDmskit(['start', ...m.args, '--jobs', '2'], {
      env: { DMSKIT_FAULT: 'pause:full-load:chunk' },
    });
    await run.line(/paused at full-load:chunk/);
    await new Promise((r) => setTimeout(r, 2500)); // the figures are saved every 2 s
    const during = await runDmskit(['status', ...m.args]);
    expect(during.code, during.stderr).toBe(0);
    expect(during.stdout).toMatch(/at full-load/);
    expect(during.stdout).toMatch(/full load \d+%: [\d,]+ rows, .*(ETA|done)/);
    expect(during.stdout).toMatch(
      /public\.accounts: [\d,]+ of ~150,000 rows \d+%|public\.accounts: waiting|public\.accounts: [\d,]+ rows, /,
    );
    run.signal('SIGUSR2');
    const done = await run.result;
    expect(done.code, done.stderr).toBe(0);
    const after = await runDmskit(['status', ...m.args]);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stdout).toMatch(/^full load: [\d,]+ rows, .* in /m);
    expect(after.stdout).toMatch(/public\.accounts: 150,000 rows, .* \(\d+ parts\)/);
    expect(after.stdout).toMatch(/public\.typed: 3 rows/);
    // The DMS console's table statistics: the changes CDC applied, counted from the start's baseline.
    await query(
      m.sourceUrl,
      `INSERT INTO accounts SELECT g, 1, 'new', now() FROM generate_series(150001, 150005) g;
       UPDATE accounts SET note = 'changed' WHERE id <= 3; DELETE FROM accounts WHERE id IN (10, 11)`,
    );
    type Stat = {
      table: string;
      state: string;
      fullLoadRows: number;
      inserts: number;
      updates: number;
      deletes: number;
    };
    let accounts: Stat | undefined;
    for (let i = 0; i < 40; i++) {
      const json = await runDmskit(['status', ...m.args, '--json']);
      accounts = (JSON.parse(json.stdout) as { statistics: Stat[] }).statistics.find(
        (t) => t.table === 'public.accounts',
      );
      if (accounts?.deletes === 2) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(accounts).toMatchObject({
      state: 'Table completed',
      fullLoadRows: 150_000,
      inserts: 5,
      updates: 3,
      deletes: 2,
    });
    const view = await runDmskit(['status', ...m.args, '--sort', 'changes']);
    expect(view.stdout).toMatch(/CDC 5 inserts, 3 updates, 2 deletes \(sorted by changes\)/);
    expect(view.stdout).toMatch(/^public\.accounts +(Table completed|completed) +150,000 +5 +3 +2 /m);
    const gone = await runDmskit(['abandon', ...m.args]);
    expect(gone.code, gone.stderr).toBe(0);
  });
});
