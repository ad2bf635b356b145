import { describe, expect, it } from 'vitest';
import { costEstimate, costMarkdown } from './cost.js';
import type { PlanJson, ResourceChange } from './plan-json.js';

const created = (type: string, after: Record<string, unknown>): ResourceChange => ({
  address: `${type}.x`,
  type,
  name: 'x',
  mode: 'managed',
  change: { actions: ['create'], before: null, after },
});

const plan: PlanJson = {
  resource_changes: [
    created('aws_dms_replication_instance', {
      replication_instance_class: 'dms.r6i.large',
      multi_az: true,
      allocated_storage: 100,
    }),
    created('aws_rds_cluster_instance', { instance_class: 'db.r6g.large' }),
    created('aws_rds_cluster_instance', { instance_class: 'db.r6g.large' }),
    created('aws_vpn_connection', {}),
    created('aws_vpc_endpoint', {
      vpc_endpoint_type: 'Interface',
      service_name: 'com.amazonaws.eu-west-1.secretsmanager',
      subnet_ids: ['a', 'b'],
    }),
    created('aws_vpc_endpoint', { vpc_endpoint_type: 'Gateway', service_name: 'com.amazonaws.eu-west-1.s3' }),
    // Destroyed by the plan: costs nothing after it.
    {
      address: 'aws_rds_cluster_instance.old',
      type: 'aws_rds_cluster_instance',
      name: 'old',
      mode: 'managed',
      change: { actions: ['delete'], before: { instance_class: 'db.r6g.4xlarge' }, after: null },
    },
  ],
};

describe('monthly cost estimate', () => {
  it('prices what the plan leaves in place at 730 hours a month, from the region table (eu-west-1)', () => {
    const e = costEstimate(plan, 'eu-west-1');
    // 0.234 x 2 AZ x 730 = 341.64; 100 GB x 2 x 0.127 = 25.40; 0.288 x 730 = 210.24 (twice);
    // VPN 0.05 x 730 = 36.50; endpoint 0.011 x 2 AZ x 730 = 16.06.
    expect(e.lines).toEqual([
      { item: 'DMS replication instance dms.r6i.large Multi-AZ', quantity: '730 h', monthlyUsd: 341.64 },
      { item: 'DMS replication instance storage', quantity: '100 GB x 2 AZ', monthlyUsd: 25.4 },
      { item: 'Aurora PostgreSQL instance db.r6g.large', quantity: '730 h', monthlyUsd: 210.24 },
      { item: 'Aurora PostgreSQL instance db.r6g.large', quantity: '730 h', monthlyUsd: 210.24 },
      { item: 'Site-to-Site VPN connection', quantity: '730 h', monthlyUsd: 36.5 },
      { item: 'Interface endpoint secretsmanager', quantity: '2 AZ x 730 h', monthlyUsd: 16.06 },
    ]);
    expect(e.totalUsd).toBe(840.08);
    const md = costMarkdown(e).join('\n');
    expect(md).toContain('### Monthly cost estimate (eu-west-1, on-demand): about $840.08');
    expect(md).toContain('not a quote: check it with the AWS Pricing Calculator');
    expect(md).toMatch(/Aurora storage .* not included/);
  });

  it('says so for a class or a region the table does not price, instead of inventing a figure', () => {
    const odd = costEstimate(
      { resource_changes: [created('aws_rds_cluster_instance', { instance_class: 'db.x2g.16xlarge' })] },
      'eu-west-1',
    );
    expect(odd.lines).toEqual([{ item: 'Aurora PostgreSQL instance db.x2g.16xlarge', quantity: '730 h' }]);
    expect(odd.notes).toContain('no price for db.x2g.16xlarge in the table');
    expect(costEstimate(plan, 'ap-south-2').notes[0]).toMatch(/^no prices for ap-south-2/);
  });
});

describe('interface endpoints in subnets the same plan creates', () => {
  it('counts one AZ per subnet of the plan when the endpoint’s subnet ids are known only after apply', () => {
    const unknownSubnets: ResourceChange = {
      address: 'aws_vpc_endpoint.logs',
      type: 'aws_vpc_endpoint',
      name: 'logs',
      mode: 'managed',
      change: {
        actions: ['create'],
        before: null,
        after: { vpc_endpoint_type: 'Interface', service_name: 'com.amazonaws.us-east-1.logs' },
        after_unknown: { subnet_ids: true },
      },
    };
    const e = costEstimate(
      {
        resource_changes: [
          unknownSubnets,
          created('aws_subnet', { cidr_block: '10.0.0.0/24' }),
          created('aws_subnet', { cidr_block: '10.0.1.0/24' }),
        ],
      },
      'us-east-1',
    );
    // 0.01 x 2 AZ x 730 = 14.60
    expect(e.lines).toEqual([
      { item: 'Interface endpoint logs', quantity: '2 AZ x 730 h', monthlyUsd: 14.6 },
    ]);
  });
});

describe('the Route 53 Resolver endpoint in the estimate', () => {
  it('costs each of its ENIs by the hour: two IP addresses, two ENIs', () => {
    const est = costEstimate(
      {
        resource_changes: [
          created('aws_route53_resolver_endpoint', {
            direction: 'OUTBOUND',
            ip_address: [{ subnet_id: 'a' }, { subnet_id: 'b' }],
          }),
        ],
      },
      'eu-west-1',
    );
    expect(est.lines).toEqual([
      expect.objectContaining({
        item: 'Route 53 Resolver endpoint (outbound)',
        quantity: '2 ENI x 730 h',
        monthlyUsd: 182.5,
      }),
    ]);
  });
});
