import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { assessmentResources, type MigrationConfig, parseMigrationConfig } from '@dmskit/shared';
import { Testing } from 'cdktf';
import { afterAll, describe, expect, it } from 'vitest';
import { addMigrationStacks, baselineStackName, migrationConflicts } from './app.js';
import { OFFLINE_GATEWAY_ID } from './customer-gateway-stack.js';
import type { PlanJson, ResourceChange } from './plan/plan-json.js';
import { evaluatePolicies, PLAN_POLICIES } from './plan/policies.js';
import { dangerousChanges } from './plan/summary.js';
import { MigrationStack } from './stack.js';

const outdir = mkdtempSync(path.join(tmpdir(), 'dmskit-landing-zone-test-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

type Synth = {
  resource: Record<string, Record<string, Record<string, unknown>>>;
  terraform: Record<string, unknown>;
};
const resources = (s: Synth, type: string) => Object.values(s.resource[type] ?? {});

function config(fields: Record<string, unknown> = {}): MigrationConfig {
  const { network = {}, source = {}, aws = {}, ...rest } = fields as Record<string, Record<string, unknown>>;
  return parseMigrationConfig({
    name: 'shop',
    environment: 'prod',
    aws: { region: 'eu-west-1', accountId: '111111111111', ...aws },
    network: {
      vpcCidr: '10.60.0.0/16',
      availabilityZones: [`${String(aws.region ?? 'eu-west-1')}a`, `${String(aws.region ?? 'eu-west-1')}b`],
      onPremCidrs: ['192.168.0.0/16'],
      connectivity: { type: 'vpn', customerGatewayIp: '198.51.100.7' },
      ...network,
    },
    source: { host: 'db1', database: 'shop', user: 'dms', sslmode: 'require', ...source },
    alarmEmail: 'oncall@example.com',
    ...rest,
  }).config;
}

function synth(c: MigrationConfig): Synth {
  const app = Testing.app({ outdir });
  return JSON.parse(Testing.synth(new MigrationStack(app, 'test', { config: c, offline: true }))) as Synth;
}

describe('security group rules EC2 takes on the first apply', () => {
  it('an application network inside the on-prem networks is folded: one rule per block, none repeated', () => {
    const s = synth(config({ target: { appCidrs: ['192.168.20.0/24', '192.168.20.0/24', '10.9.0.0/24'] } }));
    const cidrs = resources(s, 'aws_vpc_security_group_ingress_rule')
      .filter((r) => r.from_port === 5432 && r.cidr_ipv4)
      .map((r) => r.cidr_ipv4);
    // The fall-back path without source.hostCidr opens the on-prem /16; the app's /24 inside it adds nothing.
    expect(cidrs.sort()).toEqual(['10.9.0.0/24', '192.168.0.0/16']);
    const folded = resources(s, 'aws_vpc_security_group_ingress_rule').find(
      (r) => r.cidr_ipv4 === '192.168.0.0/16',
    );
    expect(folded?.description).toMatch(
      /fall-back path.*application network \(192\.168\.0\.0\/16, 192\.168\.20\.0\/24\)/,
    );
  });

  it("the fall-back path opens Aurora to the source's address alone: source.hostCidr, or an IPv4 host as a /32", () => {
    const byName = synth(config({ source: { hostCidr: '192.168.10.5/32' } }));
    const byIp = synth(config({ source: { host: '192.168.10.6' } }));
    const onPrem = (s: Synth) =>
      resources(s, 'aws_vpc_security_group_ingress_rule')
        .filter((r) => r.from_port === 5432 && r.cidr_ipv4)
        .map((r) => r.cidr_ipv4);
    expect(onPrem(byName)).toEqual(['192.168.10.5/32']);
    expect(onPrem(byIp)).toEqual(['192.168.10.6/32']);
    const warned = parseMigrationConfig({
      ...config(),
      source: { host: 'db1', database: 'shop', user: 'dms' },
    });
    expect(warned.warnings.join('\n')).toMatch(
      /source\.hostCidr: not set, so the fall-back path opens Aurora's port/,
    );
  });
});

describe('what a feature needs is made with it', () => {
  it('Time Travel: an S3 gateway endpoint on the private route table, and the replication instance may reach it', () => {
    const s = synth(config({ task: { timeTravel: { enabled: true } } }));
    const endpoints = resources(s, 'aws_vpc_endpoint');
    const s3 = endpoints.find((e) => String(e.service_name).endsWith('.s3'));
    expect(s3).toMatchObject({ service_name: 'com.amazonaws.eu-west-1.s3', vpc_endpoint_type: 'Gateway' });
    expect(JSON.stringify(s3?.route_table_ids)).toMatch(/aws_route_table\.\w+\.id/);
    const egress = resources(s, 'aws_vpc_security_group_egress_rule').find((r) => r.prefix_list_id);
    expect(egress).toMatchObject({ ip_protocol: 'tcp', from_port: 443, to_port: 443 });
    expect(String(egress?.prefix_list_id)).toMatch(/aws_vpc_endpoint\.\w+\.prefix_list_id/);
    // Without Time Travel, no S3 endpoint.
    expect(
      resources(synth(config()), 'aws_vpc_endpoint').some((e) => String(e.service_name).endsWith('.s3')),
    ).toBe(false);
  });

  it('an existing alarm topic: every alarm and DMS event goes to it, no topic is made', () => {
    const arn = 'arn:aws:sns:eu-west-1:111111111111:oncall';
    const s = synth(config({ alarmTopicArn: arn, alarmEmail: undefined }));
    expect(resources(s, 'aws_sns_topic')).toEqual([]);
    const alarms = resources(s, 'aws_cloudwatch_metric_alarm');
    expect(alarms.length).toBeGreaterThan(3);
    for (const a of alarms) expect(a.alarm_actions).toEqual([arn]);
    for (const e of resources(s, 'aws_dms_event_subscription')) expect(e.sns_topic_arn).toBe(arn);
  });

  it('premigration assessments: a private bucket encrypted with the migration key, and the role DMS writes there with, by the names dmskit assess uses', () => {
    const c = config();
    const names = assessmentResources(c);
    expect(names).toEqual({
      bucket: 'shop-prod-dms-assess-111111111111-eu-west-1',
      roleName: 'shop-prod-dms-assessment',
      roleArn: 'arn:aws:iam::111111111111:role/shop-prod-dms-assessment',
    });
    const s = synth(c);
    expect(resources(s, 'aws_s3_bucket').map((b) => b.bucket)).toContain(names?.bucket);
    const sse = resources(s, 'aws_s3_bucket_server_side_encryption_configuration');
    expect(JSON.stringify(sse)).toContain('aws:kms');
    const block = resources(s, 'aws_s3_bucket_public_access_block');
    for (const b of block)
      expect(b).toMatchObject({ block_public_acls: true, restrict_public_buckets: true });
    const role = resources(s, 'aws_iam_role').find((r) => r.name === names?.roleName);
    const trust = JSON.parse(String(role?.assume_role_policy)).Statement[0];
    expect(trust).toMatchObject({
      Principal: { Service: 'dms.amazonaws.com' },
      Condition: { StringEquals: { 'aws:SourceAccount': '111111111111' } },
    });
    // Without the account, no names: dmskit assess then asks for --bucket and --role-arn.
    expect(assessmentResources({ ...c, aws: { region: 'eu-west-1' } } as MigrationConfig)).toBeUndefined();
  });

  it('a permissions boundary reaches every IAM role the stack makes', () => {
    const boundary = 'arn:aws:iam::111111111111:policy/platform-boundary';
    const s = synth(
      config({ aws: { permissionsBoundaryArn: boundary }, task: { timeTravel: { enabled: true } } }),
    );
    const roles = resources(s, 'aws_iam_role');
    expect(roles.length).toBeGreaterThanOrEqual(2);
    for (const r of roles) expect(r.permissions_boundary).toBe(boundary);
  });
});

describe('what a running migration needs watched and kept', () => {
  it("Aurora's log group is made before the cluster, with a retention; the VPC's flow logs go to one too", () => {
    const s = synth(config());
    const groups = resources(s, 'aws_cloudwatch_log_group');
    expect(groups.find((g) => g.name === '/aws/rds/cluster/shop-prod-aurora/postgresql')).toMatchObject({
      retention_in_days: 30,
    });
    const cluster = resources(s, 'aws_rds_cluster')[0];
    expect(cluster?.depends_on).toEqual([expect.stringMatching(/^aws_cloudwatch_log_group\.\w+$/)]);
    expect(cluster?.cluster_identifier).toBe('shop-prod-aurora');
    const flow = resources(s, 'aws_flow_log')[0];
    expect(flow).toMatchObject({ traffic_type: 'ALL', log_destination_type: 'cloud-watch-logs' });
    expect(String(flow?.log_destination)).toMatch(/aws_cloudwatch_log_group\.\w+\.arn/);
    const role = resources(s, 'aws_iam_role').find((r) => String(r.name).endsWith('vpc-flow-logs'));
    expect(JSON.parse(String(role?.assume_role_policy)).Statement[0].Principal).toEqual({
      Service: 'vpc-flow-logs.amazonaws.com',
    });
  });

  it("the fall-back path's slot on Aurora is watched (slot lag, transaction logs); each Direct Connect connection too", () => {
    const metrics = (s: Synth) =>
      resources(s, 'aws_cloudwatch_metric_alarm').map((a) => `${a.namespace} ${a.metric_name}`);
    expect(metrics(synth(config()))).toEqual(
      expect.arrayContaining(['AWS/RDS OldestReplicationSlotLag', 'AWS/RDS TransactionLogsDiskUsage']),
    );
    expect(metrics(synth(config({ cutover: { fallback: false } })))).not.toContain(
      'AWS/RDS OldestReplicationSlotLag',
    );
    const dx = synth(
      config({
        network: {
          connectivity: {
            type: 'direct-connect',
            directConnectGatewayId: '5f5ee9f4-1111-4a2b-9c3d-0123456789ab',
            connectionIds: ['dxcon-fgabc123', 'dxcon-fgdef456'],
          },
        },
      }),
    );
    const down = resources(dx, 'aws_cloudwatch_metric_alarm').filter((a) => a.namespace === 'AWS/DX');
    expect(down.map((a) => (a.dimensions as { ConnectionId: string }).ConnectionId).sort()).toEqual([
      'dxcon-fgabc123',
      'dxcon-fgdef456',
    ]);
    for (const a of down)
      expect(a).toMatchObject({
        metric_name: 'ConnectionState',
        comparison_operator: 'LessThanThreshold',
        threshold: 1,
      });
  });
});

describe('restarts happen when the config says', () => {
  it('maintenance windows and apply timing reach the replication instance, the cluster and its instances', () => {
    const s = synth(
      config({
        replicationInstance: { maintenance: { window: 'sat:22:00-sat:22:30', applyImmediately: true } },
        target: { maintenance: { window: 'sun:05:00-sun:06:00' } },
      }),
    );
    expect(resources(s, 'aws_dms_replication_instance')[0]).toMatchObject({
      preferred_maintenance_window: 'sat:22:00-sat:22:30',
      apply_immediately: true,
      allow_major_version_upgrade: true,
    });
    expect(resources(s, 'aws_rds_cluster')[0]).toMatchObject({
      preferred_maintenance_window: 'sun:05:00-sun:06:00',
      apply_immediately: false,
    });
    for (const i of resources(s, 'aws_rds_cluster_instance'))
      expect(i).toMatchObject({
        preferred_maintenance_window: 'sun:05:00-sun:06:00',
        apply_immediately: false,
      });
    expect(() => config({ target: { maintenance: { window: 'sunday 3am' } } })).toThrow(
      /target\.maintenance\.window: must be a weekly window such as sun:03:00-sun:03:30/,
    );
  });
});

describe('migrations side by side: accounts, regions, a shared state bucket', () => {
  const file = (n: string) => `/repo/migrations/${n}.ts`;
  const state = { bucket: 'acme-tf-state' };

  it('one account baseline per account (IAM is global), and a state key per account and region', async () => {
    const app = Testing.app({ outdir });
    const migrations = [
      { file: file('shop-eu'), config: config({ state }) },
      {
        file: file('shop-us'),
        config: config({
          name: 'shop-us',
          state,
          aws: { region: 'us-east-1' },
          network: {
            vpcCidr: '10.61.0.0/16',
            connectivity: { type: 'vpn', customerGatewayIp: '198.51.100.8' },
          },
        }),
      },
      {
        file: file('crm'),
        config: config({
          name: 'crm',
          state,
          aws: { accountId: '222222222222' },
          network: { vpcCidr: '10.62.0.0/16' },
        }),
      },
    ];
    const { baselines, migrations: stacks } = await addMigrationStacks(app, migrations, { offline: false });
    expect(baselines.map((b) => b.node.id).sort()).toEqual([
      baselineStackName('111111111111'),
      baselineStackName('222222222222'),
    ]);
    const keys = [...baselines, ...stacks].map((st) => {
      const json = JSON.parse(Testing.synth(st)) as Synth;
      return ((json.terraform.backend as Record<string, Record<string, unknown>>).s3 as { key: string }).key;
    });
    expect(new Set(keys).size).toBe(keys.length);
    for (const k of keys) expect(k).toMatch(/^dmskit\/(111111111111|222222222222)\//);
  });

  it('two migrations whose VPCs overlap, or that would share a customer gateway, are refused naming both', () => {
    const a = { file: file('shop'), config: config() };
    const b = { file: file('shop-copy'), config: config({ name: 'shop-copy' }) };
    const conflicts = migrationConflicts([a, b]);
    expect(conflicts).toHaveLength(2);
    expect(conflicts[0]).toMatch(
      /^shop\.ts \(shop-prod\) and shop-copy\.ts \(shop-copy-prod\): network\.vpcCidr 10\.60\.0\.0\/16 and 10\.60\.0\.0\/16 overlap/,
    );
    expect(conflicts[1]).toMatch(
      /both make the customer gateway 198\.51\.100\.7 \(ASN 65000\) in eu-west-1 .*: set network\.connectivity\.sharedCustomerGateway: true in both/,
    );
    // A transit gateway does not help: each stack still makes the customer gateway.
    const tgw = { type: 'vpn', customerGatewayIp: '198.51.100.7', transitGatewayId: 'tgw-0123456789abcdef0' };
    expect(
      migrationConflicts([
        { file: file('tgw-a'), config: config({ name: 'tgw-a', network: { connectivity: tgw } }) },
        {
          file: file('tgw-b'),
          config: config({ name: 'tgw-b', network: { vpcCidr: '10.61.0.0/16', connectivity: tgw } }),
        },
      ]),
    ).toEqual([expect.stringMatching(/both make the customer gateway 198\.51\.100\.7/)]);
    // Shared by one of them only: still refused; by both: none.
    const shared = { type: 'vpn', customerGatewayIp: '198.51.100.7', sharedCustomerGateway: true };
    const s1 = {
      file: file('shared-a'),
      config: config({ name: 'shared-a', network: { connectivity: shared } }),
    };
    const s2 = {
      file: file('shared-b'),
      config: config({ name: 'shared-b', network: { vpcCidr: '10.61.0.0/16', connectivity: shared } }),
    };
    const own = {
      file: file('own'),
      config: config({ name: 'own', network: { vpcCidr: '10.62.0.0/16' } }),
    };
    expect(migrationConflicts([s1, s2])).toEqual([]);
    expect(migrationConflicts([s1, own])).toHaveLength(1);
    // Another region and range: no conflict.
    const c = {
      file: file('shop-us'),
      config: config({ name: 'shop-us', aws: { region: 'us-east-1' }, network: { vpcCidr: '10.70.0.0/16' } }),
    };
    expect(migrationConflicts([a, c])).toEqual([]);
    expect(() => parseMigrationConfig({ ...config(), state, aws: { region: 'eu-west-1' } })).toThrow(
      /aws\.accountId: is needed with state/,
    );
  });
});

describe('a customer gateway that several migrations share (connectivity.sharedCustomerGateway)', () => {
  const file = (n: string) => `/repo/migrations/${n}.ts`;
  const shared = {
    type: 'vpn',
    customerGatewayIp: '198.51.100.7',
    bgpAsn: 65010,
    sharedCustomerGateway: true,
  };
  const migrations = () => [
    { file: file('billing'), config: config({ name: 'billing', network: { connectivity: shared } }) },
    {
      file: file('shop'),
      config: config({ network: { vpcCidr: '10.61.0.0/16', connectivity: shared } }),
    },
    // Another account: a gateway of its own, even at the same address.
    {
      file: file('crm'),
      config: config({
        name: 'crm',
        aws: { accountId: '222222222222' },
        network: { vpcCidr: '10.62.0.0/16', connectivity: shared },
      }),
    },
  ];

  it('is made once per account and region, in a stack of its own, with a device name of its own; each VPN uses it', async () => {
    const app = Testing.app({ outdir });
    const { gateways, migrations: stacks } = await addMigrationStacks(app, migrations(), { offline: false });
    const name = 'dmskit-customer-gateway-111111111111-eu-west-1-198-51-100-7-65010';
    expect(gateways.map((g) => g.node.id).sort()).toEqual([
      name,
      'dmskit-customer-gateway-222222222222-eu-west-1-198-51-100-7-65010',
    ]);
    const gw = JSON.parse(Testing.synth(gateways.find((g) => g.node.id === name)!)) as Synth;
    // EC2 returns an existing gateway of the same type, address and ASN unless the device name differs
    // (EC2 API reference: CreateCustomerGateway): the stack's own name makes it a new one.
    expect(resources(gw, 'aws_customer_gateway')).toEqual([
      expect.objectContaining({
        ip_address: '198.51.100.7',
        bgp_asn: '65010',
        type: 'ipsec.1',
        device_name: name,
        tags: expect.objectContaining({ 'dmskit:customer-gateway': name }),
      }),
    ]);
    expect(
      ((gw.terraform.backend as Record<string, Record<string, unknown>>).s3 ?? {}).key ??
        (gw.terraform.backend as Record<string, Record<string, unknown>>).local?.path,
    ).toBeDefined();
    for (const st of stacks) {
      const json = JSON.parse(Testing.synth(st)) as Synth & {
        data: Record<string, Record<string, { filter: { name: string; values: string[] }[] }>>;
      };
      // No gateway of its own: the VPN uses the shared one, found by its tag, address, ASN and state.
      expect(resources(json, 'aws_customer_gateway')).toEqual([]);
      const [lookup] = Object.values(json.data.aws_customer_gateway ?? {});
      const account = st.node.id.startsWith('crm') ? '222222222222' : '111111111111';
      expect(lookup?.filter).toEqual(
        expect.arrayContaining([
          {
            name: 'tag:dmskit:customer-gateway',
            values: [`dmskit-customer-gateway-${account}-eu-west-1-198-51-100-7-65010`],
          },
          { name: 'ip-address', values: ['198.51.100.7'] },
          { name: 'bgp-asn', values: ['65010'] },
          { name: 'state', values: ['available'] },
        ]),
      );
      const [vpn] = resources(json, 'aws_vpn_connection');
      expect(vpn?.customer_gateway_id).toMatch(/^\$\{data\.aws_customer_gateway\.\w+\.id\}$/);
      // cdktf deploy makes the gateway before the migration that looks it up.
      expect(st.dependencies.map((d) => d.node.id)).toContain(
        `dmskit-customer-gateway-${account}-eu-west-1-198-51-100-7-65010`,
      );
    }
  });

  it('offline, the id is a variable (no AWS call): its placeholder, or what the state given to the plan says', async () => {
    const app = Testing.app({ outdir });
    const { migrations: stacks } = await addMigrationStacks(app, migrations().slice(0, 2), { offline: true });
    const json = JSON.parse(Testing.synth(stacks[0]!)) as Synth & {
      variable: Record<string, { default: string }>;
      data?: Record<string, unknown>;
    };
    expect(json.variable.shared_customer_gateway_id?.default).toBe(OFFLINE_GATEWAY_ID);
    expect(json.data?.aws_customer_gateway).toBeUndefined();
    const [vpn] = resources(json, 'aws_vpn_connection');
    expect(vpn?.customer_gateway_id).toBe('${var.shared_customer_gateway_id}');
  });
});

/** A resource change of a plan, for the plan-wide policies and the review. */
function change(
  address: string,
  actions: ResourceChange['change']['actions'],
  before: Record<string, unknown> | null,
  after: Record<string, unknown> | null,
): ResourceChange {
  const [type = '', name = ''] = address.split('.');
  return { address, type, name, mode: 'managed', change: { actions, before, after } };
}

describe('the plan-wide policies: what EC2, IAM and DMS would refuse, caught at plan', () => {
  const rule = (n: string) =>
    change(`aws_vpc_security_group_ingress_rule.${n}`, ['create'], null, {
      ip_protocol: 'tcp',
      from_port: 5432,
      to_port: 5432,
      cidr_ipv4: '192.168.20.0/24',
    });
  const sgRef = (n: string) => ({
    address: `aws_vpc_security_group_ingress_rule.${n}`,
    type: 'aws_vpc_security_group_ingress_rule',
    expressions: {
      security_group_id: { references: ['aws_security_group.aurora.id', 'aws_security_group.aurora'] },
    },
  });

  it('DMSKIT-NET-003: two rules of one group alike fail (the second would be InvalidPermission.Duplicate)', () => {
    const plan: PlanJson = {
      resource_changes: [rule('a'), rule('b')],
      configuration: { root_module: { resources: [sgRef('a'), sgRef('b')] } },
    };
    const failed = evaluatePolicies(plan).filter((r) => r.status === 'failed');
    expect(failed).toEqual([
      expect.objectContaining({ id: 'DMSKIT-NET-003', address: 'aws_vpc_security_group_ingress_rule.b' }),
    ]);
    // The same rule on another group is no duplicate.
    const other = {
      ...sgRef('b'),
      expressions: { security_group_id: { references: ['aws_security_group.dms.id'] } },
    };
    const fine = evaluatePolicies({
      ...plan,
      configuration: { root_module: { resources: [sgRef('a'), other] } },
    });
    expect(fine.filter((r) => r.status === 'failed')).toEqual([]);
  });

  it('DMSKIT-IAM-001, DMSKIT-NET-004, DMSKIT-MON-001: DMS roles in a migration stack, Time Travel without S3, alarms to nobody', () => {
    const plan: PlanJson = {
      resource_changes: [
        change('aws_dms_replication_instance.ri', ['create'], null, {
          replication_instance_class: 'dms.r6i.large',
        }),
        change('aws_iam_role.vpc', ['create'], null, { name: 'dms-vpc-role' }),
        change('aws_dms_replication_task.task', ['create'], null, {
          replication_task_settings: '{"TTSettings":{"EnableTT":true}}',
        }),
        change('aws_sns_topic.alarms', ['create'], null, { name: 'shop-alarms' }),
        change('aws_cloudwatch_metric_alarm.lag', ['create'], null, { alarm_name: 'lag' }),
      ],
    };
    const failed = evaluatePolicies(plan)
      .filter((r) => r.status === 'failed' && PLAN_POLICIES.some((p) => p.id === r.id))
      .map((r) => r.id)
      .sort();
    expect(failed).toEqual(['DMSKIT-IAM-001', 'DMSKIT-MON-001', 'DMSKIT-NET-004']);
    const waived = evaluatePolicies(
      plan,
      new Map([['DMSKIT-MON-001', 'the NOC reads the topic through its own subscription']]),
    );
    expect(waived.find((r) => r.id === 'DMSKIT-MON-001')?.status).toBe('waived');
  });
});

describe('the review flags every change on the path between DMS and the databases as interrupting CDC', () => {
  it('a VPN replaced, a customer gateway replaced, the CA certificate made again, a rule changed: each named', () => {
    const plan: PlanJson = {
      resource_changes: [
        change(
          'aws_vpn_connection.vpn',
          ['delete', 'create'],
          { static_routes_only: false },
          { static_routes_only: true },
        ),
        change(
          'aws_customer_gateway.cgw',
          ['create', 'delete'],
          { ip_address: '203.0.113.10' },
          { ip_address: '203.0.113.11' },
        ),
        change(
          'aws_dms_certificate.ca',
          ['delete', 'create'],
          { certificate_pem: 'a' },
          { certificate_pem: 'b' },
        ),
        change(
          'aws_vpc_security_group_egress_rule.to_source',
          ['update'],
          { cidr_ipv4: '192.168.10.0/24' },
          { cidr_ipv4: '192.168.11.0/24' },
        ),
        change(
          'aws_secretsmanager_secret.source',
          ['update'],
          { description: 'a', tags: {} },
          { description: 'b', tags: { x: '1' } },
        ),
      ],
    };
    const dangers = dangerousChanges(plan);
    const by = (a: string) =>
      dangers
        .filter((d) => d.address === a)
        .map((d) => d.why)
        .join(' ');
    expect(by('aws_vpn_connection.vpn')).toMatch(
      /^replaces the site-to-site VPN to the source: interrupts CDC/,
    );
    expect(by('aws_customer_gateway.cgw')).toMatch(/replaces the customer gateway .*: interrupts CDC/);
    expect(by('aws_dms_certificate.ca')).toMatch(/replaces the CA certificate the source endpoint verifies/);
    expect(by('aws_vpc_security_group_egress_rule.to_source')).toMatch(
      /changes cidr_ipv4 of a security group rule of the path: may interrupt CDC/,
    );
    // A description or tags change leaves the path alone.
    expect(by('aws_secretsmanager_secret.source')).toBe('');
  });
});
