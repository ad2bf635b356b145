import pg from 'pg';

/**
 * How a row becomes a digest:
 * - `typed`: each column hashed by its type's own 64-bit hash function (`hashint4extended`,
 *   `hash_numeric_extended`, ...; PostgreSQL: "Hash Indexes", support function 2) with a seed per column,
 *   NULL as a constant per column, and the column hashes XORed (digest 0, below): a 64-bit row digest.
 *   A chunk's checksum folds it twice, as it is and remixed by `hashint8extended` (datadiff.ts), 128 bits
 *   per chunk; the remix is not linear, so rows trading a value, which cancel out in an XOR of their
 *   digests, still change the second fold. No value is printed as text unless its type must be (see
 *   `DIRECT` below), which is why a clean pass costs less than half of a `hashtextextended(t::text, 0)` scan.
 *   The same on servers of one major version and platform, which the start-up self-check proves;
 * - `md5`: the two halves of md5 of the row text `ROW(...)::text` (portable between any two servers, slower).
 */
export type HashMode = 'typed' | 'md5';

/*
 * What "the same value" means here, on purpose, for types whose equality and text disagree:
 * - Equal but printed differently: numeric `1.0` and `1.00`, float `0` and `-0`, interval `1 day` and
 *   `24 hours`, citext `A` and `a`, jsonb numbers `1.0` and `1.00`, arrays `{1,2}` and `[0:1]={1,2}`.
 *   Validation calls them DIFFERENT: a replication that rewrote one into the other changed what the
 *   application reads back (scale, sign, case, bounds). Each is hashed so that it is told apart: numeric
 *   adds its scale to the seed (a `numeric(p,s)` column holds only scale s, and needs not), zeros and
 *   numeric NaN/Infinity hash their text, jsonb's row digest is its text, and interval, arrays, citext
 *   and other types hash their text.
 * - Printed alike but different: none under the pinned session settings (connection.ts: TimeZone UTC,
 *   ISO dates, `extra_float_digits = 3` so floats print exactly, hex bytea, C monetary and numeric
 *   locales). Text-like values hash under `COLLATE "C"`, byte by byte, so a nondeterministic collation
 *   never makes two strings alike.
 * - Any other type (composites and nested composites, arrays of anything, ranges and multiranges, enums,
 *   domains, hstore, ltree, xml, json, geometric types, bit strings, money, tsvector, pg_lsn, and types
 *   of extensions present on both sides) hashes its text form, which every type has. Enums hash their
 *   label, never their OID, which differs between databases.
 */

/** A column as a digest reads it: SQL that names it, its `format_type` ('' when the sides disagree), nullability. */
export interface DigestColumn {
  readonly sql: string;
  readonly type: string;
  /** NOT NULL on both sides: the NULL marker can be left out. */
  readonly notNull: boolean;
}

/** SQL for the two 64-bit halves of md5 of a text expression (the portable digest). */
export function md5DigestSql(text: string): [string, string] {
  return [
    `('x' || substr(md5(${text}), 1, 16))::bit(64)::int8`,
    `('x' || substr(md5(${text}), 17, 16))::bit(64)::int8`,
  ];
}

/**
 * Types whose hash function, called on the value, tells apart exactly the values their text tells apart.
 * `$` is the value, `$s` the seed. Text-like types hash under COLLATE "C" (a nondeterministic collation
 * would hash 'A' and 'a' alike). Not listed, hence hashed by their text: `interval` (its hash treats
 * '1 day' and '24 hours' alike), arrays (their hash ignores dimensions), enums (hashed by OID, which
 * differs between databases), domains, `json`, and anything user-defined.
 */
const DIRECT: Readonly<Record<string, (digest: 0 | 1) => string>> = {
  smallint: () => 'hashint2extended($, $s)',
  integer: () => 'hashint4extended($, $s)',
  bigint: () => 'hashint8extended($, $s)',
  oid: () => 'hashoidextended($, $s)',
  text: () => 'hashtextextended($ COLLATE "C", $s)',
  'character varying': () => 'hashtextextended($ COLLATE "C", $s)',
  character: () => 'hashbpcharextended($ COLLATE "C", $s)',
  name: () => 'hashnameextended($, $s)',
  uuid: () => 'uuid_hash_extended($, $s)',
  'timestamp without time zone': () => 'timestamp_hash_extended($, $s)',
  'time without time zone': () => 'time_hash_extended($, $s)',
  'time with time zone': () => 'timetz_hash_extended($, $s)',
  // timestamptz's hash is timestamp's, registered for its own type only: shifting by a fixed zero offset
  // (timestamptz_izone, no time zone lookup) gives the same instant as a timestamp, infinities kept, which
  // costs less than a record around it.
  'timestamp with time zone': () => "timestamp_hash_extended($ AT TIME ZONE INTERVAL '00:00', $s)",
  // bytea's own hash (hashvarlenaextended) takes `internal`: short values hash their hex text, which
  // costs less than a record around them; longer ones (the text would be twice their size) go through
  // a record. Both sides take the same branch for the same value.
  bytea: () =>
    'CASE WHEN octet_length($) <= 64 THEN hashtextextended($::text, $s) ELSE hash_record_extended(ROW($), $s) END',
  // hash_numeric ignores the display scale (1.0 and 1.00 hash alike) and returns the seed for NaN and
  // the infinities: the scale joins the seed, and special values (scale NULL) hash their text.
  numeric: () => 'coalesce(hash_numeric_extended($, $s + scale($)), hashtextextended($::text, $s))',
  // The float hashes treat -0 as 0: zeros hash their text.
  real: () => 'CASE WHEN $ = 0 THEN hashtextextended($::text, $s) ELSE hashfloat4extended($, $s) END',
  'double precision': () =>
    'CASE WHEN $ = 0 THEN hashtextextended($::text, $s) ELSE hashfloat8extended($, $s) END',
  // jsonb's own hash treats 1.0 and 1.00 inside a document alike, and does not mark where a nested
  // array ends ([[1],2] vs [[1,2]]): the row digest (digest 0) hashes the text, which is exact; digest 1
  // (the binary form) is for callers that want a second, independent one.
  jsonb: (digest) => (digest === 0 ? 'hashtextextended($::text, $s)' : 'jsonb_hash_extended($, $s)'),
};

/**
 * Types whose hash function is registered under another argument type (date and boolean share their
 * representation's hash). They are hashed together
 * through `hash_record_extended` over a row of them, which calls each type's own hash.
 */
const THROUGH_RECORD = new Set(['date', 'boolean']);

/** `format_type` without modifiers: `numeric(14,4)` -> `numeric`, `timestamp(3) with time zone` -> `timestamp with time zone`. */
export function baseType(type: string): string {
  return type.replace(/\(\d+(,\d+)?\)/g, '');
}

/**
 * Seed of column `i` in digest `d`: 2^16 apart per column, so that a numeric's scale (at most 16383,
 * added to the seed) never reaches the next column's seed, and 2^40 apart per digest.
 */
function seed(digest: 0 | 1, i: number): bigint {
  return BigInt(digest) * 2n ** 40n + BigInt(i + 1) * 2n ** 16n;
}

/**
 * `numeric(p,s)` and `numeric(p)`: every value stored in such a column has display scale s (0 for
 * `numeric(p)`), whatever was written, because input is rounded to the column's typmod (PostgreSQL:
 * "Arbitrary Precision Numbers": "coerce the value to the declared scale"), and the only special value it
 * can hold is NaN (infinities are rejected there). Two sides with the same typmod therefore never hold
 * `1.0` and `1.00` apart, and the scale need not join the seed: one call, no `scale()` (which unpacks the
 * value a second time). NaN hashes to the seed, as no finite value does but by chance.
 */
const FIXED_SCALE_NUMERIC = /^numeric\(\d+(,-?\d+)?\)$/;

function template(c: DigestColumn, digest: 0 | 1): string {
  if (FIXED_SCALE_NUMERIC.test(c.type)) return 'hash_numeric_extended($, $s)';
  const direct = DIRECT[baseType(c.type)];
  return direct ? direct(digest) : 'hashtextextended($::text COLLATE "C", $s)';
}

/** `template` with the value and the seed (SQL) filled in. */
function fill(t: string, c: DigestColumn, seedSql: string): string {
  // Function replacers: a column name may hold `$&` and the like, which a string replacement would expand.
  return t.replaceAll('$s', () => seedSql).replaceAll('$', () => `(${c.sql})`);
}

/**
 * Digest `d` (0 or 1) of a row: the XOR of every column's typed hash, each with its own seed (so that
 * values swapped between columns change it) and a constant of its own for NULL (so NULL never equals
 * a value, the empty string included). The two digests use disjoint seeds; digest 0 is the row digest
 * validation folds (datadiff.ts), digest 1 an independent second one.
 * NOT NULL columns whose hash takes the seed once are chained instead, each hash seeding the next
 * (`h3(c, h2(b, h1(a, seed)))`: one call per column and no XOR, about a tenth faster on narrow rows).
 * `columns` come in the order both sides agree on (by name).
 */
export function typedDigestSql(columns: readonly DigestColumn[], digest: 0 | 1): string {
  const parts: string[] = [];
  const viaRecord: string[] = [];
  let chain: string | undefined;
  columns.forEach((c, i) => {
    const t = template(c, digest);
    const s = seed(digest, i);
    if (THROUGH_RECORD.has(baseType(c.type))) viaRecord.push(`(${c.sql})`);
    else if (c.notNull && t.split('$s').length === 2) chain = fill(t, c, chain ?? String(s));
    else parts.push(c.notNull ? fill(t, c, String(s)) : `coalesce(${fill(t, c, String(s))}, ${s + 7n})`);
  });
  if (chain) parts.unshift(chain);
  if (viaRecord.length) {
    parts.push(`hash_record_extended(ROW(${viaRecord.join(', ')}), ${seed(digest, columns.length)})`);
  }
  return parts.length ? parts.join(' # ') : '0::int8';
}

/**
 * Fixed values of every type {@link typedDigestSql} hashes by type, with NULLs: both servers must agree
 * on their digests, or the typed hash functions differ between them.
 */
const PROBE_VALUES: readonly { readonly type: string; readonly literal: string }[] = [
  { type: 'smallint', literal: '-7' },
  { type: 'integer', literal: '2147483647' },
  { type: 'bigint', literal: '9007199254740993' },
  { type: 'oid', literal: '4000000000' },
  { type: 'text', literal: '\'ünïcødé ✓ (1,"a,b",)\'' },
  { type: 'character varying', literal: "''" },
  { type: 'character', literal: "'ab '" },
  { type: 'name', literal: "'dmskit'" },
  { type: 'uuid', literal: "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'" },
  { type: 'timestamp without time zone', literal: "'2026-11-21 08:00:00.123456'" },
  { type: 'time without time zone', literal: "'23:59:59.999999'" },
  { type: 'time with time zone', literal: "'12:00:00+05:30'" },
  { type: 'numeric', literal: '12.3400' },
  { type: 'numeric(14,4)', literal: '-12.3400' },
  { type: 'numeric(14,4)', literal: "'NaN'" },
  { type: 'real', literal: '0.1' },
  { type: 'double precision', literal: '-0.1' },
  { type: 'jsonb', literal: `'{"a": [1, "x", 1.50], "b": null}'` },
  { type: 'bytea', literal: "'\\xdeadbeef'" },
  { type: 'bytea', literal: `'\\x${'ab'.repeat(100)}'` },
  { type: 'timestamp with time zone', literal: "'-infinity'" },
  { type: 'timestamp with time zone', literal: "'2026-11-21 08:00:00.5+00'" },
  { type: 'date', literal: "'2026-11-21'" },
  { type: 'boolean', literal: 'true' },
  { type: 'interval', literal: "'1 day 02:03:04'" },
];

/** SQL that digests the probe values (and a row of NULLs) as {@link typedDigestSql} would a table's rows. */
function typedProbeSql(): string {
  const columns = PROBE_VALUES.map((p, i) => ({ sql: `v.c${i}`, type: p.type, notNull: false }));
  const row = (nulls: boolean) =>
    `(${PROBE_VALUES.map((p) => `${nulls ? 'NULL' : p.literal}::${p.type}`).join(', ')})`;
  const names = PROBE_VALUES.map((_, i) => `c${i}`).join(', ');
  return `SELECT string_agg((${typedDigestSql(columns, 0)})::text || '/' || (${typedDigestSql(columns, 1)})::text, ';') AS h
            FROM (VALUES ${row(false)}, ${row(true)}) AS v(${names})`;
}

/**
 * The start-up self-check: digests fixed values of every type the typed digest hashes by type, on both
 * servers. When they disagree (another major version or platform can hash differently) or the functions
 * are missing (`hash_record_extended` needs PostgreSQL 14), both sides switch to the portable md5 digest
 * of the row text, and the report says so. Both clients are inside a transaction block (the snapshot's):
 * the probe runs in a savepoint, so a missing function leaves that transaction usable.
 */
export async function chooseHashMode(
  source: pg.Client,
  target: pg.Client,
): Promise<{ mode: HashMode; reason: string }> {
  const sql = typedProbeSql();
  const probe = async (client: pg.Client): Promise<string> => {
    await client.query('SAVEPOINT dmskit_probe');
    try {
      const { rows } = await client.query(sql);
      await client.query('RELEASE SAVEPOINT dmskit_probe');
      return (rows[0] as { h: string }).h;
    } catch (error) {
      await client.query('ROLLBACK TO SAVEPOINT dmskit_probe');
      throw error;
    }
  };
  // Both sides settle (their savepoints released or rolled back) before the answer.
  const [a, b] = await Promise.allSettled([probe(source), probe(target)]);
  if (a.status === 'fulfilled' && b.status === 'fulfilled') {
    if (a.value === b.value)
      return { mode: 'typed', reason: 'the typed hash functions agree on both servers' };
    return {
      mode: 'md5',
      reason:
        'the typed hash functions differ between the servers (major version or platform); using the portable md5 digest',
    };
  }
  const error = (a.status === 'rejected' ? a.reason : (b as PromiseRejectedResult).reason) as Error;
  return {
    mode: 'md5',
    reason: `the typed hash functions are not available (${error.message}); using the portable md5 digest`,
  };
}

/** Quoted column names as digest columns. */
export function digestColumns(
  columns: readonly { readonly name: string; readonly type: string; readonly notNull?: boolean }[],
): DigestColumn[] {
  return columns.map((c) => ({
    sql: pg.escapeIdentifier(c.name),
    type: c.type,
    notNull: c.notNull ?? false,
  }));
}
