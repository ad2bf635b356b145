/**
 * The data of `bench:fullload`, in two schema variants of about the same size (1.1-1.3 GB at scale 1):
 * - `plain`: pgbench's tables (scale 50 per GB) with their primary keys, and a wide table (numeric,
 *   float8, timestamptz, text, jsonb, bytea, uuid) with two b-tree indexes; one more on pgbench_accounts.
 * - `indexed`: what real schemas carry besides: pgbench's foreign keys (`-I f`, validated), and a wide
 *   table with a check constraint, a foreign key to pgbench_accounts and 8 secondary indexes: GIN on a
 *   `jsonb` column and on a `tsvector`, GiST on a `tstzrange`, an expression index, a partial index, a
 *   composite and two plain b-trees.
 * - `kinds` (not run by default: `--variant kinds`): other index kinds, to check the load on a schema
 *   the scheduler was not tuned on: a wide table partitioned by month (4 partitions) with a covering
 *   primary key, a hash, a BRIN, an SP-GiST (range), a trigram GIN (pg_trgm), a bloom (bloom) index,
 *   UNIQUE NULLS NOT DISTINCT, a foreign key to pgbench_accounts; a materialized view with a unique index.
 */

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { urlWithoutPassword } from '@dmskit/ops-cli';
import { query } from '../helpers/servers.js';

const exec = promisify(execFile);

/** The schema variants. */
export const VARIANTS = ['plain', 'indexed', 'kinds'] as const;
/** The variants run when none is named. */
export const DEFAULT_VARIANTS: readonly Variant[] = ['plain', 'indexed'];
export type Variant = (typeof VARIANTS)[number];

/**
 * Fills the empty database `url` with the variant's data at `scale` GB.
 * @param env - the environment of pgbench (PGPASSFILE)
 */
export async function buildData(
  url: string,
  variant: Variant,
  scale: number,
  env: Record<string, string>,
): Promise<void> {
  const pgbenchScale = Math.max(1, Math.round(50 * scale));
  const wideRows = Math.round(1_500_000 * scale);
  console.error(
    `building the ${variant} data: pgbench scale ${pgbenchScale}, ${wideRows.toLocaleString('en-US')} wide rows`,
  );
  // d: drop, t: tables, g: rows generated on the client, v: vacuum, p: primary keys, f: foreign keys.
  const steps = variant === 'plain' ? 'dtgvp' : 'dtgvpf';
  await exec('pgbench', ['-i', '-q', '-s', String(pgbenchScale), '-I', steps, urlWithoutPassword(url)], {
    env: { ...process.env, ...env },
  });
  const accounts = pgbenchScale * 100_000;
  if (variant === 'plain') {
    await query(
      url,
      `CREATE TABLE wide (id bigint PRIMARY KEY, amount numeric(14,4), ratio float8, at timestamptz, label text, doc jsonb, blob bytea, ref uuid);
       INSERT INTO wide SELECT g, g * 1.2345, random(), timestamptz '2026-01-01' - g * interval '1 s',
              md5(g::text) || repeat('w', g % 40), jsonb_build_object('id', g, 'tags', jsonb_build_array('a', 'b', g % 10)),
              decode(md5(g::text) || md5((g + 1)::text), 'hex'), gen_random_uuid()
         FROM generate_series(1, ${wideRows}) g;
       CREATE INDEX wide_at_idx ON wide (at);
       CREATE INDEX wide_ref_idx ON wide (ref);
       CREATE INDEX accounts_bid_idx ON pgbench_accounts (bid);`,
    );
  } else if (variant === 'kinds') {
    await query(
      url,
      `CREATE EXTENSION IF NOT EXISTS pg_trgm; CREATE EXTENSION IF NOT EXISTS bloom;
       CREATE TABLE events (id bigint NOT NULL, at timestamptz NOT NULL, kind text, code int, label text, ref uuid,
              a int, b int, during tstzrange, account int REFERENCES pgbench_accounts (aid),
              PRIMARY KEY (id, at) INCLUDE (kind)) PARTITION BY RANGE (at);
       CREATE TABLE events_1 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2025-02-01');
       CREATE TABLE events_2 PARTITION OF events FOR VALUES FROM ('2025-02-01') TO ('2025-03-01');
       CREATE TABLE events_3 PARTITION OF events FOR VALUES FROM ('2025-03-01') TO ('2025-04-01');
       CREATE TABLE events_4 PARTITION OF events DEFAULT;
       INSERT INTO events SELECT g, timestamptz '2025-01-01' + (g % 120) * interval '1 day' + (g % 86400) * interval '1 s',
              'k' || g % 50, CASE WHEN g % 7 > 0 THEN g END, md5(g::text) || ' ' || repeat('w', g % 40), gen_random_uuid(),
              g % 1000, g % 777,
              tstzrange(timestamptz '2025-01-01' + g * interval '1 min', timestamptz '2025-01-01' + (g + 30) * interval '1 min'),
              1 + (g::int8 * 7919) % ${accounts}
         FROM generate_series(1, ${wideRows}) g;
       CREATE INDEX events_ref_hash ON events USING hash (ref);
       CREATE INDEX events_at_brin ON events USING brin (at);
       CREATE INDEX events_during_spgist ON events USING spgist (during);
       CREATE INDEX events_label_trgm ON events USING gin (label gin_trgm_ops);
       CREATE INDEX events_bloom ON events_1 USING bloom (a, b);
       CREATE UNIQUE INDEX events_code_id ON events_2 (code, id) NULLS NOT DISTINCT;
       CREATE MATERIALIZED VIEW event_kinds AS SELECT kind, count(*) AS n FROM events GROUP BY kind;
       CREATE UNIQUE INDEX event_kinds_kind ON event_kinds (kind);`,
    );
  } else {
    // The bytea column gives way to a tsvector and a range: about the plain variant's bytes per row.
    await query(
      url,
      `CREATE TABLE wide (id bigint PRIMARY KEY, amount numeric(14,4) CHECK (amount >= 0), ratio float8,
              at timestamptz, label text, doc jsonb, ref uuid, words tsvector, period tstzrange,
              account int REFERENCES pgbench_accounts (aid));
       INSERT INTO wide SELECT g, g * 1.2345, random(), timestamptz '2026-01-01' - g * interval '1 s',
              md5(g::text) || repeat('w', g % 40),
              jsonb_build_object('id', g, 'kind', 'k' || g % 50, 'tags', jsonb_build_array('a', 'b', g % 10)),
              gen_random_uuid(),
              to_tsvector('simple', 'alpha' || g % 97 || ' beta' || g % 89 || ' gamma' || g % 13 || ' ' || left(md5(g::text), 8)),
              tstzrange(timestamptz '2026-01-01' + g * interval '1 min', timestamptz '2026-01-01' + (g + 1 + g % 600) * interval '1 min'),
              1 + (g::int8 * 7919) % ${accounts}
         FROM generate_series(1, ${wideRows}) g`,
    );
    // Two sessions build the source's indexes (GiST and GIN builds are single-threaded).
    const indexes = [
      'CREATE INDEX wide_period_gist ON wide USING gist (period)',
      'CREATE INDEX wide_words_gin ON wide USING gin (words)',
      'CREATE INDEX wide_doc_gin ON wide USING gin (doc)',
      'CREATE INDEX wide_label_lower_idx ON wide (lower(label))',
      'CREATE INDEX wide_at_idx ON wide (at)',
      'CREATE INDEX wide_ref_idx ON wide (ref)',
      'CREATE INDEX wide_high_ratio_idx ON wide (at) WHERE ratio > 0.9',
      'CREATE INDEX wide_account_at_idx ON wide (account, at)',
      'CREATE INDEX accounts_bid_idx ON pgbench_accounts (bid)',
    ];
    await Promise.all(
      [0, 1].map(async () => {
        for (let sql = indexes.shift(); sql; sql = indexes.shift()) await query(url, sql);
      }),
    );
  }
  await query(url, 'VACUUM ANALYZE');
}
