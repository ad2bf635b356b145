import { readFile, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, rehearseOn, runDmskit, runNpxDmskit } from '../helpers/cli.js';
import { minimalConfig } from '../helpers/configs.js';
import { scratchDir } from '../helpers/scratch.js';
import { createDatabase, type LocalServer, query, startServer } from '../helpers/servers.js';

function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  return lines[lines.length - 1] ?? '';
}

describe('bad input: one clear line, exit code 2, nothing half-done', () => {
  let replicaOnly: LocalServer;
  let target: LocalServer;
  let sourceUrl: string;
  let targetUrl: string;

  beforeAll(async () => {
    [replicaOnly, target] = await Promise.all([startServer('source'), startServer('target')]);
    [sourceUrl, targetUrl] = await Promise.all([
      createDatabase(replicaOnly, 'app'),
      createDatabase(target, 'app'),
    ]);
    await query(sourceUrl, 'CREATE TABLE t (id int PRIMARY KEY, v text)');
  });

  afterAll(async () => {
    await Promise.all([replicaOnly?.stop(), target?.stop()]);
  });

  it('`npx dmskit validate --json` (npm alone, no pnpm) prints only JSON, and never the password of a URL on its command line', async () => {
    const password = new URL(sourceUrl).password;
    expect(password.length).toBeGreaterThan(8);
    const run = await runNpxDmskit(['validate', '--source', sourceUrl, '--target', targetUrl, '--json']);
    expect(run.code).toBe(1);
    const result = JSON.parse(run.stdout) as { verdict: string; tables: { status: string }[] };
    expect(result.verdict).toBe('different');
    expect(result.tables).toEqual([expect.objectContaining({ status: 'missing-on-target' })]);
    expect(run.stdout + run.stderr).not.toContain(password);
  });

  it('an unreachable database: host and port named, no password, no stack', async () => {
    const run = await runDmskit([
      'rehearse',
      '--source-url',
      'postgres://app:s3cretpw@127.0.0.1:1/app',
      '--target-url',
      targetUrl,
      '--no-sample-data',
    ]);
    expect(run.code).toBe(2);
    expect(oneLine(run.stderr)).toBe('dmskit: cannot connect to source 127.0.0.1:1/app: connection refused');
    expect(run.stderr).not.toContain('s3cretpw');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('a source without wal_level=logical: refused before anything is created, with the setting to change', async () => {
    const run = await rehearseOn(sourceUrl, targetUrl, { out: await scratchDir('refused') });
    expect(run.code).toBe(2);
    expect(oneLine(run.stderr)).toMatch(
      /^dmskit: source 127\.0\.0\.1:\d+\/app: wal_level is 'replica', logical replication needs 'logical' \(ALTER SYSTEM SET wal_level = logical/,
    );
    expect(await query(targetUrl, "SELECT relname FROM pg_class WHERE relname = 't'")).toEqual([]);
    expect(await query(sourceUrl, 'SELECT pubname FROM pg_publication')).toEqual([]);
  });

  it('an invalid config: every bad field by path', async () => {
    const dir = await scratchDir('bad-config');
    await writeFile(
      path.join(dir, 'bad.json'),
      JSON.stringify({ name: 'X', network: { availabilityZones: ['eu-west-1a'] }, source: { host: 'h' } }),
    );
    const run = await runDmskit(['rehearse', '--config', 'bad.json'], { cwd: dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('invalid migration config in bad.json');
    for (const field of [
      'name:',
      'network.availabilityZones:',
      'network.onPremCidrs:',
      'network.connectivity:',
      'source.database:',
      'source.user:',
    ]) {
      expect(run.stderr).toContain(field);
    }
  });

  it('start --engine native refuses transformation rules it cannot replicate, in one line, before touching a server', async () => {
    const dir = await scratchDir('transform-config');
    await writeFile(
      path.join(dir, 'renames.json'),
      JSON.stringify({
        name: 'shop',
        network: {
          availabilityZones: ['us-east-1a', 'us-east-1b'],
          onPremCidrs: ['192.168.0.0/16'],
          connectivity: { type: 'vpn', customerGatewayIp: '198.51.100.7' },
        },
        source: { host: '192.168.1.10', database: 'shop', user: 'dms' },
        task: {
          transformations: [
            { target: 'table', action: 'rename', schema: 'public', table: 'orders', value: 'orders_v2' },
          ],
        },
      }),
    );
    const run = await runDmskit(
      [
        'start',
        '--engine',
        'native',
        '--config',
        'renames.json',
        '--source-url',
        'postgres://u:p@127.0.0.1:1/shop',
        '--target-url',
        'postgres://u:p@127.0.0.1:1/shop',
      ],
      { cwd: dir },
    );
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toBe(
      "dmskit: the native engine replicates tables under their source names, so task.transformations[0] (rename table public.orders 'orders_v2') would not take effect: use --engine dms, or remove the rule(s)",
    );
  });

  it('plan with shards: a missing catalog file, or more tasks than tables, is one line naming the field, exit 2', async () => {
    const dir = await scratchDir('bad-shards');
    const config = minimalConfig({
      name: 'big',
      aws: { region: 'eu-west-1', accountId: '123456789012' },
      database: 'big',
      sourceFields: { sslmode: 'require' },
      task: { shards: 2, sourceCatalogFile: 'catalog.json' },
    });
    await writeFile(path.join(dir, 'big.json'), JSON.stringify(config));
    const missing = await runDmskit(['plan', '--config', 'big.json', '--offline', '--out', 'plan'], {
      cwd: dir,
    });
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toBe(
      `dmskit: task.sourceCatalogFile: cannot read ${path.join(dir, 'catalog.json')} (ENOENT): write it with dmskit catalog --source <url> --out catalog.json`,
    );
    await writeFile(
      path.join(dir, 'catalog.json'),
      JSON.stringify({
        kind: 'dmskit-catalog',
        version: 1,
        databases: [
          { name: 'big', tables: [{ schema: 'public', table: 'only', columns: ['id'], bytes: 1 }] },
        ],
      }),
    );
    const few = await runDmskit(['plan', '--config', 'big.json', '--offline', '--out', 'plan'], { cwd: dir });
    expect(few.code).toBe(2);
    expect(few.stderr).not.toMatch(/\n\s+at /);
    expect(oneLine(few.stderr)).toBe(
      'dmskit: invalid migration config: 1 problem(s); task.shards: 2 tasks for 1 selected table(s) of the catalog: at most one task per table',
    );
  });

  it('a bad flag or URL is a usage error', async () => {
    expect((await runDmskit(['rehearse', '--scale', 'lots'])).code).toBe(2);
    const run = await runDmskit(['validate', '--source', 'mysql://x', '--target', targetUrl]);
    expect(run.code).toBe(2);
    expect(oneLine(run.stderr)).toBe('dmskit: --source: expected a postgres://user@host:port/database URL');
  });
});

describe('the installed dmskit bin', () => {
  it('`npx dmskit --version` and `--help` run with npm alone, from compiled JavaScript, with exit codes and environment listed', async () => {
    const pkg = JSON.parse(await readFile(path.join(REPO_ROOT, 'packages/ops-cli/package.json'), 'utf8')) as {
      version: string;
    };
    const version = await runNpxDmskit(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toBe(pkg.version);
    const help = await runNpxDmskit(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Exit codes:\n\s+0 /);
    expect(help.stdout).toContain('PGPASSWORD');
    // The bin runs the bundle, not the TypeScript sources.
    const bundle = await stat(path.join(REPO_ROOT, 'packages/ops-cli/dist/bin/dmskit.mjs'));
    expect(bundle.isFile()).toBe(true);
  });

  it('a source newer than the bundle is compiled before the command runs: no stale code', async () => {
    const bundlePath = path.join(REPO_ROOT, 'packages/ops-cli/dist/bin/dmskit.mjs');
    await runDmskit(['--version']);
    // Older than any source can be.
    const past = new Date('2001-01-01T00:00:00Z');
    await utimes(bundlePath, past, past);
    const run = await runDmskit(['--version']);
    expect(run.code).toBe(0);
    expect((await stat(bundlePath)).mtimeMs).toBeGreaterThan(Date.now() - 60_000);
  });
});
