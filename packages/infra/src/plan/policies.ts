import {
  attributeIdentity,
  type PlanJson,
  plannedValue,
  type ResourceChange,
  resourcesAfter,
} from './plan-json.js';

/** A policy and the resource types it applies to, modelled on the public IaC scanners' rules (Checkov ids cited). */
export interface Policy {
  readonly id: string;
  readonly title: string;
  readonly types: readonly string[];
  /** Why the resource fails, or undefined when it passes. */
  readonly check: (rc: ResourceChange) => string | undefined;
}

export interface PolicyResult {
  readonly id: string;
  readonly title: string;
  readonly address: string;
  readonly status: 'passed' | 'failed' | 'waived';
  /** One line: why it failed, or the waiver's reason. */
  readonly reason: string;
}

const isSet = (v: unknown) => v !== undefined && v !== null && v !== '' && v !== false;
const DB_PORTS = [5432, 3306, 1433, 1521, 27017, 6379];
const OPEN_CIDRS = ['0.0.0.0/0', '::/0'];

function coversDbPort(from: unknown, to: unknown, protocol: unknown): number | undefined {
  if (protocol === '-1' || protocol === 'all') return 5432;
  const f = Number(from);
  const t = Number(to);
  return DB_PORTS.find((p) => f <= p && p <= t);
}

/**
 * The policy set of a migration landing zone. Each has an id, a one-line reason on failure, and the
 * scanner rule it follows: encryption at rest with KMS, no public access, TLS on endpoints, deletion
 * protection, backups, IAM auth, log exports, key rotation, no wide-open ingress.
 */
export const POLICIES: readonly Policy[] = [
  {
    id: 'DMSKIT-ENC-001',
    title: 'Aurora storage is encrypted with a customer-managed KMS key (CKV_AWS_96, CKV_AWS_327)',
    types: ['aws_rds_cluster'],
    check: (rc) =>
      plannedValue(rc, 'storage_encrypted') !== true
        ? 'storage_encrypted is not true'
        : !isSet(plannedValue(rc, 'kms_key_id'))
          ? 'no kms_key_id: encrypted with the AWS-managed key'
          : undefined,
  },
  {
    id: 'DMSKIT-ENC-002',
    title: 'DMS replication instance storage uses a customer-managed KMS key (CKV_AWS_212)',
    types: ['aws_dms_replication_instance'],
    check: (rc) => (!isSet(plannedValue(rc, 'kms_key_arn')) ? 'no kms_key_arn' : undefined),
  },
  {
    id: 'DMSKIT-ENC-003',
    title: 'DMS endpoints encrypt connection attributes with a customer-managed KMS key (CKV_AWS_296)',
    types: ['aws_dms_endpoint'],
    check: (rc) => (!isSet(plannedValue(rc, 'kms_key_arn')) ? 'no kms_key_arn' : undefined),
  },
  {
    id: 'DMSKIT-ENC-004',
    title:
      'Secrets and the alarm topic are encrypted with a customer-managed KMS key (CKV_AWS_149, CKV_AWS_26)',
    types: ['aws_secretsmanager_secret', 'aws_sns_topic'],
    check: (rc) =>
      !isSet(plannedValue(rc, rc.type === 'aws_sns_topic' ? 'kms_master_key_id' : 'kms_key_id'))
        ? 'no customer-managed KMS key'
        : undefined,
  },
  {
    id: 'DMSKIT-KMS-001',
    title: 'KMS keys rotate yearly (CKV_AWS_7)',
    types: ['aws_kms_key'],
    check: (rc) =>
      plannedValue(rc, 'enable_key_rotation') !== true ? 'enable_key_rotation is not true' : undefined,
  },
  {
    id: 'DMSKIT-NET-001',
    title: 'No database port is open to 0.0.0.0/0 or ::/0 (CKV_AWS_24, CKV_AWS_260 family)',
    types: ['aws_vpc_security_group_ingress_rule', 'aws_security_group_rule', 'aws_security_group'],
    check: (rc) => {
      const rules: Record<string, unknown>[] =
        rc.type === 'aws_security_group'
          ? ((plannedValue(rc, 'ingress') as Record<string, unknown>[] | undefined) ?? [])
          : rc.type === 'aws_security_group_rule' && plannedValue(rc, 'type') !== 'ingress'
            ? []
            : [rc.change.after ?? {}];
      for (const r of rules) {
        const cidrs = [
          r.cidr_ipv4,
          r.cidr_ipv6,
          ...((r.cidr_blocks as string[] | undefined) ?? []),
          ...((r.ipv6_cidr_blocks as string[] | undefined) ?? []),
        ];
        const open = cidrs.find((c) => OPEN_CIDRS.includes(String(c)));
        const port = coversDbPort(r.from_port, r.to_port, r.ip_protocol ?? r.protocol);
        if (open && port !== undefined) return `ingress from ${open} on port ${port}`;
      }
      return undefined;
    },
  },
  {
    id: 'DMSKIT-NET-002',
    title:
      'DMS replication instances and Aurora instances are not publicly accessible (CKV_AWS_222, CKV_AWS_17)',
    types: ['aws_dms_replication_instance', 'aws_rds_cluster_instance'],
    check: (rc) =>
      plannedValue(rc, 'publicly_accessible') === true ? 'publicly_accessible is true' : undefined,
  },
  {
    id: 'DMSKIT-TLS-001',
    title: 'DMS endpoints use TLS; the source verifies the server certificate',
    types: ['aws_dms_endpoint'],
    check: (rc) => {
      const mode = plannedValue(rc, 'ssl_mode');
      if (plannedValue(rc, 'endpoint_type') === 'source' && mode !== 'verify-full' && mode !== 'verify-ca')
        return `source ssl_mode is ${String(mode ?? 'none')}, not verify-full`;
      if (mode === 'none' || mode === undefined) return 'ssl_mode is none';
      return undefined;
    },
  },
  {
    id: 'DMSKIT-DB-001',
    title: 'Aurora has deletion protection (CKV_AWS_139)',
    types: ['aws_rds_cluster'],
    check: (rc) =>
      plannedValue(rc, 'deletion_protection') !== true ? 'deletion_protection is not true' : undefined,
  },
  {
    id: 'DMSKIT-DB-002',
    title: 'Aurora keeps backups for at least 7 days (CKV_AWS_133)',
    types: ['aws_rds_cluster'],
    check: (rc) => {
      const days = Number(plannedValue(rc, 'backup_retention_period') ?? 1);
      return days < 7 ? `backup_retention_period is ${days}` : undefined;
    },
  },
  {
    id: 'DMSKIT-DB-003',
    title: 'Aurora has IAM database authentication (CKV_AWS_162)',
    types: ['aws_rds_cluster'],
    check: (rc) =>
      plannedValue(rc, 'iam_database_authentication_enabled') !== true
        ? 'iam_database_authentication_enabled is not true'
        : undefined,
  },
  {
    id: 'DMSKIT-DB-004',
    title: 'Aurora exports PostgreSQL logs to CloudWatch (CKV_AWS_324)',
    types: ['aws_rds_cluster'],
    check: (rc) => {
      const exports = plannedValue(rc, 'enabled_cloudwatch_logs_exports');
      return Array.isArray(exports) && exports.includes('postgresql')
        ? undefined
        : 'enabled_cloudwatch_logs_exports lacks postgresql';
    },
  },
  {
    id: 'DMSKIT-DB-005',
    title: 'The Aurora master password is managed in Secrets Manager, never set in Terraform',
    types: ['aws_rds_cluster'],
    check: (rc) =>
      isSet(rc.change.after?.master_password)
        ? 'master_password is set in Terraform'
        : plannedValue(rc, 'manage_master_user_password') !== true
          ? 'manage_master_user_password is not true'
          : undefined,
  },
  {
    id: 'DMSKIT-DB-006',
    title:
      'Aurora instances have Performance Insights, encrypted with a customer-managed key (CKV_AWS_353, CKV_AWS_354)',
    types: ['aws_rds_cluster_instance'],
    check: (rc) =>
      plannedValue(rc, 'performance_insights_enabled') !== true
        ? 'performance_insights_enabled is not true'
        : !isSet(plannedValue(rc, 'performance_insights_kms_key_id'))
          ? 'no performance_insights_kms_key_id'
          : undefined,
  },
];

/** A policy over the whole plan: what AWS would refuse or what a feature lacks, across resources. */
export interface PlanPolicy {
  readonly id: string;
  readonly title: string;
  /** The failures, each with the resource it names; none when the plan passes. */
  readonly check: (plan: PlanJson) => { address: string; reason: string }[];
}

const RULE_TYPES = ['aws_vpc_security_group_ingress_rule', 'aws_vpc_security_group_egress_rule'];
const RULE_KEYS = [
  'security_group_id',
  'ip_protocol',
  'from_port',
  'to_port',
  'cidr_ipv4',
  'cidr_ipv6',
  'referenced_security_group_id',
  'prefix_list_id',
];
/** The IAM roles DMS finds by their fixed names: made once per account, by the account baseline. */
const DMS_ACCOUNT_ROLES = ['dms-vpc-role', 'dms-cloudwatch-logs-role', 'dms-access-for-endpoint'];

/**
 * The plan-wide policies: security group rules EC2 would refuse as duplicates, names IAM allows once
 * per account made twice, S3 that a feature needs without a way to reach it, alarms nobody receives.
 */
export const PLAN_POLICIES: readonly PlanPolicy[] = [
  {
    id: 'DMSKIT-NET-003',
    title: 'No two security group rules are the same (EC2: InvalidPermission.Duplicate fails the apply)',
    check: (plan) => {
      const seen = new Map<string, string>();
      const out: { address: string; reason: string }[] = [];
      for (const rc of resourcesAfter(plan).filter((r) => RULE_TYPES.includes(r.type))) {
        const key = [rc.type, ...RULE_KEYS.map((k) => attributeIdentity(plan, rc, k) ?? '')].join('|');
        const first = seen.get(key);
        if (first)
          out.push({ address: rc.address, reason: `the same rule as ${first}: EC2 refuses the second` });
        else seen.set(key, rc.address);
      }
      return out;
    },
  },
  {
    id: 'DMSKIT-IAM-001',
    title: 'Names IAM allows once per account are made once (the DMS roles by the account baseline only)',
    check: (plan) => {
      const out: { address: string; reason: string }[] = [];
      const seen = new Map<string, string>();
      for (const rc of resourcesAfter(plan).filter((r) => r.type === 'aws_iam_role')) {
        const name = plannedValue(rc, 'name');
        if (typeof name !== 'string' || name === '(known after apply)') continue;
        const first = seen.get(name);
        if (first)
          out.push({
            address: rc.address,
            reason: `role ${name} is also made by ${first}: EntityAlreadyExists`,
          });
        seen.set(name, rc.address);
        const migrationStack = plan.resource_changes?.some(
          (r) => r.type === 'aws_dms_replication_instance' || r.type === 'aws_dms_replication_config',
        );
        if (DMS_ACCOUNT_ROLES.includes(name) && migrationStack)
          out.push({
            address: rc.address,
            reason: `${name} is account-wide: the account baseline stack makes it, a migration stack must not`,
          });
      }
      return out;
    },
  },
  {
    id: 'DMSKIT-NET-004',
    title:
      'What a feature reaches has a way there: S3 for Time Travel through a gateway endpoint (no NAT in the VPC)',
    check: (plan) => {
      const after = resourcesAfter(plan);
      const timeTravel = after.filter((rc) => {
        const settings =
          plannedValue(rc, 'replication_task_settings') ?? plannedValue(rc, 'replication_settings');
        return typeof settings === 'string' && /"EnableTT"\s*:\s*true/.test(settings);
      });
      const s3 = after.some(
        (rc) => rc.type === 'aws_vpc_endpoint' && /\.s3$/.test(String(plannedValue(rc, 'service_name'))),
      );
      return s3
        ? []
        : timeTravel.map((rc) => ({
            address: rc.address,
            reason: 'Time Travel writes to S3, and the VPC has no S3 endpoint',
          }));
    },
  },
  {
    id: 'DMSKIT-MON-001',
    title:
      'Alarms and events reach someone: an e-mail subscription or an existing topic (alarmEmail, alarmTopicArn)',
    check: (plan) => {
      const after = resourcesAfter(plan);
      const topics = after.filter((rc) => rc.type === 'aws_sns_topic');
      const subscriptions = after.filter((rc) => rc.type === 'aws_sns_topic_subscription');
      const alarms = after.filter((rc) => rc.type === 'aws_cloudwatch_metric_alarm').length;
      if (!topics.length || subscriptions.length || !alarms) return [];
      return topics.map((rc) => ({
        address: rc.address,
        reason: `${alarms} alarm(s) publish to a topic nobody subscribes to: set alarmEmail or alarmTopicArn, or waive DMSKIT-MON-001 saying who watches it`,
      }));
    },
  },
];

/**
 * Runs every policy on every resource the plan keeps or creates.
 * @param waivers - policy id -> reason; a waived failure is reported as waived with that reason
 */
export function evaluatePolicies(
  plan: PlanJson,
  waivers: ReadonlyMap<string, string> = new Map(),
): PolicyResult[] {
  const results: PolicyResult[] = [];
  for (const policy of PLAN_POLICIES) {
    const failures = policy.check(plan);
    const waiver = waivers.get(policy.id);
    if (!failures.length)
      results.push({
        id: policy.id,
        title: policy.title,
        address: '(the plan)',
        status: 'passed',
        reason: '',
      });
    for (const f of failures)
      results.push({
        id: policy.id,
        title: policy.title,
        address: f.address,
        status: waiver ? 'waived' : 'failed',
        reason: waiver ? `${f.reason} (waived: ${waiver})` : f.reason,
      });
  }
  for (const rc of resourcesAfter(plan)) {
    for (const policy of POLICIES) {
      if (!policy.types.includes(rc.type)) continue;
      const failure = policy.check(rc);
      const waiver = waivers.get(policy.id);
      results.push({
        id: policy.id,
        title: policy.title,
        address: rc.address,
        status: failure === undefined ? 'passed' : waiver ? 'waived' : 'failed',
        reason: failure === undefined ? '' : waiver ? `${failure} (waived: ${waiver})` : failure,
      });
    }
  }
  return results;
}
