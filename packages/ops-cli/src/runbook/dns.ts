import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { ExternalError, UsageError } from '@dmskit/shared';
import { sleep } from '../util/time.js';

/** The applications' DNS name (`cutover.dns`): a CNAME in a Route 53 private hosted zone. */
export interface DnsSwitch {
  readonly zoneName: string;
  readonly recordName: string;
  /** Seconds. */
  readonly ttlSeconds: number;
}

/** A Route 53 client (a global service: its API lives in us-east-1 whatever the migration's region). */
export function createRoute53Client(): Route53Client {
  return new Route53Client({ region: 'us-east-1', retryMode: 'adaptive', maxAttempts: 8 });
}

function fqdn(name: string): string {
  return name.endsWith('.') ? name.toLowerCase() : `${name.toLowerCase()}.`;
}

/**
 * The id of the private hosted zone `zoneName` (ListHostedZonesByName: zones sorted by name, the first
 * page starts at the name), found by the name the stack gives it, never typed by hand.
 * @throws UsageError when no private zone has that name, or several do
 */
export async function findPrivateZone(client: Route53Client, zoneName: string): Promise<string> {
  const { HostedZones = [] } = await client.send(
    new ListHostedZonesByNameCommand({ DNSName: fqdn(zoneName), MaxItems: 10 }),
  );
  const zones = HostedZones.filter((z) => z.Name === fqdn(zoneName) && z.Config?.PrivateZone);
  if (zones.length !== 1)
    throw new UsageError(
      zones.length
        ? `cutover.dns.zoneName ${zoneName}: ${zones.length} private hosted zones have that name; keep one`
        : `cutover.dns.zoneName ${zoneName}: no private hosted zone of that name (the stack creates it: cdktf deploy)`,
    );
  return zones[0]!.Id!.replace(/^\/hostedzone\//, '');
}

/** The value the record points at now (its CNAME target, without the final dot), or undefined. */
export async function currentTarget(
  client: Route53Client,
  zoneId: string,
  dns: DnsSwitch,
): Promise<string | undefined> {
  const { ResourceRecordSets = [] } = await client.send(
    new ListResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      StartRecordName: fqdn(dns.recordName),
      StartRecordType: 'CNAME',
      MaxItems: 1,
    }),
  );
  const r = ResourceRecordSets.find((s) => s.Name === fqdn(dns.recordName) && s.Type === 'CNAME');
  return r?.ResourceRecords?.[0]?.Value?.replace(/\.$/, '');
}

/**
 * Points the record at `host` (UPSERT of the CNAME with the configured TTL) and waits until Route 53
 * reports the change INSYNC on all its servers (GetChange, polled every `pollMs`, default 1 s): from then
 * on, resolvers get the new value once their cached answer expires, within `ttlSeconds`. Route 53: "Changing
 * records", ChangeResourceRecordSets and GetChange in the API reference.
 * @returns the value before, and how long the wait took (ms)
 * @throws ExternalError when the change is not INSYNC within `timeoutMs`, or Route 53 refuses it
 */
export async function pointRecord(
  client: Route53Client,
  zoneId: string,
  dns: DnsSwitch,
  host: string,
  options: { timeoutMs: number; pollMs?: number; comment?: string },
): Promise<{ before: string | undefined; ms: number; changeId: string }> {
  const t = performance.now();
  const before = await currentTarget(client, zoneId, dns);
  let changeId: string;
  try {
    const { ChangeInfo } = await client.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        ChangeBatch: {
          Comment: options.comment ?? 'dmskit cutover',
          Changes: [
            {
              Action: 'UPSERT',
              ResourceRecordSet: {
                Name: fqdn(dns.recordName),
                Type: 'CNAME',
                TTL: dns.ttlSeconds,
                ResourceRecords: [{ Value: host }],
              },
            },
          ],
        },
      }),
    );
    changeId = ChangeInfo?.Id ?? '';
    let status = ChangeInfo?.Status;
    const deadline = Date.now() + options.timeoutMs;
    while (status !== 'INSYNC') {
      if (Date.now() > deadline)
        throw new ExternalError(
          `the DNS record ${dns.recordName} -> ${host} was not INSYNC within ${Math.round(options.timeoutMs / 1000)} s (change ${changeId})`,
        );
      await sleep(options.pollMs ?? 1000);
      status = (await client.send(new GetChangeCommand({ Id: changeId }))).ChangeInfo?.Status;
    }
  } catch (error) {
    if (error instanceof ExternalError) throw error;
    throw new ExternalError(
      `Route 53 refused pointing ${dns.recordName} at ${host}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  return { before, ms: Math.round(performance.now() - t), changeId };
}
