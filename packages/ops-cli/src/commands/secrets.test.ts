import path from 'node:path';
import { PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { secrets } from './secrets.js';

const repoRoot = path.resolve(import.meta.dirname, '../../../..');
const sm = mockClient(SecretsManagerClient);

describe('dmskit secrets', () => {
  let out = '';
  let err = '';
  beforeEach(() => {
    sm.reset();
    out = '';
    err = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
      out += String(s);
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
      err += String(s);
      return true;
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
    delete process.env.DMSKIT_SOURCE_PASSWORD;
    delete process.env.PGPASSWORD;
  });

  it('writes both endpoint secrets in the layout DMS reads, and never prints a password (DMS: "Using secrets to access AWS Database Migration Service endpoints")', async () => {
    process.env.DMSKIT_SOURCE_PASSWORD = 'src-Pa55word';
    process.env.PGPASSWORD = 'tgt-Pa55word';
    sm.on(PutSecretValueCommand).resolves({ VersionId: 'v1' });
    const r = await secrets({
      cwd: repoRoot,
      config: 'migrations/ecommerce.ts',
      targetUrl: 'postgres://dms_apply@shop.cluster-abc.eu-west-1.rds.amazonaws.com:5432/shop',
    });
    expect(r.exitCode).toBe(0);
    const calls = sm.commandCalls(PutSecretValueCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.SecretId)).toEqual([
      'dmskit/ecommerce-staging/source',
      'dmskit/ecommerce-staging/target',
    ]);
    expect(JSON.parse(calls[0]!.SecretString!)).toEqual({
      username: 'dms_reader',
      password: 'src-Pa55word',
      host: 'pg-shop-01.corp.example',
      port: 5432,
      dbname: 'shop',
      engine: 'postgres',
    });
    expect(JSON.parse(calls[1]!.SecretString!)).toMatchObject({
      username: 'dms_apply',
      password: 'tgt-Pa55word',
      host: 'shop.cluster-abc.eu-west-1.rds.amazonaws.com',
      port: 5432,
      dbname: 'shop',
    });
    expect(out + err).not.toContain('Pa55word');
    expect(out).toContain('wrote dmskit/ecommerce-staging/source:');
  });

  it('names the variable a missing source password belongs in, and writes nothing', async () => {
    await expect(secrets({ cwd: repoRoot, config: 'migrations/ecommerce.ts' })).rejects.toThrowError(
      'source password: set DMSKIT_SOURCE_PASSWORD (source.password.variable)',
    );
    expect(sm.commandCalls(PutSecretValueCommand)).toHaveLength(0);
  });

  it('--dry-run shows what it would write, passwords masked, and calls nothing', async () => {
    process.env.DMSKIT_SOURCE_PASSWORD = 'src-Pa55word';
    await secrets({ cwd: repoRoot, config: 'migrations/ecommerce.ts', dryRun: true });
    expect(sm.commandCalls(PutSecretValueCommand)).toHaveLength(0);
    expect(out).toContain(
      'would write dmskit/ecommerce-staging/source: {"username":"dms_reader","host":"pg-shop-01.corp.example","port":5432,"dbname":"shop","engine":"postgres","password":"***"}',
    );
    expect(err).toContain('target endpoint: pass --target-url');
  });
});
