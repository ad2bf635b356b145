import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { findPrivateZone, pointRecord } from './dns.js';

// Response shapes from the Route 53 API reference (ListHostedZonesByName, ListResourceRecordSets,
// ChangeResourceRecordSets, GetChange).
const route53 = mockClient(Route53Client);
const dns = { zoneName: 'db.corp.internal', recordName: 'shop.db.corp.internal', ttlSeconds: 30 };

beforeEach(() => route53.reset());

describe('Route 53: the applications DNS record', () => {
  it('finds the private zone by name, never a public one of the same name', async () => {
    route53.on(ListHostedZonesByNameCommand).resolves({
      HostedZones: [
        {
          Id: '/hostedzone/ZPUBLIC',
          Name: 'db.corp.internal.',
          CallerReference: 'a',
          Config: { PrivateZone: false },
        },
        {
          Id: '/hostedzone/ZPRIVATE',
          Name: 'db.corp.internal.',
          CallerReference: 'b',
          Config: { PrivateZone: true },
        },
        {
          Id: '/hostedzone/ZOTHER',
          Name: 'dbx.corp.internal.',
          CallerReference: 'c',
          Config: { PrivateZone: true },
        },
      ],
      DNSName: 'db.corp.internal.',
      IsTruncated: false,
      MaxItems: 10,
    });
    expect(await findPrivateZone(new Route53Client({ region: 'us-east-1' }), 'db.corp.internal')).toBe(
      'ZPRIVATE',
    );
  });

  it('refuses a zone that is not there, naming the config field', async () => {
    route53.on(ListHostedZonesByNameCommand).resolves({ HostedZones: [], IsTruncated: false, MaxItems: 10 });
    await expect(
      findPrivateZone(new Route53Client({ region: 'us-east-1' }), 'db.corp.internal'),
    ).rejects.toThrow(/cutover\.dns\.zoneName db\.corp\.internal: no private hosted zone of that name/);
  });

  it('UPSERTs the CNAME with its TTL and waits for INSYNC; says what it pointed at before', async () => {
    route53.on(ListResourceRecordSetsCommand).resolves({
      ResourceRecordSets: [
        {
          Name: 'shop.db.corp.internal.',
          Type: 'CNAME',
          TTL: 30,
          ResourceRecords: [{ Value: 'pg1.corp.example' }],
        },
      ],
      IsTruncated: false,
      MaxItems: 1,
    });
    route53.on(ChangeResourceRecordSetsCommand).resolves({
      ChangeInfo: { Id: '/change/C1', Status: 'PENDING', SubmittedAt: new Date() },
    });
    route53
      .on(GetChangeCommand)
      .resolvesOnce({ ChangeInfo: { Id: '/change/C1', Status: 'PENDING', SubmittedAt: new Date() } })
      .resolves({ ChangeInfo: { Id: '/change/C1', Status: 'INSYNC', SubmittedAt: new Date() } });
    const out = await pointRecord(
      new Route53Client({ region: 'us-east-1' }),
      'ZPRIVATE',
      dns,
      'shop.cluster-x.eu-west-1.rds.amazonaws.com',
      {
        timeoutMs: 5000,
        pollMs: 10,
      },
    );
    expect(out.before).toBe('pg1.corp.example');
    const change = route53.commandCalls(ChangeResourceRecordSetsCommand)[0]!.args[0].input;
    expect(change).toMatchObject({
      HostedZoneId: 'ZPRIVATE',
      ChangeBatch: {
        Changes: [
          {
            Action: 'UPSERT',
            ResourceRecordSet: {
              Name: 'shop.db.corp.internal.',
              Type: 'CNAME',
              TTL: 30,
              ResourceRecords: [{ Value: 'shop.cluster-x.eu-west-1.rds.amazonaws.com' }],
            },
          },
        ],
      },
    });
    expect(route53.commandCalls(GetChangeCommand)).toHaveLength(2);
  });

  it('a change not INSYNC in time is an error naming the record and the change', async () => {
    route53
      .on(ListResourceRecordSetsCommand)
      .resolves({ ResourceRecordSets: [], IsTruncated: false, MaxItems: 1 });
    route53.on(ChangeResourceRecordSetsCommand).resolves({
      ChangeInfo: { Id: '/change/C2', Status: 'PENDING', SubmittedAt: new Date() },
    });
    route53
      .on(GetChangeCommand)
      .resolves({ ChangeInfo: { Id: '/change/C2', Status: 'PENDING', SubmittedAt: new Date() } });
    await expect(
      pointRecord(new Route53Client({ region: 'us-east-1' }), 'ZPRIVATE', dns, 'aurora.example', {
        timeoutMs: 50,
        pollMs: 10,
      }),
    ).rejects.toThrow(
      /shop\.db\.corp\.internal -> aurora\.example was not INSYNC within 0 s \(change \/change\/C2\)/,
    );
  });
});
