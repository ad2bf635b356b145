/**
 * The smallest migration config the schema accepts, as a plain object (to write as JSON or parse):
 * migration `shop` in `prod`, a VPN to on-prem, the source at 192.168.1.10. `fields` replace top-level
 * fields; `database` and `sourceFields` go into `source`, and the availability zones follow `aws.region`.
 */
export function minimalConfig(
  fields: Record<string, unknown> & {
    aws?: { region?: string; accountId?: string };
    database?: string;
    sourceFields?: Record<string, unknown>;
  } = {},
): Record<string, unknown> {
  const { database = 'shop', sourceFields = {}, ...rest } = fields;
  const region = rest.aws?.region ?? 'us-east-1';
  return {
    name: 'shop',
    environment: 'prod',
    network: {
      availabilityZones: [`${region}a`, `${region}b`],
      onPremCidrs: ['192.168.0.0/16'],
      connectivity: { type: 'vpn', customerGatewayIp: '198.51.100.7' },
    },
    source: { host: '192.168.1.10', database, user: 'dms', ...sourceFields },
    ...rest,
  };
}
