import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDmskit } from '../helpers/cli.js';
import { checkHistory, LEDGER_DDL, startHistoryWriter } from '../helpers/history.js';
import { startMigration, until } from '../helpers/migration.js';
import { type PgBouncer, startPgBouncer } from '../helpers/pgbouncer.js';
import { scratchDir } from '../helpers/scratch.js';
import { type LocalServer, query, startServer } from '../helpers/servers.js';

/**
 * The cutover through a real PgBouncer (Debian's package, installed where missing): clients (pgbench and a
 * writer that records every acknowledged commit) reach the source through PgBouncer in transaction
 * pooling; the cutover pauses the database, fences, proves, repoints PgBouncer at the target and resumes.
 * Clients see a pause and no error; their next writes land on the target; nothing acknowledged is lost.
 */

const SCHEMA = `${LEDGER_DDL};
  CREATE TABLE accounts (id int PRIMARY KEY, balance numeric(12,2) NOT NULL);
  INSERT INTO accounts SELECT g, g FROM generate_series(1, 500) g;`;
const APP_PASSWORD = 'app-secret-7';
const ROLE = `CREATE ROLE app LOGIN SUPERUSER PASSWORD '${APP_PASSWORD}'`;

function pgbench(
  url: string,
  dir: string,
  seconds: number,
): Promise<{ code: number | null; output: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const child = spawn(
      'pgbench',
      [
        '-n',
        '-M',
        'simple',
        '-c',
        '4',
        '-j',
        '2',
        '-T',
        String(seconds),
        '-f',
        path.join(dir, 'write.sql'),
        '-h',
        u.hostname,
        '-p',
        u.port,
        '-U',
        'app',
        u.pathname.slice(1),
      ],
      { env: { ...process.env, PGPASSWORD: APP_PASSWORD }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('cutover through PgBouncer', () => {
  let source: LocalServer;
  let target: LocalServer;
  let dir: string;
  const bouncers: PgBouncer[] = [];

  beforeAll(async () => {
    [source, target] = await Promise.all([
      startServer('source', { logical: true }),
      startServer('target', { logical: true }),
    ]);
    await Promise.all([query(source.url, ROLE), query(target.url, ROLE)]);
    dir = await scratchDir('pgbouncer');
    await writeFile(
      path.join(dir, 'write.sql'),
      '\\set n random(1, 1000000000)\nINSERT INTO ledger (op) VALUES (-:n);\nUPDATE accounts SET balance = balance + 1 WHERE id = 1 + :n % 500;\n',
    );
  });
  afterAll(async () => {
    await Promise.all(bouncers.map((b) => b.stop()));
    await Promise.all([source?.stop(), target?.stop()]);
  });

  async function setup(name: string, cutover: Record<string, unknown> = {}) {
    const bouncer = await startPgBouncer(
      { shop: { port: source.port, dbname: `db_${name.replace(/-/g, '_')}` } },
      'app',
      APP_PASSWORD,
    );
    bouncers.push(bouncer);
    const m = await startMigration(source, target, dir, {
      schema: SCHEMA,
      name,
      cutover: {
        pooler: { type: 'pgbouncer', adminUrl: bouncer.adminUrl, database: 'shop', iniFile: bouncer.iniFile },
        ...cutover,
      },
    });
    return { m, bouncer };
  }

  it('pgbench through PgBouncer sees no failed transaction; writes after the switch land on the target; the source fenced', async () => {
    const { m, bouncer } = await setup('bouncer');
    const writer = startHistoryWriter(bouncer.urlFor('shop'));
    const bench = pgbench(bouncer.urlFor('shop'), dir, 10);
    await until('writes through PgBouncer', async () => writer.ok.length > 50);
    const run = await runDmskit(['cutover', ...m.args]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("PgBouncer's shop now points at 127.0.0.1");
    expect(run.stdout).toMatch(/Writes were unavailable for [\d.]+m?s: pause [\d.]+m?s, fence [\d.]+m?s/);
    const okAtReady = writer.ok.length;
    await until('writes after the switch', async () => writer.ok.length > okAtReady + 50);
    const result = await bench;
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/number of failed transactions: 0 /);
    expect(result.output).not.toMatch(/aborted/);
    await writer.stop();
    // Every acknowledged write, before and after the switch, is on the target, once.
    const check = await checkHistory(m.targetUrl, writer);
    expect({ lost: check.lost, duplicated: check.duplicated, phantom: check.phantom }).toEqual({
      lost: [],
      duplicated: [],
      phantom: [],
    });
    // The writes after the switch were made on the target; the old source, fenced for clients, follows
    // through the fall-back path.
    const after = writer.ok.slice(okAtReady);
    await until('the old source to follow', async () => {
      const rows = await query(m.sourceUrl, 'SELECT 1 FROM ledger WHERE op = ANY($1::int8[])', [after]);
      return rows.length === after.length;
    });
    expect(await readFile(bouncer.iniFile, 'utf8')).toContain(
      `shop = host=127.0.0.1 port=${target.port} dbname=db_bouncer`,
    );
    await expect(query(m.sourceUrl, 'UPDATE accounts SET balance = 0 WHERE id = 1')).rejects.toThrow();
  });

  it('a switch that fails: PgBouncer points at the source again and resumes there, the source unfenced, no client error', async () => {
    const { m, bouncer } = await setup('bouncer-fail', {
      switchCommand: 'echo "DNS update refused" >&2; exit 3',
    });
    const ini = await readFile(bouncer.iniFile, 'utf8');
    const writer = startHistoryWriter(bouncer.urlFor('shop'));
    const bench = pgbench(bouncer.urlFor('shop'), dir, 6);
    await until('writes through PgBouncer', async () => writer.ok.length > 50);
    const run = await runDmskit(['cutover', ...m.args]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n').at(-1)).toMatch(
      /^dmskit: cutover failed at switch: cutover.switchCommand exited 3: DNS update refused; the source was unfenced and takes writes again .*; replication resumed; PgBouncer points at the source again; PgBouncer resumed shop on the source$/,
    );
    expect(await readFile(bouncer.iniFile, 'utf8')).toBe(ini);
    const okAtFailure = writer.ok.length;
    await until('writes on the source again', async () => writer.ok.length > okAtFailure + 50);
    const result = await bench;
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/number of failed transactions: 0 /);
    await writer.stop();
    const check = await checkHistory(m.sourceUrl, writer);
    expect(check.lost).toEqual([]);
  });
});
