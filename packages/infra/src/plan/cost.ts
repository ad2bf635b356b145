import type { PlanJson, ResourceChange } from './plan-json.js';
import { resourcesAfter } from './plan-json.js';
import { PRICES, PRICES_AS_OF, type RegionPrices } from './prices.js';

/** Hours in the month the estimate uses (AWS's own convention: 365 x 24 / 12). */
export const HOURS_PER_MONTH = 730;

/** One line of the estimate. `monthlyUsd` is undefined when the table has no price for it. */
export interface CostLine {
  readonly item: string;
  readonly quantity: string;
  readonly monthlyUsd?: number;
}

export interface CostEstimate {
  readonly region: string;
  readonly lines: readonly CostLine[];
  /** The sum of the priced lines, in USD per month. */
  readonly totalUsd: number;
  /** What the estimate leaves out or could not price, one sentence each. */
  readonly notes: readonly string[];
}

const str = (rc: ResourceChange, key: string) => String(rc.change.after?.[key] ?? '');
const num = (rc: ResourceChange, key: string) => Number(rc.change.after?.[key] ?? 0);

/**
 * The monthly cost of what the plan leaves in place (created, changed or kept), from the price table
 * of the stack's region: replication instance hours by class and Multi-AZ and its storage, DMS
 * Serverless at its minimum capacity, Aurora instances, VPN connections, Resolver endpoint ENIs, interface endpoints per AZ and
 * NAT gateways. Usage-driven costs (Aurora storage and I/O, data transfer, logs) are named, not priced.
 */
export function costEstimate(plan: PlanJson, region: string): CostEstimate {
  const prices: RegionPrices | undefined = PRICES[region];
  const lines: CostLine[] = [];
  const notes: string[] = [];
  if (!prices) {
    return {
      region,
      lines,
      totalUsd: 0,
      notes: [
        `no prices for ${region} in packages/infra/src/plan/prices.ts (it has ${Object.keys(PRICES).join(', ')})`,
      ],
    };
  }
  const hourly = (rate: number | undefined, count = 1) =>
    rate === undefined ? undefined : Math.round(rate * count * HOURS_PER_MONTH * 100) / 100;
  for (const rc of resourcesAfter(plan)) {
    if (rc.type === 'aws_dms_replication_instance') {
      const cls = str(rc, 'replication_instance_class');
      const multiAz = rc.change.after?.multi_az === true;
      const azs = multiAz ? 2 : 1;
      const monthly = hourly(prices.dmsInstanceHour[cls], azs);
      lines.push({
        item: `DMS replication instance ${cls}${multiAz ? ' Multi-AZ' : ''}`,
        quantity: `${HOURS_PER_MONTH} h`,
        ...(monthly === undefined ? {} : { monthlyUsd: monthly }),
      });
      if (monthly === undefined) notes.push(`no price for ${cls} in the table`);
      const gb = num(rc, 'allocated_storage');
      lines.push({
        item: 'DMS replication instance storage',
        quantity: `${gb} GB${multiAz ? ' x 2 AZ' : ''}`,
        monthlyUsd: Math.round(gb * azs * prices.dmsStorageGbMonth * 100) / 100,
      });
    } else if (rc.type === 'aws_dms_replication_config') {
      const dcu = Number(
        (rc.change.after?.compute_config as { min_capacity_units?: number }[] | undefined)?.[0]
          ?.min_capacity_units ?? 0,
      );
      lines.push({
        item: 'DMS Serverless at its minimum capacity',
        quantity: `${dcu} DCU x ${HOURS_PER_MONTH} h`,
        monthlyUsd: hourly(prices.dmsServerlessDcuHour, dcu)!,
      });
      notes.push('DMS Serverless scales up to its maximum capacity under load: the line is its floor');
    } else if (rc.type === 'aws_rds_cluster_instance') {
      const cls = str(rc, 'instance_class');
      const monthly = hourly(prices.auroraInstanceHour[cls]);
      lines.push({
        item: `Aurora PostgreSQL instance ${cls}`,
        quantity: `${HOURS_PER_MONTH} h`,
        ...(monthly === undefined ? {} : { monthlyUsd: monthly }),
      });
      if (monthly === undefined) notes.push(`no price for ${cls} in the table`);
    } else if (rc.type === 'aws_vpn_connection') {
      lines.push({
        item: 'Site-to-Site VPN connection',
        quantity: `${HOURS_PER_MONTH} h`,
        monthlyUsd: hourly(prices.vpnConnectionHour)!,
      });
    } else if (rc.type === 'aws_vpc_endpoint' && str(rc, 'vpc_endpoint_type') === 'Interface') {
      // Subnets created in the same plan are known only after apply: one per subnet of the plan then.
      const subnets =
        (rc.change.after?.subnet_ids as unknown[] | undefined)?.length ??
        resourcesAfter(plan).filter((r) => r.type === 'aws_subnet').length;
      const azs = Math.max(1, subnets);
      lines.push({
        item: `Interface endpoint ${str(rc, 'service_name').split('.').pop()}`,
        quantity: `${azs} AZ x ${HOURS_PER_MONTH} h`,
        monthlyUsd: hourly(prices.interfaceEndpointAzHour, azs)!,
      });
    } else if (rc.type === 'aws_route53_resolver_endpoint') {
      // One ENI per IP address of the endpoint, each billed by the hour (Route 53 pricing, Resolver).
      const enis = Math.max(1, (rc.change.after?.ip_address as unknown[] | undefined)?.length ?? 2);
      lines.push({
        item: `Route 53 Resolver endpoint (${str(rc, 'direction').toLowerCase() || 'outbound'})`,
        quantity: `${enis} ENI x ${HOURS_PER_MONTH} h`,
        monthlyUsd: hourly(prices.resolverEndpointEniHour, enis)!,
      });
    } else if (rc.type === 'aws_nat_gateway') {
      lines.push({
        item: 'NAT gateway',
        quantity: `${HOURS_PER_MONTH} h`,
        monthlyUsd: hourly(prices.natGatewayHour)!,
      });
    }
  }
  notes.push(
    `Aurora storage (${prices.auroraStorageGbMonth} USD per GB-month) and I/O, data transfer, CloudWatch logs and S3 grow with use and are not included`,
  );
  const totalUsd = Math.round(lines.reduce((s, l) => s + (l.monthlyUsd ?? 0), 0) * 100) / 100;
  return { region, lines, totalUsd, notes };
}

/** The estimate as a Markdown section for the plan summary, with the line that says what it is. */
export function costMarkdown(estimate: CostEstimate): string[] {
  const usd = (n: number) => `$${n.toFixed(2)}`;
  const out = [
    `### Monthly cost estimate (${estimate.region}, on-demand): about ${usd(estimate.totalUsd)}`,
    '',
    `An estimate from the price table in packages/infra/src/plan/prices.ts (recorded ${PRICES_AS_OF}, not a live price lookup), not a quote: check it with the AWS Pricing Calculator.`,
    '',
    '| item | quantity | per month |',
    '| --- | --- | ---: |',
    ...estimate.lines.map(
      (l) => `| ${l.item} | ${l.quantity} | ${l.monthlyUsd === undefined ? 'no price' : usd(l.monthlyUsd)} |`,
    ),
    '',
    ...estimate.notes.map((n) => `- ${n}`),
  ];
  return out;
}
