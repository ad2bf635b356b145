import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rehearseOn, type runDmskit } from '../helpers/cli.js';
import { chinookSql } from '../helpers/datasets.js';
import { independentDiff } from '../helpers/independent.js';
import { scratchDir } from '../helpers/scratch.js';
import { type LocalServer, query, startLogicalPair, withClient } from '../helpers/servers.js';

/**
 * Beyond Chinook: a partitioned table (with a default partition), an enum, a domain, a schema of its own,
 * and a column of most built-in types, NULLs included.
 */
const EXTRA_SCHEMA = `
CREATE TYPE mood AS ENUM ('calm', 'loud', 'sad');
CREATE DOMAIN rating AS smallint CHECK (VALUE BETWEEN 1 AND 5);
CREATE SCHEMA analytics;
CREATE TABLE analytics.streams (id bigint GENERATED ALWAYS AS IDENTITY, at date NOT NULL, track_id int NOT NULL, seconds int,
                                PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE analytics.streams_2025 PARTITION OF analytics.streams FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE analytics.streams_2026 PARTITION OF analytics.streams FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE analytics.streams_other PARTITION OF analytics.streams DEFAULT;
INSERT INTO analytics.streams (at, track_id, seconds)
  SELECT date '2025-06-01' + (g % 900), 1 + g % 3000, g % 400 FROM generate_series(1, 3000) g;
CREATE TABLE kitchen_sink (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(), m mood, r rating, b bytea, f8 float8, f4 real, n numeric, money_col money,
  iv interval, ts timestamp, tstz timestamptz, d date, t time, tz timetz, j json, jb jsonb, arr int[], txt_arr text[],
  ip inet, net cidr, mac macaddr, rng int4range, tsr tstzrange, bits bit varying(16), x xml, tv tsvector, pt point, flag boolean, ch char(3)
);
INSERT INTO kitchen_sink (m, r, b, f8, f4, n, money_col, iv, ts, tstz, d, t, tz, j, jb, arr, txt_arr, ip, net, mac, rng, tsr, bits, x, tv, pt, flag, ch)
  SELECT 'loud', 1 + g % 5, decode(md5(g::text), 'hex'), g / 7.0, g / 3.0, g * 1.000001, g, g * interval '1 minute 1.5 s',
         timestamp '2026-01-01' + g * interval '1 s', timestamptz '2026-01-01 00:00:00.123456+02' + g * interval '1 s', date '2026-01-01' + g,
         time '10:00' + g * interval '1 s', timetz '10:00+05', json_build_object('g', g), jsonb_build_object('g', g, 'é', 'ü'),
         ARRAY[g, g + 1], ARRAY['a,b', 'c"d', NULL], '10.0.0.1', '10.0.0.0/8', '08:00:2b:01:02:03', int4range(g, g + 10),
         tstzrange(now() - interval '1 day', NULL), B'1010', xmlparse(content '<a>x</a>'), to_tsvector('simple', 'rock and roll'),
         point(g, -g), g % 2 = 0, 'ab'
    FROM generate_series(1, 200) g;
INSERT INTO kitchen_sink (id) VALUES ('00000000-0000-0000-0000-000000000001');
`;

/**
 * The Chinook data set goes through the same migration as the rehearsal, as a user's own database
 * (--no-sample-data): schema copy, full load, CDC of changes the "application" makes during the CDC
 * phase, cutover, validation. A play log without a key shows the replica-identity warning.
 */
describe('Chinook through the native migration', () => {
  let source: LocalServer;
  let target: LocalServer;
  let sourceUrl: string;
  let targetUrl: string;
  let run: Awaited<ReturnType<typeof runDmskit>>;
  let report: {
    validation: { verdict: string; tables: { status: string }[] };
    warnings: string[];
    cdc: { changesAppliedOnTarget: number };
  };
  const applied: string[] = [];

  beforeAll(async () => {
    ({ source, target, sourceUrl, targetUrl } = await startLogicalPair('chinook'));
    await withClient(sourceUrl, async (c) => {
      await c.query(await chinookSql());
      await c.query(
        'CREATE TABLE play_log (track_id int NOT NULL, played_at timestamptz NOT NULL DEFAULT now())',
      );
      await c.query('INSERT INTO play_log (track_id) SELECT track_id FROM track WHERE track_id % 50 = 0');
      await c.query(EXTRA_SCHEMA);
    });
    const out = await scratchDir('chinook');
    // The application writes while CDC runs: an insert with a new key, an update with non-ASCII text, a delete.
    run = await rehearseOn(sourceUrl, targetUrl, {
      out,
      duringCdc: () =>
        withClient(sourceUrl, async (c) => {
          await c.query("INSERT INTO artist (name) VALUES ('Sigur Rós')");
          await c.query("UPDATE album SET title = title || ' (Remastered — 2026)' WHERE album_id = 1");
          await c.query(
            'DELETE FROM playlist_track WHERE playlist_id = 1 AND track_id = (SELECT min(track_id) FROM playlist_track WHERE playlist_id = 1)',
          );
          await c.query('UPDATE invoice SET total = total + 0.01 WHERE invoice_id = 5');
          await c.query('INSERT INTO play_log (track_id) VALUES (1), (2)');
          await c.query(
            "INSERT INTO analytics.streams (at, track_id, seconds) VALUES ('2026-03-01', 7, 99), ('2030-01-01', 8, 1)",
          );
          await c.query('UPDATE analytics.streams SET seconds = -1 WHERE id = 10');
          await c.query(
            "UPDATE kitchen_sink SET m = 'sad', jb = jb || '{\"x\": [1, 2]}', b = NULL WHERE id = '00000000-0000-0000-0000-000000000001'",
          );
          applied.push('done');
        }),
    });
    report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'));
  });

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('migrates every table and validates equal', () => {
    expect(run.code, run.stderr).toBe(0);
    expect(applied).toEqual(['done']);
    expect(report.validation.verdict).toBe('equal');
    // 11 Chinook tables, the play log, the kitchen sink, three partitions
    expect(report.validation.tables).toHaveLength(16);
    // No sample writer here: the changes the test made itself on the source are counted once, not 0.
    expect(report.cdc.changesAppliedOnTarget).toBeGreaterThanOrEqual(8);
  });

  it('warns, before the run, about the table whose UPDATE and DELETE cannot be replicated', () => {
    expect(report.warnings.join('\n')).toContain('public.play_log');
    const warning = run.stderr.indexOf('warning: 1 table(s) have no primary key');
    expect(warning).toBeGreaterThan(0);
    expect(warning).toBeLessThan(run.stderr.indexOf('full load:'));
  });

  it('leaves the same rows on both sides, changes made during CDC included', async () => {
    const { tables, differences } = await independentDiff(sourceUrl, targetUrl);
    expect(tables).toBe(17); // information_schema lists the partitioned parent too
    expect(differences).toEqual([]);
    expect(await query(targetUrl, "SELECT name FROM artist WHERE name = 'Sigur Rós'")).toHaveLength(1);
  });

  it('copies the post-data: foreign keys and secondary indexes exist on the target', async () => {
    const sql = "SELECT conname FROM pg_constraint WHERE contype = 'f' ORDER BY 1";
    expect(await query(targetUrl, sql)).toEqual(await query(sourceUrl, sql));
    const idx = "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1";
    expect(await query(targetUrl, idx)).toEqual(await query(sourceUrl, idx));
  });
});
