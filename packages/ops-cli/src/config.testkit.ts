import { type MigrationConfig, parseMigrationConfig } from '@dmskit/shared';

/**
 * For tests: the smallest migration config the schema accepts, parsed (defaults applied): `shop` in
 * `prod`, a VPN to on-prem, the source at 192.168.1.10. `fields` replace top-level fields; `database`
 * and `sourceFields` go into `source`; the availability zones follow `aws.region`.
 */
export function testConfig(
  fields: Record<string, unknown> & {
    aws?: { region?: string };
    database?: string;
    sourceFields?: Record<string, unknown>;
  } = {},
): MigrationConfig {
  const { database = 'shop', sourceFields = {}, ...rest } = fields;
  const region = rest.aws?.region ?? 'us-east-1';
  return parseMigrationConfig({
    name: 'shop',
    environment: 'prod',
    network: {
      availabilityZones: [`${region}a`, `${region}b`],
      onPremCidrs: ['192.168.0.0/16'],
      connectivity: { type: 'vpn', customerGatewayIp: '198.51.100.7' },
    },
    source: { host: '192.168.1.10', database, user: 'dms', ...sourceFields },
    ...rest,
  }).config;
}
