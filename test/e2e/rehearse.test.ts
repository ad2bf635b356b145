import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDmskit } from '../helpers/cli.js';
import { independentDiff } from '../helpers/independent.js';
import { scratchDir } from '../helpers/scratch.js';
import { expectNothingLeft, type LocalServer, query, query1, startLogicalPair } from '../helpers/servers.js';

describe('dmskit rehearse on servers the user passes in, with live writes', () => {
  let source: LocalServer;
  let target: LocalServer;
  let sourceUrl: string;
  let targetUrl: string;
  let out: string;
  let report: {
    validation: { verdict: string; tables: unknown[] };
    cdc: { writesDuringCdc: number; changesAppliedOnTarget: number; writer: { transactions: number } };
    cutover: {
      window: { totalMs: number; waitForLsnMs: number };
      fenceLsn: string;
      confirmedLsn: string;
      sequences: unknown[];
    };
    tables: { table: string; sourceRows: number; targetRows: number }[];
  };
  let stdout = '';

  beforeAll(async () => {
    ({ source, target, sourceUrl, targetUrl } = await startLogicalPair('shop'));
    out = await scratchDir('report');
    const run = await runDmskit([
      'rehearse',
      '--source-url',
      sourceUrl,
      '--target-url',
      targetUrl,
      '--scale',
      '0.1',
      '--write-rate',
      '40',
      '--cdc-seconds',
      '4',
      '--out',
      out,
    ]);
    stdout = run.stdout;
    expect(run.stderr).not.toContain(source.password);
    expect(run.code, run.stderr).toBe(0);
    report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'));
  });

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  it('reports validation equal, writes applied during CDC and the cutover window', async () => {
    expect(report.validation.verdict).toBe('equal');
    expect(report.validation.tables).toHaveLength(6);
    expect(report.cdc.writesDuringCdc).toBeGreaterThan(0);
    expect(report.cdc.changesAppliedOnTarget).toBeGreaterThan(0);
    expect(report.cutover.window.totalMs).toBeGreaterThan(0);
    expect(report.cutover.sequences.length).toBe(4);
    expect(stdout).toContain('Write-unavailability window');
    const md = await readFile(path.join(out, 'report.md'), 'utf8');
    expect(md).toContain('**Validation: EQUAL');
    expect(md).not.toContain(source.password);
  });

  it('leaves the same rows on both sides, by an independent row-by-row check', async () => {
    const { tables, differences } = await independentDiff(sourceUrl, targetUrl);
    expect(tables).toBe(6);
    expect(differences).toEqual([]);
    // the writer really changed the data after the load: more orders than were loaded, or some deleted
    const [{ n }] = await query1<{ n: string }>(
      sourceUrl,
      "SELECT count(*) AS n FROM orders WHERE placed_at > now() - interval '1 hour'",
    );
    expect(Number(n)).toBeGreaterThan(0);
  });

  it('carries sequence values over, so the next insert on the target does not collide', async () => {
    const [{ max }] = await query1<{ max: string }>(targetUrl, 'SELECT max(id) AS max FROM orders');
    const [{ next }] = await query1<{ next: string }>(targetUrl, "SELECT nextval('orders_id_seq') AS next");
    expect(BigInt(next)).toBeGreaterThan(BigInt(max));
  });

  it('leaves no publication, subscription or slot behind, and the source writable', async () => {
    await expectNothingLeft(
      sourceUrl,
      targetUrl,
      "INSERT INTO categories (name) VALUES ('after the rehearsal')",
    );
  });

  it('makes validate exit 1 and name the table when a row changes on the target', async () => {
    await query(sourceUrl, "DELETE FROM categories WHERE name = 'after the rehearsal'");
    await query(
      targetUrl,
      "UPDATE customers SET full_name = full_name || '!' WHERE id = (SELECT min(id) FROM customers)",
    );
    const run = await runDmskit(['validate', '--source', sourceUrl, '--target', targetUrl]);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toMatch(/^public\.customers +different\b/m);
    expect(run.stdout).toContain('DIFFERENT');
    expect(run.stdout).toMatch(/different: public\.customers \(id=\d+\): full_name: "[^"]+" -> "[^"]+!"/);
    const dir = await scratchDir('validate');
    const files = await runDmskit([
      'validate',
      '--source',
      sourceUrl,
      '--target',
      targetUrl,
      '--markdown',
      path.join(dir, 'v.md'),
      '--junit',
      path.join(dir, 'v.xml'),
    ]);
    expect(files.code).toBe(1);
    expect(await readFile(path.join(dir, 'v.md'), 'utf8')).toContain('| public.customers | different |');
    expect(await readFile(path.join(dir, 'v.xml'), 'utf8')).toContain(
      '<testcase classname="data" name="public.customers"><failure message="different">',
    );
    const json = await runDmskit(['validate', '--source', sourceUrl, '--target', targetUrl, '--json']);
    expect(json.code).toBe(1);
    const result = JSON.parse(json.stdout);
    expect(
      result.tables
        .filter((t: { status: string }) => t.status !== 'equal')
        .map((t: { table: unknown }) => t.table),
    ).toEqual([{ schema: 'public', table: 'customers' }]);
  });
});

describe('dmskit rehearse with no arguments', () => {
  it('starts its own servers, migrates, validates equal and stops them', async () => {
    const out = await scratchDir('report');
    const run = await runDmskit(['rehearse', '--scale', '0.05', '--cdc-seconds', '2', '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'));
    expect(report.servers.source.started).toBe(true);
    expect(report.validation.verdict).toBe('equal');
    expect(report.cdc.writesDuringCdc).toBeGreaterThan(0);
    // the servers are gone: their ports no longer answer
    const { default: net } = await import('node:net');
    const port = Number(report.servers.source.address.split(':')[1].split('/')[0]);
    const refused = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.on('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.on('error', () => resolve(true));
    });
    expect(refused).toBe(true);
  });
});
