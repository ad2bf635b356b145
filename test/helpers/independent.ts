import { query, withClient } from './servers.js';

/**
 * An independent check that two databases hold the same rows, written without dmskit's validation code:
 * every user table is read whole, each row as the text of its columns in name order, sorted in Node,
 * and compared row by row. Slow, exact, and only for the small data of the tests. The `dmskit` schema holds
 * dmskit's own bookkeeping (watermarks on both sides, the DDL log on the source only), not migrated data.
 * @returns the tables that differ, with a sample row, and the number of tables read
 */
export async function independentDiff(
  sourceUrl: string,
  targetUrl: string,
): Promise<{ tables: number; differences: string[] }> {
  const listSql = `SELECT table_schema AS s, table_name AS t FROM information_schema.tables
                    WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema', 'dmskit') ORDER BY 1, 2`;
  const tables = await query<{ s: string; t: string }>(sourceUrl, listSql);
  const targetTables = await query<{ s: string; t: string }>(targetUrl, listSql);
  const differences: string[] = [];
  if (JSON.stringify(tables) !== JSON.stringify(targetTables)) differences.push('the table lists differ');
  for (const { s, t } of tables) {
    const cols = await query<{ c: string }>(
      sourceUrl,
      'SELECT column_name AS c FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY 1',
      [s, t],
    );
    const list = cols.map(({ c }) => `"${c.replace(/"/g, '""')}"::text`).join(', ');
    const sql = `SELECT json_build_array(${list})::text AS r FROM "${s}"."${t}"`;
    const read = (url: string) =>
      withClient(url, async (c) => {
        await c.query("SET TimeZone = 'UTC'; SET extra_float_digits = 3");
        return (await c.query(sql)).rows.map((x: { r: string }) => x.r).sort();
      });
    const [a, b] = await Promise.all([read(sourceUrl), read(targetUrl)]);
    if (a.length !== b.length) {
      differences.push(`${s}.${t}: ${a.length} rows on the source, ${b.length} on the target`);
      continue;
    }
    const i = a.findIndex((row, k) => row !== b[k]);
    if (i >= 0) differences.push(`${s}.${t}: first differing row ${a[i]} vs ${b[i]}`);
  }
  return { tables: tables.length, differences };
}
