import { createDatabase, query, startServer, withClient } from '../helpers/servers.js';

const srv = await startServer('source');
const u = await createDatabase(srv, 'p');
await query(
  u,
  `CREATE TABLE t (aid int PRIMARY KEY, bid int NOT NULL, abalance int NOT NULL, filler char(84));
    INSERT INTO t SELECT g, 1 + g / 100000, ((g::int8 * 7919) % 100000 - 50000)::int, '' FROM generate_series(1, 1000000) g`,
);
await query(u, 'VACUUM ANALYZE t');
const bounds = (
  await query<{ b: string }>(u, `SELECT array_agg(aid ORDER BY aid)::text AS b FROM t WHERE aid % 5000 = 0`)
)[0]!.b;
const variants: Record<string, string> = {
  floor: `SELECT count(*), sum(hashtextextended(x::text, 0)) FROM t x`,
  'row text, 1 hash': `SELECT count(*), sum(hashtextextended(ROW(abalance, aid, bid, filler)::text, 0)) FROM t`,
  'row text, 2 hashes (subquery)': `SELECT count(*), sum(hashtextextended(r, 0)), sum(hashtextextended(r, 1)) FROM (SELECT ROW(abalance, aid, bid, filler)::text r FROM t OFFSET 0) s`,
  'x::text, 2 hashes (subquery)': `SELECT count(*), sum(hashtextextended(r, 0)), sum(hashtextextended(r, 1)) FROM (SELECT x::text r FROM t x OFFSET 0) s`,
  'level0 current': `SELECT width_bucket(aid, '${bounds}'::int[]) b, count(*), sum(h0), sum(h1) FROM (SELECT aid, hashtextextended(r, 0) h0, hashtextextended(r, 1) h1 FROM (SELECT aid, ROW(abalance, aid, bid, filler)::text r FROM ONLY t OFFSET 0) d) x GROUP BY 1`,
  'level0 no offset': `SELECT width_bucket(aid, '${bounds}'::int[]) b, count(*), sum(hashtextextended(ROW(abalance, aid, bid, filler)::text, 0)), sum(hashtextextended(ROW(abalance, aid, bid, filler)::text, 1)) FROM ONLY t GROUP BY 1`,
  'level0 integer division bucket': `SELECT aid / 5000 b, count(*), sum(h0), sum(h1) FROM (SELECT aid, hashtextextended(r, 0) h0, hashtextextended(r, 1) h1 FROM (SELECT aid, ROW(abalance, aid, bid, filler)::text r FROM ONLY t OFFSET 0) d) x GROUP BY 1`,
  'level0 1 hash + hash*hash': `SELECT width_bucket(aid, '${bounds}'::int[]) b, count(*), sum(h0), sum((h0 >> 32) * (h0 & 4294967295)) FROM (SELECT aid, hashtextextended(ROW(abalance, aid, bid, filler)::text, 0) h0 FROM ONLY t OFFSET 0) x GROUP BY 1`,
};
await withClient(u, async (c) => {
  await c.query('SET max_parallel_workers_per_gather = 0');
  for (let round = 0; round < 2; round++) {
    for (const [name, sql] of Object.entries(variants)) {
      const t0 = performance.now();
      await c.query(sql);
      if (round === 1) console.log(name.padEnd(34), Math.round(performance.now() - t0), 'ms');
    }
  }
});
await srv.stop();
