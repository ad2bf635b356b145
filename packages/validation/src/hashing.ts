import type pg from 'pg';

/**
 * How a row becomes two 64-bit numbers (128 bits in all):
 * - `hashtextextended`: PostgreSQL's built-in hashes: `hashtextextended` of the row text (which tells
 *   apart everything its text shows: NULL from empty, 1.0 from 1.00, a float's last digit), and an XOR
 *   of each column's typed hash (`hashint4extended`, `hash_numeric_extended`, ...) with a seed per column.
 *   Two different hash functions over one evaluation of each expression: fast, and the same on servers
 *   of one major version and platform;
 * - `md5`: the two halves of md5 of the row text (portable between any two servers, slower).
 */
export type HashMode = 'hashtextextended' | 'md5';

/** SQL for the two 64-bit halves of the digest of a text expression. */
export function digestSql(mode: HashMode, text: string): [string, string] {
  if (mode === 'md5') {
    return [
      `('x' || substr(md5(${text}), 1, 16))::bit(64)::int8`,
      `('x' || substr(md5(${text}), 17, 16))::bit(64)::int8`,
    ];
  }
  return [`hashtextextended(${text}, 0)`, `hashtextextended(${text}, 1)`];
}

/** Fixed strings whose hashes both servers must agree on (ASCII, empty, non-ASCII, a separator). */
const PROBES = ['dmskit', '', 'ünïcødé ✓', '(1,"a,b",)', 'x'.repeat(300)];

/** The typed hash functions {@link typedHashSql} uses, on fixed values: both servers must agree on these too. */
const TYPED_PROBES = `SELECT concat_ws('/', hashint2extended(7::int2, 3), hashint4extended(-7, 3), hashint8extended(9007199254740993, 3),
  hash_numeric_extended(12.3400, 3), hashfloat4extended(0.1::float4, 3), hashfloat8extended(0.1, 3), hashbpcharextended('ab '::bpchar, 3),
  uuid_hash_extended('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 3), jsonb_hash_extended('{"a": [1, "x"]}', 3),
  timestamp_hash_extended('2026-11-21 08:00:00.123456', 3)) AS h`;

/** Typed 64-bit hash functions by `format_type` (without modifiers); other types hash their text. */
const TYPED_HASH: Readonly<Record<string, string>> = {
  smallint: 'hashint2extended',
  integer: 'hashint4extended',
  bigint: 'hashint8extended',
  numeric: 'hash_numeric_extended',
  real: 'hashfloat4extended',
  'double precision': 'hashfloat8extended',
  text: 'hashtextextended',
  'character varying': 'hashtextextended',
  character: 'hashbpcharextended',
  uuid: 'uuid_hash_extended',
  jsonb: 'jsonb_hash_extended',
  'timestamp without time zone': 'timestamp_hash_extended',
};

/**
 * XOR of every column's 64-bit typed hash, each with its own seed (so moving a value to another column
 * changes it) and a constant of its own for NULL. Types without a typed hash listed here hash their text.
 * `columns` are (quoted name, format_type) pairs in the order both sides agree on.
 */
export function typedHashSql(columns: readonly { readonly sql: string; readonly type: string }[]): string {
  if (columns.length === 0) return '0::int8';
  return columns
    .map((c, i) => {
      const base = c.type.replace(/\(.*\)/, '').replace(/\[\]$/, '[]');
      const fn = TYPED_HASH[base];
      const seed = 1000 + i;
      const value = fn ? `${fn}(${c.sql}, ${seed})` : `hashtextextended(${c.sql}::text, ${seed})`;
      return `coalesce(${value}, ${seed * 7919})`;
    })
    .join(' # ');
}

/**
 * The start-up self-check: hashes fixed strings with `hashtextextended` on both servers. When they
 * disagree (another major version or platform can hash differently), both sides switch to the portable
 * md5 digest, and the report says so.
 */
export async function chooseHashMode(
  source: pg.Client,
  target: pg.Client,
): Promise<{ mode: HashMode; reason: string }> {
  const sql = `SELECT array_agg(hashtextextended(p, 0)::text || '/' || hashtextextended(p, 1)::text ORDER BY i)::text AS h
                 FROM unnest($1::text[]) WITH ORDINALITY AS t(p, i)`;
  try {
    const [a, b, ta, tb] = await Promise.all([
      source.query(sql, [PROBES]),
      target.query(sql, [PROBES]),
      source.query(TYPED_PROBES),
      target.query(TYPED_PROBES),
    ]);
    const ha = (a.rows[0] as { h: string }).h;
    const hb = (b.rows[0] as { h: string }).h;
    const same = ha === hb && (ta.rows[0] as { h: string }).h === (tb.rows[0] as { h: string }).h;
    if (same)
      return {
        mode: 'hashtextextended',
        reason: 'hashtextextended and the typed hashes agree on both servers',
      };
    return {
      mode: 'md5',
      reason:
        'hashtextextended differs between the servers (major version or platform); using the portable md5 digest',
    };
  } catch (error) {
    return {
      mode: 'md5',
      reason: `hashtextextended is not available (${(error as Error).message}); using the portable md5 digest`,
    };
  }
}
