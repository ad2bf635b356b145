import { type PlanJson, plannedValue, type ResourceChange, resourcesAfter } from './plan-json.js';

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

/**
 * Runs every policy on every resource the plan keeps or creates.
 * @param waivers - policy id -> reason; a waived failure is reported as waived with that reason
 */
export function evaluatePolicies(
  plan: PlanJson,
  waivers: ReadonlyMap<string, string> = new Map(),
): PolicyResult[] {
  const results: PolicyResult[] = [];
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
