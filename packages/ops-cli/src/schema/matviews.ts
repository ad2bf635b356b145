import pg from 'pg';
import { isConnectionLost } from '../pg/reconnect.js';

/*
 * A schema-only dump creates each materialized view `WITH NO DATA` and leaves out its data entry
 * (pg_dump: "MATERIALIZED VIEW DATA" belongs to the data), so on the target a materialized view the
 * source has populated refuses every SELECT ("materialized view ... has not been populated") until it is
 * refreshed. The application must find it populated at ready.
 */

/**
 * Materialized views of the schemas, on `client`: oid, name, whether populated, and the materialized
 * views each reads, directly or through plain views (the relations its rewrite rule depends on in
 * `pg_depend`, followed through each view's own rule).
 */
const MATVIEWS_SQL = `
WITH RECURSIVE mv AS (
  SELECT c.oid, n.nspname AS schema, c.relname AS name, c.relispopulated AS populated
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind = 'm' AND n.nspname = ANY($1::text[])),
reads (mv_oid, rel) AS (
  SELECT r.ev_class, d.refobjid FROM pg_rewrite r
    JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid AND d.refclassid = 'pg_class'::regclass
   WHERE r.ev_class IN (SELECT oid FROM mv) AND d.refobjid <> r.ev_class
  UNION
  SELECT reads.mv_oid, d.refobjid FROM reads
    JOIN pg_class v ON v.oid = reads.rel AND v.relkind = 'v'
    JOIN pg_rewrite r ON r.ev_class = v.oid
    JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid AND d.refclassid = 'pg_class'::regclass
   WHERE d.refobjid <> v.oid)
SELECT mv.oid::int8 AS oid, mv.schema, mv.name, mv.populated,
       EXISTS (SELECT 1 FROM pg_index x WHERE x.indrelid = mv.oid AND x.indisunique AND x.indisvalid
                  AND x.indpred IS NULL AND x.indexprs IS NULL) AS keyed,
       ARRAY(SELECT DISTINCT reads.rel::int8 FROM reads
              WHERE reads.mv_oid = mv.oid AND reads.rel <> mv.oid AND reads.rel IN (SELECT oid FROM mv)) AS reads
  FROM mv ORDER BY 2, 3`;

interface MatviewRow {
  oid: string;
  schema: string;
  name: string;
  populated: boolean;
  /** A unique index on plain columns, without WHERE: what REFRESH ... CONCURRENTLY needs. */
  keyed: boolean;
  reads: string[];
}

/** What {@link refreshMaterializedViews} did. */
export interface MatviewsRefreshed {
  /** `"schema"."name"` of each view refreshed, in the order refreshed. */
  readonly refreshed: readonly string[];
  /** `"schema"."name": the server's error` of each view the server refused to refresh. */
  readonly failed: readonly string[];
  /** Time the refreshes took, in ms. */
  readonly ms: number;
}

/**
 * Refreshes, on the target, every materialized view of `schemas` that is populated on the source, each
 * after the materialized views its query reads, directly or through plain views, so a view over another
 * sees it populated (PostgreSQL: "REFRESH MATERIALIZED VIEW"). Views the source has not
 * populated (`WITH NO DATA`) stay so. Run after the full load and post-data, before owners change: the
 * session refreshing must own the view.
 * A view whose query reads a table out of scope is refreshed from what the target holds. A refresh the
 * server refuses (an SQL error) is recorded in `failed` and the others go on.
 * @throws the connection's error when the target is lost
 */
export async function refreshMaterializedViews(
  source: pg.Client,
  target: pg.Client,
  schemas: readonly string[],
  options: {
    /**
     * Refresh a view the target has populated and that has a unique index on plain columns
     * `CONCURRENTLY`: its readers are not blocked (the others are refreshed plainly, which blocks them).
     * For refreshes while the application runs on the target.
     */
    concurrently?: boolean;
  } = {},
): Promise<MatviewsRefreshed> {
  const began = performance.now();
  const onSource = (await source.query(MATVIEWS_SQL, [schemas])).rows as MatviewRow[];
  const populated = new Set(onSource.filter((v) => v.populated).map((v) => `${v.schema}.${v.name}`));
  const views = ((await target.query(MATVIEWS_SQL, [schemas])).rows as MatviewRow[]).filter((v) =>
    populated.has(`${v.schema}.${v.name}`),
  );
  const byOid = new Map(views.map((v) => [v.oid, v]));
  const done = new Set<string>();
  const refreshed: string[] = [];
  const failed: string[] = [];
  const visit = async (v: MatviewRow, path: Set<string>): Promise<void> => {
    if (done.has(v.oid) || path.has(v.oid)) return;
    path.add(v.oid);
    for (const dep of v.reads) {
      const before = byOid.get(dep);
      if (before) await visit(before, path);
    }
    done.add(v.oid);
    const name = `${pg.escapeIdentifier(v.schema)}.${pg.escapeIdentifier(v.name)}`;
    try {
      const concurrently = options.concurrently && v.populated && v.keyed ? ' CONCURRENTLY' : '';
      await target.query(`REFRESH MATERIALIZED VIEW${concurrently} ${name}`);
      refreshed.push(name);
    } catch (e) {
      // One view that cannot be refreshed (it reads a view the source left unpopulated) does not stop
      // the others; it is said, and left as the dump made it.
      if (!(e instanceof pg.DatabaseError) || isConnectionLost(e)) throw e;
      failed.push(`${name}: ${e.message}`);
    }
  };
  for (const v of views) await visit(v, new Set());
  return { refreshed, failed, ms: Math.round(performance.now() - began) };
}
