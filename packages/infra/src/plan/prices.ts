/**
 * On-demand list prices (USD) the plan's cost estimate uses, per region. Approximate figures recorded in
 * the repo on {@link PRICES_AS_OF} without a live lookup (this workplace reaches no AWS price API): check
 * them against the AWS Pricing Calculator, and update this table, before a budget relies on them.
 */
export const PRICES_AS_OF = '2026-11-22';

export interface RegionPrices {
  /** DMS replication instance, single-AZ, per hour, by class (Multi-AZ costs twice). */
  readonly dmsInstanceHour: Readonly<Record<string, number>>;
  /** DMS replication instance storage (gp2), per GB-month, single-AZ (Multi-AZ twice). */
  readonly dmsStorageGbMonth: number;
  /** DMS Serverless, per DCU-hour. */
  readonly dmsServerlessDcuHour: number;
  /** Aurora PostgreSQL (Standard) instance, per hour, by class. */
  readonly auroraInstanceHour: Readonly<Record<string, number>>;
  /** Aurora storage (Standard), per GB-month. */
  readonly auroraStorageGbMonth: number;
  /** Site-to-Site VPN connection, per hour. */
  readonly vpnConnectionHour: number;
  /** Interface VPC endpoint, per availability zone, per hour. */
  readonly interfaceEndpointAzHour: number;
  /** NAT gateway, per hour. */
  readonly natGatewayHour: number;
  /** Route 53 Resolver endpoint, per ENI (IP address) per hour. */
  readonly resolverEndpointEniHour: number;
}

export const PRICES: Readonly<Record<string, RegionPrices>> = {
  'us-east-1': {
    dmsInstanceHour: {
      'dms.t3.micro': 0.018,
      'dms.t3.small': 0.036,
      'dms.t3.medium': 0.073,
      'dms.t3.large': 0.146,
      'dms.c5.large': 0.154,
      'dms.c5.xlarge': 0.308,
      'dms.c5.2xlarge': 0.616,
      'dms.r5.large': 0.21,
      'dms.r5.xlarge': 0.42,
      'dms.r5.2xlarge': 0.84,
      'dms.r6i.large': 0.21,
      'dms.r6i.xlarge': 0.42,
      'dms.r6i.2xlarge': 0.84,
      'dms.r6i.4xlarge': 1.68,
    },
    dmsStorageGbMonth: 0.115,
    dmsServerlessDcuHour: 0.115,
    auroraInstanceHour: {
      'db.t4g.medium': 0.073,
      'db.t4g.large': 0.146,
      'db.r6g.large': 0.26,
      'db.r6g.xlarge': 0.519,
      'db.r6g.2xlarge': 1.038,
      'db.r6g.4xlarge': 2.076,
      'db.r7g.large': 0.276,
      'db.r7g.xlarge': 0.552,
      'db.r6i.large': 0.29,
      'db.r6i.xlarge': 0.58,
    },
    auroraStorageGbMonth: 0.1,
    vpnConnectionHour: 0.05,
    interfaceEndpointAzHour: 0.01,
    natGatewayHour: 0.045,
    resolverEndpointEniHour: 0.125,
  },
  'eu-west-1': {
    dmsInstanceHour: {
      'dms.t3.micro': 0.02,
      'dms.t3.small': 0.04,
      'dms.t3.medium': 0.08,
      'dms.t3.large': 0.16,
      'dms.c5.large': 0.172,
      'dms.c5.xlarge': 0.344,
      'dms.c5.2xlarge': 0.688,
      'dms.r5.large': 0.234,
      'dms.r5.xlarge': 0.468,
      'dms.r5.2xlarge': 0.936,
      'dms.r6i.large': 0.234,
      'dms.r6i.xlarge': 0.468,
      'dms.r6i.2xlarge': 0.936,
      'dms.r6i.4xlarge': 1.872,
    },
    dmsStorageGbMonth: 0.127,
    dmsServerlessDcuHour: 0.127,
    auroraInstanceHour: {
      'db.t4g.medium': 0.081,
      'db.t4g.large': 0.162,
      'db.r6g.large': 0.288,
      'db.r6g.xlarge': 0.576,
      'db.r6g.2xlarge': 1.152,
      'db.r6g.4xlarge': 2.304,
      'db.r7g.large': 0.306,
      'db.r7g.xlarge': 0.612,
      'db.r6i.large': 0.32,
      'db.r6i.xlarge': 0.64,
    },
    auroraStorageGbMonth: 0.11,
    vpnConnectionHour: 0.05,
    interfaceEndpointAzHour: 0.011,
    natGatewayHour: 0.048,
    resolverEndpointEniHour: 0.125,
  },
};
