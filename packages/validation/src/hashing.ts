import type pg from 'pg';

/**
 * How a row's text becomes two 64-bit numbers (128 bits in all):
 * - `hashtextextended`: PostgreSQL's built-in hash with seeds 0 and 1 (fast; the same on servers of
 *   one major version and platform);
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
    const [a, b] = await Promise.all([source.query(sql, [PROBES]), target.query(sql, [PROBES])]);
    const ha = (a.rows[0] as { h: string }).h;
    const hb = (b.rows[0] as { h: string }).h;
    if (ha === hb) return { mode: 'hashtextextended', reason: 'hashtextextended agrees on both servers' };
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
