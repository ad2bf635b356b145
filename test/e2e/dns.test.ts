import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { cutoverSettings, type NativeStartState, nativeCutoverEngine, runCutover } from '@dmskit/ops-cli';
import { loadMigrationConfig, nativeObjectNames } from '@dmskit/shared';
import { listTables } from '@dmskit/validation';
import { mockClient } from 'aws-sdk-client-mock';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startMigration, type TestMigration } from '../helpers/migration.js';
import { type LocalServer, query, startPair, stopPair } from '../helpers/servers.js';

// The switch of the applications' DNS name (cutover.dns), on a real native migration: Route 53 is the
// only part mocked (aws-sdk-client-mock, with the API reference's response shapes).
const route53 = mockClient(Route53Client);
const DNS = { zoneName: 'db.corp.internal', recordName: 'shop.db.corp.internal', ttlSeconds: 30 };

function routeZone(before: string, insyncAfter: number | null) {
  route53.on(ListHostedZonesByNameCommand).resolves({
    HostedZones: [
      {
        Id: '/hostedzone/ZAPP',
        Name: 'db.corp.internal.',
        CallerReference: 'x',
        Config: { PrivateZone: true },
      },
    ],
    IsTruncated: false,
    MaxItems: 10,
  });
  route53.on(ListResourceRecordSetsCommand).resolves({
    ResourceRecordSets: [
      { Name: 'shop.db.corp.internal.', Type: 'CNAME', TTL: 30, ResourceRecords: [{ Value: before }] },
    ],
    IsTruncated: false,
    MaxItems: 1,
  });
  route53.on(ChangeResourceRecordSetsCommand).resolves({
    ChangeInfo: { Id: '/change/C9', Status: 'PENDING', SubmittedAt: new Date() },
  });
  let polls = 0;
  route53.on(GetChangeCommand).callsFake(() => {
    polls++;
    // null: the cutover's own change never gets INSYNC; a later one (the undo's) at once.
    const changes = route53.commandCalls(ChangeResourceRecordSetsCommand).length;
    const insync = insyncAfter === null ? changes > 1 : polls > insyncAfter;
    return {
      ChangeInfo: { Id: '/change/C9', Status: insync ? 'INSYNC' : 'PENDING', SubmittedAt: new Date() },
    };
  });
}

function upserts(): string[] {
  return route53
    .commandCalls(ChangeResourceRecordSetsCommand)
    .map(
      (c) => c.args[0].input.ChangeBatch?.Changes?.[0]?.ResourceRecordSet?.ResourceRecords?.[0]?.Value ?? '',
    );
}

describe('cutover.dns: the applications DNS name follows the cutover', () => {
  let source: LocalServer;
  let target: LocalServer;
  let dir: string;
  beforeAll(async () => {
    ({ source, target, dir } = await startPair('dns'));
  });
  afterAll(() => stopPair({ source, target }));
  beforeEach(() => route53.reset());

  async function cutOver(m: TestMigration, maxFenceSeconds: number) {
    const { config } = await loadMigrationConfig(m.configFile);
    const start = JSON.parse(
      await readFile(path.join(m.stateDir, `start-${config.name}-${config.environment}.json`), 'utf8'),
    ) as NativeStartState;
    const sourceControl = new pg.Client({ connectionString: m.sourceUrl });
    const targetControl = new pg.Client({ connectionString: m.targetUrl });
    await Promise.all([sourceControl.connect(), targetControl.connect()]);
    try {
      const { fallback: _none, ...settings } = cutoverSettings(config);
      return await runCutover({
        ...settings,
        maxFenceMs: maxFenceSeconds * 1000,
        source: m.sourceUrl,
        target: m.targetUrl,
        sourceControl,
        targetControl,
        engine: nativeCutoverEngine(sourceControl, targetControl, nativeObjectNames(config), start.created),
        tables: (await listTables(sourceControl)).filter((t) => t.schema === 'public'),
        maxValidationAgeMs: null,
        dns: { ...DNS, client: new Route53Client({ region: 'us-east-1' }) },
      });
    } finally {
      await Promise.all([sourceControl.end(), targetControl.end()]);
    }
  }

  it('at the switch, before ready, the record points at the target, waited INSYNC', async () => {
    const m = await startMigration(source, target, dir, {
      schema: 'CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 100);',
    });
    routeZone('pg1.corp.example', 2);
    const result = await cutOver(m, 30);
    expect(result.validation?.verdict ?? 'equal').toBe('equal');
    expect(upserts()).toEqual(['127.0.0.1']);
    expect(route53.commandCalls(GetChangeCommand).length).toBe(3);
  });

  it('not INSYNC within the fence: the cutover fails, the record points back, the source takes writes', async () => {
    const m = await startMigration(source, target, dir, {
      schema: 'CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 100);',
    });
    routeZone('pg1.corp.example', null);
    await expect(cutOver(m, 3)).rejects.toThrow(/not INSYNC/);
    // The undo pointed it back, and waited for that change to be INSYNC.
    expect(upserts()).toEqual(['127.0.0.1', 'pg1.corp.example']);
    await query(m.sourceUrl, 'INSERT INTO t VALUES (1000)');
  }, 200_000);
});
