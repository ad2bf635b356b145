import { readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect } from 'vitest';
import { runDmskit } from './cli.js';
import { checkHistory, type HistoryWriter, LEDGER_DDL, startHistoryWriter } from './history.js';
import { startMigration, type TestMigration, until } from './migration.js';
import { scratchDir } from './scratch.js';
import { expectNoReplicationObjects, type LocalServer, query, startServer } from './servers.js';

/**
 * What the fault-injection files share (`e2e/faults*.test.ts`), in the manner of PostgreSQL's TAP tests
 * and Jepsen: a writer records every acknowledged commit while dmskit cuts over; after a fault the
 * checker asserts 0 lost and 0 duplicated acknowledged writes, nothing left on the servers, and the
 * source fenced or writable exactly as dmskit said. The files are split so both test workers share them.
 */
export const FAULTS_SCHEMA = `${LEDGER_DDL};
  CREATE TABLE accounts (id int PRIMARY KEY, balance numeric(12,2) NOT NULL);
  INSERT INTO accounts SELECT g, g FROM generate_series(1, 500) g;
  INSERT INTO ledger (op) SELECT -g FROM generate_series(1, 1000) g;`;

/** A source and a target for a describe block (started before its tests, stopped after) and its scratch folder. */
export function faultServers(name: string): { source: LocalServer; target: LocalServer; dir: string } {
  const servers = {} as { source: LocalServer; target: LocalServer; dir: string };
  beforeAll(async () => {
    [servers.source, servers.target] = await Promise.all([
      startServer('source', { logical: true, settings: { max_prepared_transactions: 5 } }),
      startServer('target', { logical: true }),
    ]);
    servers.dir = await scratchDir(name);
  });
  afterAll(async () => {
    await Promise.all([servers.source?.stop(), servers.target?.stop()]);
  });
  return servers;
}

/** A started migration of {@link FAULTS_SCHEMA} with the history writer committing. */
export async function migrateWithWriter(
  servers: { source: LocalServer; target: LocalServer; dir: string },
  cutover: Record<string, unknown> = {},
): Promise<{ m: TestMigration; writer: HistoryWriter }> {
  const m = await startMigration(servers.source, servers.target, servers.dir, {
    schema: FAULTS_SCHEMA,
    cutover,
  });
  const writer = startHistoryWriter(m.sourceUrl);
  await until('the writer to commit', async () => writer.ok.length > 20);
  return { m, writer };
}

/** Whether the database takes a write (an UPDATE that changes nothing). */
export async function writable(url: string): Promise<boolean> {
  try {
    await query(url, 'UPDATE accounts SET balance = balance WHERE id = 1');
    return true;
  } catch {
    return false;
  }
}

/** Jepsen's set check: every acknowledged write on the target once, none that failed. */
export async function noLoss(m: TestMigration, writer: HistoryWriter): Promise<void> {
  await writer.stop();
  const check = await checkHistory(m.targetUrl, writer);
  expect(check.acknowledged).toBeGreaterThan(0);
  expect({ lost: check.lost, duplicated: check.duplicated, phantom: check.phantom }).toEqual({
    lost: [],
    duplicated: [],
    phantom: [],
  });
}

/** After a rollback, replication carries on: wait until the target holds every acknowledged write. */
export async function caughtUp(m: TestMigration, writer: HistoryWriter): Promise<void> {
  await writer.stop();
  await until(
    'the target to catch up',
    async () => (await checkHistory(m.targetUrl, writer)).lost.length === 0,
  );
  await noLoss(m, writer);
}

/** The cutover's state file of a migration. */
export async function cutoverState(m: TestMigration) {
  return JSON.parse(await readFile(path.join(m.stateDir, `cutover-${m.name}-staging.json`), 'utf8'));
}

/** After a completed cutover, `finish` ends the fall-back path; then nothing of this database is left. */
export async function nothingLeft(m: TestMigration): Promise<void> {
  const st = await cutoverState(m).catch(() => undefined);
  if (st?.readyAt && st.fallback && !st.fallback.endedAt) {
    const done = await runDmskit(['finish', ...m.args]);
    expect(done.code, done.stderr).toBe(0);
  }
  await expectNoReplicationObjects(m.sourceUrl, m.targetUrl);
  expect(
    await query(m.sourceUrl, 'SELECT slot_name FROM pg_replication_slots WHERE slot_name = $1', [m.slot]),
  ).toEqual([]);
  expect(await query(m.sourceUrl, 'SELECT pubname FROM pg_publication')).toEqual([]);
  expect(
    await query(m.targetUrl, 'SELECT subname FROM pg_subscription WHERE subname = $1', [m.subscription]),
  ).toEqual([]);
}

/** The last line of a command's output. */
export function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}

/** A session that stays open (errors swallowed) until ended. */
export async function withClientOpen(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}
