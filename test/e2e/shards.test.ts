import {
  type CutoverEngine,
  cutoverSettings,
  ensureWatermarkTable,
  nativeCutoverEngine,
  type ReplicationReadiness,
  runCutover,
} from '@dmskit/ops-cli';
import { parseMigrationConfig } from '@dmskit/shared';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { minimalConfig } from '../helpers/configs.js';
import { checkHistory, type HistoryWriter, startHistoryWriter } from '../helpers/history.js';
import { createDatabase, type LocalServer, query, startServer, withClient } from '../helpers/servers.js';

/**
 * The cutover of a migration split into several replication streams (DMS `task.shards`: one task per
 * group of tables, each with its own watermark table). Here each "task" is a logical replication
 * subscription with a publication of its schema's ledger and its own watermark table, so the stream can
 * be held back for real; the runbook drives them through one engine whose watermark tables are both, as
 * the DMS engine does for its tasks. What is checked: one token committed into every watermark table in
 * one transaction, the target ready only when every stream has applied it, and no acknowledged write
 * lost in either shard; a stream held back keeps the target from being declared ready.
 */
describe('a cutover over two replication streams (task.shards): every stream proven caught up', () => {
  let source: LocalServer;
  let target: LocalServer;
  let sourceUrl: string;
  let targetUrl: string;
  const config = parseMigrationConfig(
    minimalConfig({
      task: { tableMappings: [{ action: 'include', schema: 's_', table: 'ledger' }] },
      cutover: {
        fallback: false,
        lsnWaitTimeoutSeconds: 3,
        maxFenceSeconds: 20,
        finalValidation: 'after-ready',
        // The cases below hold a stream back at the watermark; the gate would meet the lock first.
        maxValidationAgeMinutes: null,
      },
    }),
  ).config;
  const shards = [1, 2].map((i) => ({
    schema: `s${i}`,
    publication: `shard${i}_pub`,
    insertOnlyPublication: `shard${i}_pub_ins`,
    subscription: `shard${i}_sub`,
    slot: `shard${i}_sub`,
    watermarkTable: `dmskit_shop_prod_watermark_${i}`,
    fenceTrigger: 'dmskit_shop_prod_fence',
    targetGuard: `dmskit_shop_prod_target_guard_${i}`,
    ddlCapture: `dmskit_shop_prod_ddl_${i}`,
    ddlLog: `dmskit_shop_prod_ddl_log_${i}`,
  }));
  const withSearchPath = (url: string, schema: string) =>
    `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;

  beforeAll(async () => {
    [source, target] = await Promise.all([
      startServer('source', { logical: true }),
      startServer('target', { logical: true }),
    ]);
    sourceUrl = await createDatabase(source, 'shop');
    targetUrl = await createDatabase(target, 'shop');
    for (const url of [sourceUrl, targetUrl])
      await withClient(url, async (c) => {
        for (const s of shards) {
          await c.query(
            `CREATE SCHEMA ${s.schema}; CREATE TABLE ${s.schema}.ledger (id bigserial PRIMARY KEY, op bigint NOT NULL, at timestamptz NOT NULL DEFAULT now())`,
          );
          await ensureWatermarkTable(c, s.watermarkTable);
        }
      });
    const sourceDsn = new URL(sourceUrl);
    for (const s of shards) {
      await query(
        sourceUrl,
        `CREATE PUBLICATION ${s.publication} FOR TABLE ${s.schema}.ledger, dmskit.${s.watermarkTable}`,
      );
      await query(
        targetUrl,
        `CREATE SUBSCRIPTION ${s.subscription} CONNECTION 'host=${sourceDsn.hostname} port=${sourceDsn.port} dbname=shop user=${decodeURIComponent(sourceDsn.username)} password=${decodeURIComponent(sourceDsn.password)}' PUBLICATION ${s.publication}`,
      );
    }
  });
  afterAll(async () => {
    for (const s of shards)
      await query(targetUrl, `DROP SUBSCRIPTION IF EXISTS ${s.subscription}`).catch(() => undefined);
    await Promise.all([source?.stop(), target?.stop()]);
  });

  /** One engine over both streams, the way the DMS engine spans its tasks. */
  const shardedEngine = (sourceControl: pg.Client, targetControl: pg.Client): CutoverEngine => {
    const engines = shards.map((s) => nativeCutoverEngine(sourceControl, targetControl, s));
    return {
      name: 'dms',
      slot: shards[0]!.slot,
      slots: shards.map((s) => s.slot),
      watermarkTable: shards[0]!.watermarkTable,
      watermarkTables: shards.map((s) => s.watermarkTable),
      readiness: async (): Promise<ReplicationReadiness> => {
        const all = await Promise.all(engines.map((e) => e.readiness()));
        return {
          fullLoadComplete: all.every((r) => r.fullLoadComplete),
          lagSeconds: all.some((r) => r.lagSeconds === null)
            ? null
            : Math.max(...all.map((r) => r.lagSeconds!)),
          slot: all[0]!.slot,
          validationFailures: [],
          problems: all.flatMap((r) => r.problems),
          warnings: all.flatMap((r) => r.warnings),
        };
      },
      health: async () => {
        const all = await Promise.all(engines.map((e) => e.health()));
        return {
          problems: all.flatMap((h) => h.problems),
          applyErrors: all.reduce((n, h) => n + h.applyErrors, 0),
        };
      },
      prepareWatermark: async () => undefined,
      stopReplication: async () => {
        await Promise.all(engines.map((e) => e.stopReplication()));
      },
      resumeReplication: async () => {
        await Promise.all(engines.map((e) => e.resumeReplication()));
      },
      finish: async () => undefined,
      describe: () => ({ stop: 'both', resume: 'both', finish: 'none' }),
    };
  };

  const waitReady = async () => {
    for (let i = 0; i < 300; i++) {
      const rows = await query<{ n: number }>(
        targetUrl,
        "SELECT count(*)::int AS n FROM pg_subscription_rel WHERE srsubstate <> 'r'",
      );
      if (rows[0]!.n === 0) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the subscriptions did not finish their initial copy');
  };

  /**
   * `beforeFence` runs in the preconditions once the catalogs of both sides were read (as the engine's
   * target-guard check, the last step before the validation gate, which is off here).
   */
  const cutover = async (beforeFence?: () => Promise<void>) => {
    const sourceControl = new pg.Client({ connectionString: sourceUrl });
    const targetControl = new pg.Client({ connectionString: targetUrl });
    await Promise.all([sourceControl.connect(), targetControl.connect()]);
    const engine = shardedEngine(sourceControl, targetControl);
    try {
      return await runCutover({
        source: sourceUrl,
        target: targetUrl,
        sourceControl,
        targetControl,
        engine: {
          ...engine,
          ...(beforeFence
            ? {
                guardTarget: async () => {
                  await beforeFence();
                  return [];
                },
              }
            : {}),
        },
        ...cutoverSettings(config),
        tables: shards.map((s) => ({ schema: s.schema, table: 'ledger' })),
      });
    } finally {
      await Promise.all([sourceControl.end(), targetControl.end()]);
    }
  };

  // The second stream's apply worker waits on a lock the target holds: on its ledger, whose changes come
  // before the watermark, or on its watermark table itself, which also blocks dmskit's reads of it (they
  // give up after lock_timeout, so the fence still ends on time).
  it.each([
    ['its ledger', () => `${shards[1]!.schema}.ledger`],
    ['its watermark table', () => `dmskit.${shards[1]!.watermarkTable}`],
  ])(
    'one stream held back on the target (a lock on %s): the token never shows in all watermark tables, the cutover fails in time and the source is writable again',
    async (_what, locked) => {
      await waitReady();
      const holder = new pg.Client({ connectionString: targetUrl });
      await holder.connect();
      const began = Date.now();
      // Taken once the preconditions read the catalogs (a lock held before would stop the cutover there,
      // whose reads give up after lock_timeout, before the fence); then a write in each shard, which the
      // second stream cannot apply.
      const hold = async () => {
        await holder.query('BEGIN');
        await holder.query(`LOCK TABLE ${locked()} IN ACCESS EXCLUSIVE MODE`);
        for (const s of shards)
          await query(withSearchPath(sourceUrl, s.schema), 'INSERT INTO ledger (op) VALUES (-2)');
      };
      try {
        await expect(cutover(hold)).rejects.toThrow(/the watermark did not reach the target within 3s/);
        expect(Date.now() - began).toBeLessThan(20_000);
      } finally {
        await holder.query('ROLLBACK');
        await holder.end();
      }
      // Unfenced: a write is accepted on the source.
      await query(withSearchPath(sourceUrl, 's1'), 'INSERT INTO ledger (op) VALUES (-1)');
      // The first stream did apply the token; the second gets it once the lock is gone.
      const [token] = await query<{ token: string }>(
        sourceUrl,
        `SELECT token::text FROM dmskit.${shards[0]!.watermarkTable} ORDER BY committed_at DESC LIMIT 1`,
      );
      const inSecond = await query(
        sourceUrl,
        `SELECT 1 FROM dmskit.${shards[1]!.watermarkTable} WHERE token = $1`,
        [token!.token],
      );
      expect(inSecond).toHaveLength(1); // one token, in both tables, from one transaction
    },
  );

  it('writes running in both shards: ready only when both streams applied the token, no acknowledged write lost', async () => {
    await waitReady();
    const writers: HistoryWriter[] = shards.map((s, i) =>
      startHistoryWriter(withSearchPath(sourceUrl, s.schema), { pauseMs: 2, firstOp: 1 + i * 1_000_000 }),
    );
    await new Promise((r) => setTimeout(r, 1500));
    let result: Awaited<ReturnType<typeof cutover>>;
    try {
      result = await cutover();
    } finally {
      await Promise.all(writers.map((w) => w.stop()));
    }
    expect(result.validation?.verdict).toBe('equal');
    for (const [i, s] of shards.entries()) {
      const check = await checkHistory(withSearchPath(targetUrl, s.schema), writers[i]!);
      expect(check.acknowledged).toBeGreaterThan(10);
      expect(check).toMatchObject({ lost: [], duplicated: [], phantom: [] });
    }
    // Both streams' watermark tables are gone from both sides after the cutover (no fall-back path).
    for (const url of [sourceUrl, targetUrl])
      expect(
        await query(
          url,
          "SELECT relname FROM pg_class WHERE relname LIKE 'dmskit\\_shop\\_prod\\_watermark%'",
        ),
      ).toEqual([]);
  });
});
