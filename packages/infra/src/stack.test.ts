import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadMigrationConfig, parseMigrationConfig } from '@dmskit/shared';
import { Testing } from 'cdktf';
import { afterAll, describe, expect, it } from 'vitest';
import { subnetCidr } from './cidr.js';
import { MigrationStack, type MigrationStackProps } from './stack.js';

const repoRoot = path.resolve(import.meta.dirname, '../../..');
const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

type Synth = {
  resource: Record<string, Record<string, Record<string, unknown>>>;
  data?: Record<string, Record<string, Record<string, unknown>>>;
  terraform: Record<string, unknown>;
  provider: Record<string, unknown[]>;
  output?: Record<string, { value: unknown }>;
};

/** One output folder for every synth of this file (Testing.app() would make one per call and leave it). */
const outdir = mkdtempSync(path.join(tmpdir(), 'dmskit-cdktf-test-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

function synth(props: MigrationStackProps): Synth {
  const app = Testing.app({ outdir });
  const stack = new MigrationStack(app, 'test', props);
  return JSON.parse(Testing.synth(stack)) as Synth;
}

const resources = (s: Synth, type: string) => Object.values(s.resource[type] ?? {});
/** Synthesized JSON orders resources by logical id; tests compare sets. */
const sorted = <T>(xs: T[]) => [...xs].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

const base = {
  name: 'billing',
  aws: { region: 'eu-west-1' },
  network: {
    availabilityZones: ['eu-west-1a', 'eu-west-1b'],
    onPremCidrs: ['192.168.0.0/16'],
    connectivity: { type: 'vpn', customerGatewayIp: '198.51.100.7' },
  },
  source: { host: 'db1', database: 'billing', user: 'dms' },
};

/** The base config with TLS the stack accepts without a CA file (sslmode require), plus `extra` fields. */
const withTls = (extra: Record<string, unknown> = {}) =>
  parseMigrationConfig({ ...base, source: { ...base.source, sslmode: 'require' }, ...extra }).config;

describe('MigrationStack (the example config)', async () => {
  const { config } = await loadMigrationConfig('migrations/ecommerce.ts', { cwd: repoRoot });
  const s = synth({ config, sourceCaCertificatePem: CA });
  const json = JSON.stringify(s);

  it('builds the VPN path to on-prem: customer gateway, VGW, BGP route propagation, two private subnets', () => {
    expect(resources(s, 'aws_customer_gateway')).toEqual([
      expect.objectContaining({ ip_address: '203.0.113.10', bgp_asn: '65010', type: 'ipsec.1' }),
    ]);
    expect(resources(s, 'aws_vpn_connection')).toHaveLength(1);
    expect(resources(s, 'aws_vpn_gateway_route_propagation')).toHaveLength(1);
    expect(
      sorted(
        resources(s, 'aws_subnet').map((x) => [x.availability_zone, x.cidr_block, x.map_public_ip_on_launch]),
      ),
    ).toEqual([
      ['eu-west-1a', '10.60.0.0/20', false],
      ['eu-west-1b', '10.60.16.0/20', false],
    ]);
    expect(resources(s, 'aws_internet_gateway')).toEqual([]);
    expect(sorted(resources(s, 'aws_vpc_endpoint').map((e) => e.service_name))).toEqual([
      'com.amazonaws.eu-west-1.logs',
      'com.amazonaws.eu-west-1.secretsmanager',
    ]);
  });

  it("opens Aurora on 5432 to DMS, the app CIDRs and (the fall-back path) the source's address only, and DMS to the source port on-prem", () => {
    const ingress = resources(s, 'aws_vpc_security_group_ingress_rule').filter((r) => r.from_port === 5432);
    // The old source's address (it subscribes to Aurora after the cutover: source.hostCidr), the app
    // CIDR, and the replication instance's security group: one rule each, none repeated.
    expect(sorted(ingress.map((r) => r.cidr_ipv4 ?? 'sg'))).toEqual([
      '192.168.10.5/32',
      '192.168.20.0/24',
      'sg',
    ]);
    expect(json).not.toContain('0.0.0.0/0');
    // DNS egress of the Resolver endpoint is checked in the on-prem DNS test.
    const egress = sorted(
      resources(s, 'aws_vpc_security_group_egress_rule')
        .filter((r) => r.from_port !== 53)
        .map((r) => [r.cidr_ipv4 ?? 'sg', r.from_port]),
    );
    expect(egress).toEqual(
      sorted([
        ['192.168.10.0/24', 5432],
        ['192.168.20.0/24', 5432],
        ['sg', 5432],
        ['10.60.0.0/16', 443],
      ]),
    );
  });

  it('turns on logical replication in Aurora for the fall-back path, and not without it', () => {
    const param = (x: Synth) =>
      resources(x, 'aws_rds_cluster_parameter_group')
        .flatMap((g) => (g.parameter as { name: string; value: string; apply_method: string }[]) ?? [])
        .filter((p) => p.name === 'rds.logical_replication');
    expect(param(s)).toEqual([
      { name: 'rds.logical_replication', value: '1', apply_method: 'pending-reboot' },
    ]);
    const ingressFromOnPrem = (x: Synth) =>
      resources(x, 'aws_vpc_security_group_ingress_rule')
        .filter((r) => r.cidr_ipv4 === '192.168.0.0/16')
        .map((r) => [r.from_port, r.to_port]);
    const on = synth({ config: withTls(), offline: true });
    expect(param(on)).toHaveLength(1);
    expect(ingressFromOnPrem(on)).toEqual([[5432, 5432]]);
    const off = synth({ config: withTls({ cutover: { fallback: false } }), offline: true });
    expect(param(off)).toEqual([]);
    expect(ingressFromOnPrem(off)).toEqual([]);
  });

  it('makes an encrypted, protected Aurora cluster whose password RDS keeps in Secrets Manager', () => {
    const [cluster] = resources(s, 'aws_rds_cluster');
    expect(cluster).toMatchObject({
      engine: 'aurora-postgresql',
      engine_version: '16.4',
      storage_encrypted: true,
      deletion_protection: true,
      manage_master_user_password: true,
      iam_database_authentication_enabled: true,
      enabled_cloudwatch_logs_exports: ['postgresql'],
      backup_retention_period: 7,
    });
    expect(cluster).not.toHaveProperty('master_password');
    expect(
      resources(s, 'aws_rds_cluster_instance').map((i) => [
        i.instance_class,
        i.publicly_accessible,
        i.performance_insights_enabled,
      ]),
    ).toEqual([
      ['db.r6g.large', false, true],
      ['db.r6g.large', false, true],
    ]);
    expect(resources(s, 'aws_kms_key')).toEqual([expect.objectContaining({ enable_key_rotation: true })]);
  });

  it('wires DMS: roles, subnet group after the VPC role, private instance, TLS endpoints through Secrets Manager, a task not started', () => {
    // The account-wide roles belong to the account baseline: the migration never creates them.
    // DMS reads the secrets and writes assessments through roles of their own; the VPC's flow logs have
    // theirs. No account-wide DMS role.
    expect(
      resources(s, 'aws_iam_role')
        .map((r) => r.name)
        .sort(),
    ).toEqual([
      'ecommerce-staging-dms-assessment',
      'ecommerce-staging-dms-secrets',
      'ecommerce-staging-vpc-flow-logs',
    ]);
    const secretsRole = resources(s, 'aws_iam_role').find((r) => r.name === 'ecommerce-staging-dms-secrets');
    expect(JSON.parse(String(secretsRole?.assume_role_policy))).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'dms.eu-west-1.amazonaws.com' },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
        },
      ],
    });
    // The secrets role reads exactly the two endpoint secrets and decrypts them with the migration key.
    const secretsPolicy = resources(s, 'aws_iam_role_policy').find((p) =>
      String(p.policy).includes('secretsmanager:GetSecretValue'),
    );
    expect(JSON.parse(String(secretsPolicy?.policy)).Statement).toEqual([
      {
        Effect: 'Allow',
        Action: ['secretsmanager:GetSecretValue'],
        Resource: [
          expect.stringMatching(/^\$\{aws_secretsmanager_secret\.SourceSecret\.arn\}$/),
          expect.stringMatching(/^\$\{aws_secretsmanager_secret\.TargetSecret\.arn\}$/),
        ],
      },
      {
        Effect: 'Allow',
        Action: ['kms:Decrypt'],
        Resource: [expect.stringMatching(/^\$\{aws_kms_key\.Key_\w+\.arn\}$/)],
      },
    ]);
    // A plan fails early, naming the role, when the baseline is missing.
    expect(Object.values(s.data?.aws_iam_role ?? {})).toEqual([{ name: 'dms-vpc-role' }]);
    const [subnetGroup] = resources(s, 'aws_dms_replication_subnet_group');
    expect(subnetGroup?.depends_on).toEqual([
      expect.stringMatching(/^data\.aws_iam_role\.DmsRoles_AccountVpcRole_\w+$/),
    ]);
    expect(resources(s, 'aws_dms_replication_instance')).toEqual([
      expect.objectContaining({ publicly_accessible: false, multi_az: true, allocated_storage: 100 }),
    ]);
    const [source, target] = resources(s, 'aws_dms_endpoint');
    expect(source).toMatchObject({
      engine_name: 'postgres',
      endpoint_type: 'source',
      ssl_mode: 'verify-full',
      postgres_settings: expect.objectContaining({
        // DMS API reference, PostgreSQLSettings.PluginName: no-preference | pglogical | test-decoding.
        plugin_name: 'no-preference',
        heartbeat_enable: true,
        fail_tasks_on_lob_truncation: true,
      }),
    });
    // A full-load-and-cdc task lets DMS create its slot: a SlotName needs a CdcStartPosition (DMS API
    // reference, PostgreSQLSettings.SlotName), which only a CDC-only task starts from.
    expect(source?.postgres_settings).not.toHaveProperty('slot_name');
    const cdcOnly = synth({ config: withTls({ task: { migrationType: 'cdc' } }) });
    const [cdcSource] = resources(cdcOnly, 'aws_dms_endpoint');
    expect(cdcSource?.postgres_settings).toMatchObject({ slot_name: 'dmskit_billing_dev_dms' });
    // The CDC-only task is made without a start point (the slot does not exist before dmskit start,
    // which sets it with ModifyReplicationTask), not started by the apply.
    const [cdcTask] = resources(cdcOnly, 'aws_dms_replication_task');
    expect(cdcTask).toMatchObject({ migration_type: 'cdc', start_replication_task: false });
    expect(cdcTask).not.toHaveProperty('cdc_start_position');
    expect(cdcTask).not.toHaveProperty('cdc_start_time');
    expect(source?.secrets_manager_arn).toBeDefined();
    expect(source?.certificate_arn).toBeDefined();
    expect(target).toMatchObject({
      engine_name: 'aurora-postgresql',
      endpoint_type: 'target',
      ssl_mode: 'require',
      // Target triggers and foreign keys quiet while DMS writes; booleans as booleans on both sides.
      postgres_settings: {
        after_connect_script: 'SET session_replication_role = replica',
        map_boolean_as_boolean: true,
      },
    });
    expect(source?.postgres_settings).toMatchObject({
      map_boolean_as_boolean: true,
      // The config's source.dms defaults (DMS: "Endpoint settings when using PostgreSQL as a DMS source").
      capture_ddls: false,
      map_jsonb_as_clob: false,
      map_long_varchar_as: 'wstring',
      execute_timeout: 60,
    });
    const tuned = synth({
      config: withTls({
        source: {
          ...base.source,
          sslmode: 'require',
          dms: { heartbeatSchema: 'dms_hb', mapLongVarcharAs: 'nclob', executeTimeout: 300 },
        },
      }),
    });
    expect(resources(tuned, 'aws_dms_endpoint')[0]?.postgres_settings).toMatchObject({
      heartbeat_schema: 'dms_hb',
      map_long_varchar_as: 'nclob',
      execute_timeout: 300,
    });
    const [task] = resources(s, 'aws_dms_replication_task');
    expect(task).toMatchObject({ migration_type: 'full-load-and-cdc', start_replication_task: false });
    const rules = JSON.parse(String(task?.table_mappings)).rules as Record<string, unknown>[];
    // The example's two rules, then the watermark the cutover waits for on the target.
    expect(rules.map((r) => [r['rule-id'], r['rule-action'], r['object-locator']])).toEqual([
      ['1', 'include', { 'schema-name': 'public', 'table-name': '%' }],
      ['2', 'exclude', { 'schema-name': 'public', 'table-name': 'tmp_%' }],
      ['3', 'include', { 'schema-name': 'dmskit', 'table-name': 'dmskit_ecommerce_staging_watermark' }],
    ]);
  });

  it('monitors the migration: alarms, an event subscription, a dashboard', () => {
    expect(
      sorted(resources(s, 'aws_cloudwatch_metric_alarm').map((a) => `${a.namespace} ${a.metric_name}`)),
    ).toEqual(
      sorted([
        'AWS/DMS CDCLatencySource',
        'AWS/DMS CDCLatencyTarget',
        'AWS/DMS CPUUtilization',
        'AWS/DMS FreeStorageSpace',
        'AWS/DMS FreeableMemory',
        'AWS/RDS CPUUtilization',
        'AWS/RDS FreeableMemory',
        // The fall-back path's slot on Aurora keeps WAL while its subscriber lags.
        'AWS/RDS OldestReplicationSlotLag',
        'AWS/RDS TransactionLogsDiskUsage',
        'AWS/VPN TunnelState',
      ]),
    );
    expect(
      sorted(resources(s, 'aws_dms_event_subscription').map((e) => [e.source_type, e.event_categories])),
    ).toEqual([
      ['replication-instance', ['failover', 'failure', 'low storage']],
      ['replication-task', ['failure', 'state change']],
    ]);
    expect(resources(s, 'aws_cloudwatch_dashboard')).toHaveLength(1);
    // CDC latency is published per task by its ARN's resource id, with the instance (DMS: "Replication
    // task metrics"): the dimensions must name both, or the alarms watch nothing.
    for (const metric of ['CDCLatencySource', 'CDCLatencyTarget']) {
      const a = resources(s, 'aws_cloudwatch_metric_alarm').find((x) => x.metric_name === metric)!;
      expect(a.dimensions).toEqual({
        ReplicationInstanceIdentifier: expect.stringMatching(
          /^\$\{aws_dms_replication_instance\.\w+\.replication_instance_id\}$/,
        ),
        ReplicationTaskIdentifier: expect.stringMatching(
          /^\$\{element\(split\(":", aws_dms_replication_task\.\w+\.replication_task_arn\), 6\)\}$/,
        ),
      });
      expect(a.alarm_actions).toEqual([expect.stringMatching(/^\$\{aws_sns_topic\.\w+\.arn\}$/)]);
    }
    // The event subscriptions watch this migration's task and instance, by their ids.
    expect(
      sorted(resources(s, 'aws_dms_event_subscription').map((e) => [e.source_type, e.source_ids])),
    ).toEqual([
      [
        'replication-instance',
        [expect.stringMatching(/^\$\{aws_dms_replication_instance\.\w+\.replication_instance_id\}$/)],
      ],
      [
        'replication-task',
        [expect.stringMatching(/^\$\{aws_dms_replication_task\.\w+\.replication_task_id\}$/)],
      ],
    ]);
    // The writer's alarms follow the writer role through a failover, not one instance.
    const rds = resources(s, 'aws_cloudwatch_metric_alarm').filter((a) => a.namespace === 'AWS/RDS');
    expect(rds).toHaveLength(4);
    for (const a of rds)
      expect(a.dimensions).toEqual({
        DBClusterIdentifier: expect.stringMatching(/^\$\{aws_rds_cluster\.Target_\w+\.cluster_identifier\}$/),
        Role: 'WRITER',
      });
    const vpn = resources(s, 'aws_cloudwatch_metric_alarm').filter((a) => a.namespace === 'AWS/VPN');
    expect(vpn).toEqual([
      expect.objectContaining({
        metric_name: 'TunnelState',
        statistic: 'Maximum',
        comparison_operator: 'LessThanThreshold',
        threshold: 1,
        dimensions: {
          VpnId: expect.stringMatching(/^\$\{aws_vpn_connection\.Network_VpnConnection_\w+\.id\}$/),
        },
      }),
    ]);
    const topic = resources(s, 'aws_sns_topic')[0]!;
    expect(topic.kms_master_key_id).toMatch(/^\$\{aws_kms_key\.Key_\w+\.arn\}$/);
  });

  it('resolves the on-prem source name: an outbound Resolver endpoint in both private subnets, a FORWARD rule for the domain to the on-prem DNS servers, DNS egress to them only', () => {
    expect(resources(s, 'aws_route53_resolver_endpoint')).toEqual([
      expect.objectContaining({
        direction: 'OUTBOUND',
        ip_address: [
          { subnet_id: expect.stringMatching(/^\$\{aws_subnet\.\w+\.id\}$/) },
          { subnet_id: expect.stringMatching(/^\$\{aws_subnet\.\w+\.id\}$/) },
        ],
      }),
    ]);
    expect(resources(s, 'aws_route53_resolver_rule')).toEqual([
      expect.objectContaining({
        domain_name: 'corp.example',
        rule_type: 'FORWARD',
        target_ip: [
          { ip: '192.168.10.53', port: 53 },
          { ip: '192.168.20.53', port: 53 },
        ],
      }),
    ]);
    expect(resources(s, 'aws_route53_resolver_rule_association')).toEqual([
      expect.objectContaining({ vpc_id: expect.stringMatching(/^\$\{aws_vpc\.\w+\.id\}$/) }),
    ]);
    const [endpoint] = resources(s, 'aws_route53_resolver_endpoint');
    const sgRef = String((endpoint!.security_group_ids as string[])[0]).replace(/^\$\{(.*)\.id\}$/, '$1');
    const egress = resources(s, 'aws_vpc_security_group_egress_rule').filter((r) =>
      String(r.security_group_id).includes(sgRef),
    );
    expect(sorted(egress.map((r) => [r.ip_protocol, r.from_port, r.to_port, r.cidr_ipv4]))).toEqual(
      sorted([
        ['udp', 53, 53, '192.168.10.53/32'],
        ['tcp', 53, 53, '192.168.10.53/32'],
        ['udp', 53, 53, '192.168.20.53/32'],
        ['tcp', 53, 53, '192.168.20.53/32'],
      ]),
    );
  });

  it('lets CloudWatch alarms and DMS events publish to the encrypted topic: the key policy grants them the key', () => {
    const [key] = resources(s, 'aws_kms_key');
    const policy = JSON.parse(String(key?.policy)) as { Statement: Record<string, unknown>[] };
    expect(policy.Statement).toEqual([
      {
        Sid: 'AccountAdministersKey',
        Effect: 'Allow',
        Principal: { AWS: 'arn:aws:iam::123456789012:root' },
        Action: 'kms:*',
        Resource: '*',
      },
      {
        Sid: 'ServicesPublishToEncryptedTopics',
        Effect: 'Allow',
        Principal: { Service: ['cloudwatch.amazonaws.com', 'dms.amazonaws.com'] },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Resource: '*',
      },
    ]);
  });

  it('lets only the CloudWatch and DMS of this account publish to the topic (topic policy), on top of the owner account', () => {
    const [policy] = resources(s, 'aws_sns_topic_policy');
    expect(policy?.arn).toMatch(/^\$\{aws_sns_topic\.Monitoring_Topic_\w+\.arn\}$/);
    const statements = JSON.parse(String(policy?.policy)).Statement as Record<string, unknown>[];
    expect(statements.find((x) => x.Sid === 'OwnerAccount')?.Condition).toEqual({
      StringEquals: { 'AWS:SourceOwner': '123456789012' },
    });
    expect(statements.find((x) => x.Sid === 'ServicesPublishAlarmsAndEvents')).toEqual({
      Sid: 'ServicesPublishAlarmsAndEvents',
      Effect: 'Allow',
      Principal: { Service: ['cloudwatch.amazonaws.com', 'dms.amazonaws.com'] },
      Action: 'sns:Publish',
      Resource: policy?.arn,
      Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
    });
    expect(resources(s, 'aws_cloudwatch_event_rule')).toEqual([]);
  });

  it('plans upgrades that apply: parameter groups per major version created before the old go, major upgrades allowed, no instance version, no unplanned minor upgrades', () => {
    const [cluster] = resources(s, 'aws_rds_cluster');
    expect(cluster).toMatchObject({
      allow_major_version_upgrade: true,
      db_cluster_parameter_group_name: expect.stringMatching(
        /^\$\{aws_rds_cluster_parameter_group\.Target_ClusterParameters_\w+\.name\}$/,
      ),
      db_instance_parameter_group_name: expect.stringMatching(
        /^\$\{aws_db_parameter_group\.Target_InstanceParameters_\w+\.name\}$/,
      ),
    });
    for (const type of ['aws_rds_cluster_parameter_group', 'aws_db_parameter_group']) {
      expect(resources(s, type)).toEqual([
        expect.objectContaining({
          family: 'aurora-postgresql16',
          name: expect.stringMatching(/-pg16$/),
          lifecycle: { create_before_destroy: true },
        }),
      ]);
    }
    for (const instance of resources(s, 'aws_rds_cluster_instance')) {
      expect(instance).not.toHaveProperty('engine_version');
      expect(instance.auto_minor_version_upgrade).toBe(false);
    }
    expect(resources(s, 'aws_dms_replication_instance')[0]?.auto_minor_version_upgrade).toBe(false);
  });

  it('holds no password literal', () => {
    expect(json).not.toMatch(/"(master_)?password"\s*:/);
    expect(json).not.toMatch(/secret_string/);
  });

  it('keeps state in S3 with locking when a bucket is configured, and local when offline', () => {
    const withState = withTls({
      aws: { region: 'eu-west-1', accountId: '210987654321' },
      state: { bucket: 'acme-tf-state' },
    });
    const real = synth({ config: withState });
    // The account and region first: two accounts sharing the bucket, or one migration name in two
    // regions, never share a state.
    expect((real.terraform.backend as Record<string, unknown>).s3).toMatchObject({
      bucket: 'acme-tf-state',
      key: 'dmskit/210987654321/eu-west-1/billing/dev/terraform.tfstate',
      encrypt: true,
      use_lockfile: true,
    });
    const offline = synth({ config: withState, offline: true });
    expect(offline.terraform.backend).toHaveProperty('local');
    expect(offline.provider.aws?.[0]).toMatchObject({
      skip_credentials_validation: true,
      skip_requesting_account_id: true,
    });
  });
});

describe('MigrationStack variants', () => {
  it('cutover.dns: a private zone on the VPC and the applications CNAME at the source, its value left to the cutover', () => {
    const config = withTls({
      cutover: {
        dns: { zoneName: 'db.corp.internal', recordName: 'billing.db.corp.internal', ttlSeconds: 20 },
      },
    });
    const s = synth({ config });
    expect(resources(s, 'aws_route53_zone')).toEqual([
      expect.objectContaining({
        name: 'db.corp.internal',
        vpc: [{ vpc_id: expect.stringMatching(/^\$\{aws_vpc\.\w+\.id\}$/) }],
      }),
    ]);
    const [record] = resources(s, 'aws_route53_record');
    expect(record).toMatchObject({
      name: 'billing.db.corp.internal',
      type: 'CNAME',
      ttl: 20,
      records: [config.source.host],
      zone_id: expect.stringMatching(/^\$\{aws_route53_zone\.\w+\.zone_id\}$/),
      lifecycle: { ignore_changes: ['records'] },
    });
    expect(s.output?.application_dns_zone_id).toBeDefined();
  });

  it('cutover.dns with a record outside its zone is refused, naming the field', () => {
    expect(() =>
      withTls({ cutover: { dns: { zoneName: 'db.corp.internal', recordName: 'billing.other.internal' } } }),
    ).toThrow(/cutover\.dns\.recordName.*not in the zone db\.corp\.internal/);
  });

  it('Direct Connect: associates the gateway, no customer gateway or VPN', () => {
    const config = withTls({
      network: {
        ...base.network,
        connectivity: {
          type: 'direct-connect',
          directConnectGatewayId: '2f6a8d4c-1111-2222-3333-444455556666',
        },
      },
    });
    const s = synth({ config });
    expect(resources(s, 'aws_dx_gateway_association')).toEqual([
      expect.objectContaining({
        dx_gateway_id: '2f6a8d4c-1111-2222-3333-444455556666',
        allowed_prefixes: ['10.60.0.0/16'],
      }),
    ]);
    expect(resources(s, 'aws_customer_gateway')).toEqual([]);
    expect(resources(s, 'aws_vpn_connection')).toEqual([]);
  });

  it('a VPN on a transit gateway with static routes is refused at synth, naming the prop', () => {
    const config = withTls({
      network: {
        ...base.network,
        connectivity: {
          type: 'vpn',
          customerGatewayIp: '198.51.100.7',
          staticRoutesOnly: true,
          transitGatewayId: 'tgw-0123456789abcdef0',
        },
      },
    });
    expect(() => synth({ config })).toThrowError(
      /Network initialization failed: connectivity\.staticRoutesOnly/,
    );
  });

  it('verify-full without the CA certificate is refused at synth', () => {
    const { config } = parseMigrationConfig(base);
    expect(() => synth({ config })).toThrowError(
      /DmsReplication initialization failed: source\.sslMode verify-full needs source\.caCertificatePem/,
    );
  });

  it('DMS Serverless replaces the instance and task with a replication config; existing account roles are not created', () => {
    const config = withTls({
      replicationInstance: {
        serverless: { minCapacityUnits: 2, maxCapacityUnits: 16 },
      },
    });
    const s = synth({ config });
    expect(resources(s, 'aws_dms_replication_config')).toEqual([
      expect.objectContaining({ replication_type: 'full-load-and-cdc', start_replication: false }),
    ]);
    expect(resources(s, 'aws_dms_replication_instance')).toEqual([]);
    expect(
      resources(s, 'aws_iam_role')
        .map((r) => r.name)
        .sort(),
    ).toEqual(['billing-dev-dms-secrets', 'billing-dev-vpc-flow-logs']);
  });

  it('DMS Serverless state changes reach the encrypted topic through EventBridge (event subscriptions take no replication config)', () => {
    const config = withTls({
      aws: { region: 'eu-west-1', accountId: '123456789012' },
      replicationInstance: { serverless: { minCapacityUnits: 2, maxCapacityUnits: 16 } },
    });
    const s = synth({ config });
    const [rule] = resources(s, 'aws_cloudwatch_event_rule');
    // EventBridge: "AWS Database Migration Service events": Serverless replications send
    // "DMS Replication State Change".
    expect(JSON.parse(String(rule?.event_pattern))).toEqual({
      source: ['aws.dms'],
      'detail-type': ['DMS Replication State Change'],
      resources: [expect.stringMatching(/^\$\{aws_dms_replication_config\.\w+\.arn\}$/)],
    });
    const [target] = resources(s, 'aws_cloudwatch_event_target');
    expect(target?.rule).toMatch(/^\$\{aws_cloudwatch_event_rule\.\w+\.name\}$/);
    expect(target?.arn).toMatch(/^\$\{aws_sns_topic\.Monitoring_Topic_\w+\.arn\}$/);
    const topicPolicy = JSON.parse(String(resources(s, 'aws_sns_topic_policy')[0]?.policy));
    expect(
      topicPolicy.Statement.find((x: { Sid: string }) => x.Sid === 'ServicesPublishAlarmsAndEvents')
        .Principal,
    ).toEqual({ Service: ['cloudwatch.amazonaws.com', 'dms.amazonaws.com', 'events.amazonaws.com'] });
    const keyPolicy = JSON.parse(String(resources(s, 'aws_kms_key')[0]?.policy));
    expect(
      keyPolicy.Statement.find((x: { Sid: string }) => x.Sid === 'ServicesPublishToEncryptedTopics'),
    ).toMatchObject({
      Principal: { Service: ['cloudwatch.amazonaws.com', 'dms.amazonaws.com', 'events.amazonaws.com'] },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
    });
    // No alarm or dashboard keyed by a task that does not exist.
    expect(resources(s, 'aws_cloudwatch_metric_alarm').filter((a) => a.namespace === 'AWS/DMS')).toEqual([]);
    expect(resources(s, 'aws_dms_event_subscription')).toEqual([]);
  });
});

describe('MigrationStack for troubleshooting CDC', () => {
  it('keeps the task logs for the configured days (DMS would create the group without a retention)', () => {
    const s = synth({ config: withTls({ task: { logRetentionDays: 90 } }) });
    const group = resources(s, 'aws_cloudwatch_log_group').find((g) =>
      String(g.name).startsWith('dms-tasks-'),
    );
    // DMS writes a task's logs to dms-tasks-<replication instance id>.
    expect(group).toMatchObject({ name: 'dms-tasks-billing-dev-dms', retention_in_days: 90 });
    expect(resources(s, 'aws_dms_replication_instance')[0]?.replication_instance_id).toBe('billing-dev-dms');
    expect(resources(s, 'aws_dms_replication_task')[0]?.depends_on).toEqual([
      expect.stringMatching(/^aws_cloudwatch_log_group\.Replication_TaskLogs_\w+$/),
    ]);
  });

  it('Time Travel writes to a private bucket encrypted with the migration key, through a role only DMS of this account assumes', () => {
    const s = synth({
      config: withTls({
        aws: { region: 'eu-west-1', accountId: '123456789012' },
        task: { timeTravel: { enabled: true, retentionDays: 3 } },
      }),
    });
    const keyArn = expect.stringMatching(/^\$\{aws_kms_key\.Key_\w+\.arn\}$/);
    expect(resources(s, 'aws_s3_bucket_server_side_encryption_configuration')[0]?.rule).toEqual([
      {
        apply_server_side_encryption_by_default: { sse_algorithm: 'aws:kms', kms_master_key_id: keyArn },
        bucket_key_enabled: true,
      },
    ]);
    expect(resources(s, 'aws_s3_bucket_public_access_block')[0]).toMatchObject({
      block_public_acls: true,
      block_public_policy: true,
      ignore_public_acls: true,
      restrict_public_buckets: true,
    });
    expect(resources(s, 'aws_s3_bucket_lifecycle_configuration').map((l) => l.rule)).toContainEqual([
      expect.objectContaining({ status: 'Enabled', expiration: [{ days: 3 }] }),
    ]);
    const role = resources(s, 'aws_iam_role').find((r) => r.name === 'billing-dev-dms-time-travel')!;
    expect(JSON.parse(String(role.assume_role_policy)).Statement[0]).toEqual({
      Effect: 'Allow',
      Principal: { Service: 'dms.amazonaws.com' },
      Action: 'sts:AssumeRole',
      Condition: { StringEquals: { 'aws:SourceAccount': '123456789012' } },
    });
    const settings = JSON.parse(
      String(resources(s, 'aws_dms_replication_task')[0]?.replication_task_settings),
    );
    expect(settings.TTSettings).toMatchObject({
      EnableTT: true,
      TTS3Settings: {
        EncryptionMode: 'SSE_KMS',
        ServerSideEncryptionKmsKeyId: keyArn,
        BucketName: expect.stringMatching(/^\$\{aws_s3_bucket\.TimeTravel_Bucket_\w+\.bucket\}$/),
        ServiceAccessRoleArn: expect.stringMatching(/^\$\{aws_iam_role\.TimeTravel_Role_\w+\.arn\}$/),
      },
    });
    // Off by default: no bucket, no TTSettings.
    const off = synth({ config: withTls() });
    expect(resources(off, 'aws_s3_bucket')).toEqual([]);
    expect(
      JSON.parse(String(resources(off, 'aws_dms_replication_task')[0]?.replication_task_settings)),
    ).not.toHaveProperty('TTSettings');
  });
});

describe('MigrationStack in what the platform team already runs', () => {
  it('lands in an existing VPC with an existing KMS key: nothing of either is created, every resource uses them', () => {
    const key = 'arn:aws:kms:eu-west-1:123456789012:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b';
    const { connectivity: _c, ...network } = base.network;
    const config = withTls({
      network: {
        ...network,
        existingVpc: {
          vpcId: 'vpc-0a1b2c3d4e5f60718',
          privateSubnetIds: ['subnet-0a1b2c3d', 'subnet-1a2b3c4d'],
        },
      },
      encryption: { existingKmsKeyArn: key },
    });
    const s = synth({ config });
    for (const type of [
      'aws_vpc',
      'aws_subnet',
      'aws_kms_key',
      'aws_vpn_connection',
      'aws_customer_gateway',
      'aws_vpc_endpoint',
    ])
      expect(resources(s, type), type).toEqual([]);
    expect(resources(s, 'aws_db_subnet_group')[0]?.subnet_ids).toEqual([
      'subnet-0a1b2c3d',
      'subnet-1a2b3c4d',
    ]);
    expect(resources(s, 'aws_dms_replication_subnet_group')[0]?.subnet_ids).toEqual([
      'subnet-0a1b2c3d',
      'subnet-1a2b3c4d',
    ]);
    expect(resources(s, 'aws_security_group').map((g) => g.vpc_id)).toEqual(
      resources(s, 'aws_security_group').map(() => 'vpc-0a1b2c3d4e5f60718'),
    );
    expect(resources(s, 'aws_rds_cluster')[0]).toMatchObject({ kms_key_id: key, storage_encrypted: true });
    expect(resources(s, 'aws_sns_topic')[0]?.kms_master_key_id).toBe(key);
    expect(resources(s, 'aws_dms_replication_instance')[0]?.kms_key_arn).toBe(key);
    expect(resources(s, 'aws_secretsmanager_secret').map((x) => x.kms_key_id)).toEqual(
      resources(s, 'aws_secretsmanager_secret').map(() => key),
    );
    // No VPN here: no tunnel alarm.
    expect(resources(s, 'aws_cloudwatch_metric_alarm').filter((a) => a.namespace === 'AWS/VPN')).toEqual([]);
  });
});

describe('table mappings checked against a source catalog at synth', () => {
  it('a filter on a column the table does not have fails at synth, naming the rule', () => {
    const config = withTls({
      task: {
        tableMappings: [
          {
            schema: 'public',
            table: 'orders',
            filters: [{ column: 'regoin', conditions: [{ operator: 'eq', value: 'EU' }] }],
          },
        ],
      },
    });
    const catalog = [{ schema: 'public', table: 'orders', columns: ['id', 'region'] }];
    expect(() => synth({ config, catalog })).toThrowError(
      /task\.tableMappings\[0\]\.filters\[0\]\.column: public\.orders has no column 'regoin'/,
    );
  });
});

describe('subnetCidr', () => {
  it('matches terraform cidrsubnet', () => {
    expect(subnetCidr('10.60.0.0/16', 4, 0)).toBe('10.60.0.0/20');
    expect(subnetCidr('10.60.0.0/16', 4, 3)).toBe('10.60.48.0/20');
    expect(subnetCidr('172.16.8.0/22', 2, 1)).toBe('172.16.9.0/24');
    expect(() => subnetCidr('10.0.0.0/16', 2, 4)).toThrowError(RangeError);
  });
});

describe('a big database: several tasks planned from the catalog, the largest tables loaded in key ranges', () => {
  const GB = 1024 ** 3;
  const catalog = [
    {
      schema: 'public',
      table: 'events',
      columns: ['id'],
      bytes: 900 * GB,
      keyRange: { column: 'id', min: '1', max: '800' },
    },
    { schema: 'public', table: 'orders', columns: ['id'], bytes: 400 * GB },
    { schema: 'public', table: 'order_lines', columns: ['id'], bytes: 350 * GB },
    { schema: 'public', table: 'customers', columns: ['id'], bytes: 100 * GB },
  ];
  const config = withTls({
    aws: { region: 'eu-west-1', accountId: '123456789012' },
    task: { shards: 3, splitLargest: { tables: 1, segments: 4 }, sourceCatalogFile: 'catalog.json' },
  });
  const s = synth({ config, catalog });
  const tasks = sorted(resources(s, 'aws_dms_replication_task'));
  const selectedBy = (t: Record<string, unknown>) =>
    (JSON.parse(String(t.table_mappings)).rules as Record<string, unknown>[])
      .filter((r) => r['rule-type'] === 'selection')
      .map((r) => `${r['rule-action']} ${(r['object-locator'] as Record<string, string>)['table-name']}`);

  it('one task per shard on the one instance, each table in exactly one of them with its own watermark', () => {
    expect(tasks.map((t) => t.replication_task_id)).toEqual([
      'billing-dev-task-1',
      'billing-dev-task-2',
      'billing-dev-task-3',
    ]);
    expect(new Set(tasks.map((t) => t.replication_instance_arn)).size).toBe(1);
    expect(tasks.map(selectedBy)).toEqual([
      ['explicit events', 'include dmskit_billing_dev_watermark_1'],
      ['explicit orders', 'include dmskit_billing_dev_watermark_2'],
      ['explicit customers', 'explicit order_lines', 'include dmskit_billing_dev_watermark_3'],
    ]);
    // In shard order: task 1 keeps the single-task construct id, the others are numbered.
    expect(s.output?.replication_task_arns?.value).toEqual([
      expect.stringMatching(/^\$\{aws_dms_replication_task\.Replication_Task_\w+\.replication_task_arn\}$/),
      expect.stringMatching(/^\$\{aws_dms_replication_task\.Replication_Task2_\w+\.replication_task_arn\}$/),
      expect.stringMatching(/^\$\{aws_dms_replication_task\.Replication_Task3_\w+\.replication_task_arn\}$/),
    ]);
  });

  it('the largest table loads in four key ranges in its task', () => {
    const settings = (JSON.parse(String(tasks[0]?.table_mappings)).rules as Record<string, unknown>[]).filter(
      (r) => r['rule-type'] === 'table-settings',
    );
    expect(settings).toEqual([
      expect.objectContaining({
        'object-locator': { 'schema-name': 'public', 'table-name': 'events' },
        'parallel-load': { type: 'ranges', columns: ['id'], boundaries: [['200'], ['400'], ['600']] },
      }),
    ]);
  });

  it('every task has its CDC latency alarms and is in the event subscription', () => {
    const latency = resources(s, 'aws_cloudwatch_metric_alarm').filter(
      (a) => a.metric_name === 'CDCLatencySource',
    );
    expect(latency).toHaveLength(3);
    const taskDims = latency.map((a) => (a.dimensions as Record<string, string>).ReplicationTaskIdentifier);
    for (const n of [1, 2, 3])
      expect(
        taskDims.filter((d) => d?.includes(`aws_dms_replication_task.Replication_Task${n === 1 ? '' : n}_`)),
      ).toHaveLength(1);
    const [events] = resources(s, 'aws_dms_event_subscription').filter(
      (e) => e.source_type === 'replication-task',
    );
    const taskRefs = Object.keys(s.resource.aws_dms_replication_task ?? {}).map(
      (id) => `\${aws_dms_replication_task.${id}.replication_task_id}`,
    );
    expect(taskRefs).toHaveLength(3);
    expect(sorted(events?.source_ids as string[])).toEqual(sorted(taskRefs));
  });

  it('shards need a catalog, a replication instance and a task that loads', () => {
    const bad =
      (task: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      () =>
        parseMigrationConfig({ ...base, source: { ...base.source, sslmode: 'require' }, task, ...extra });
    expect(bad({ shards: 2 })).toThrow(/task\.sourceCatalogFile: is needed to balance task\.shards/);
    expect(bad({ shards: 2, migrationType: 'cdc', sourceCatalogFile: 'c.json' })).toThrow(
      /task\.shards: needs a task that loads/,
    );
    expect(
      bad(
        { shards: 2, sourceCatalogFile: 'c.json' },
        { replicationInstance: { serverless: { minCapacityUnits: 1, maxCapacityUnits: 4 } } },
      ),
    ).toThrow(/task\.shards: is for replication instances/);
  });
});
