import { describe, expect, it } from 'vitest';
import type { PlanJson, ResourceChange } from './plan-json.js';
import { evaluatePolicies, POLICIES } from './policies.js';

function created(
  type: string,
  after: Record<string, unknown>,
  unknown: Record<string, unknown> = {},
): ResourceChange {
  return {
    address: `${type}.x`,
    type,
    name: 'x',
    mode: 'managed',
    change: { actions: ['create'], before: null, after, after_unknown: unknown },
  };
}

/** A compliant resource of each type the policies read; each test breaks one attribute. */
const GOOD: Record<string, ResourceChange> = {
  aws_rds_cluster: created(
    'aws_rds_cluster',
    {
      storage_encrypted: true,
      deletion_protection: true,
      backup_retention_period: 7,
      iam_database_authentication_enabled: true,
      enabled_cloudwatch_logs_exports: ['postgresql'],
      manage_master_user_password: true,
    },
    { kms_key_id: true },
  ),
  aws_rds_cluster_instance: created(
    'aws_rds_cluster_instance',
    { publicly_accessible: false, performance_insights_enabled: true },
    { performance_insights_kms_key_id: true },
  ),
  aws_dms_replication_instance: created(
    'aws_dms_replication_instance',
    { publicly_accessible: false },
    { kms_key_arn: true },
  ),
  aws_dms_endpoint: created(
    'aws_dms_endpoint',
    { endpoint_type: 'source', ssl_mode: 'verify-full' },
    { kms_key_arn: true },
  ),
  aws_secretsmanager_secret: created('aws_secretsmanager_secret', {}, { kms_key_id: true }),
  aws_sns_topic: created('aws_sns_topic', {}, { kms_master_key_id: true }),
  aws_kms_key: created('aws_kms_key', { enable_key_rotation: true }),
  aws_vpc_security_group_ingress_rule: created('aws_vpc_security_group_ingress_rule', {
    cidr_ipv4: '192.168.20.0/24',
    from_port: 5432,
    to_port: 5432,
    ip_protocol: 'tcp',
  }),
};

function breaking(type: string, after: Record<string, unknown>, dropUnknown: string[] = []): PlanJson {
  const good = GOOD[type]!;
  const unknown = { ...good.change.after_unknown };
  for (const k of dropUnknown) delete unknown[k];
  const changed = {
    ...good,
    change: { ...good.change, after: { ...good.change.after, ...after }, after_unknown: unknown },
  };
  return { resource_changes: Object.values(GOOD).map((rc) => (rc.type === type ? changed : rc)) };
}

const failedIds = (plan: PlanJson) =>
  evaluatePolicies(plan)
    .filter((r) => r.status === 'failed')
    .map((r) => `${r.id}: ${r.reason}`);

describe('policies', () => {
  it('pass on a compliant landing zone', () => {
    expect(failedIds({ resource_changes: Object.values(GOOD) })).toEqual([]);
  });

  it.each([
    ['aws_rds_cluster', { storage_encrypted: false }, [], 'DMSKIT-ENC-001: storage_encrypted is not true'],
    [
      'aws_rds_cluster',
      {},
      ['kms_key_id'],
      'DMSKIT-ENC-001: no kms_key_id: encrypted with the AWS-managed key',
    ],
    ['aws_dms_replication_instance', {}, ['kms_key_arn'], 'DMSKIT-ENC-002: no kms_key_arn'],
    ['aws_dms_endpoint', {}, ['kms_key_arn'], 'DMSKIT-ENC-003: no kms_key_arn'],
    ['aws_secretsmanager_secret', {}, ['kms_key_id'], 'DMSKIT-ENC-004: no customer-managed KMS key'],
    ['aws_sns_topic', {}, ['kms_master_key_id'], 'DMSKIT-ENC-004: no customer-managed KMS key'],
    ['aws_kms_key', { enable_key_rotation: false }, [], 'DMSKIT-KMS-001: enable_key_rotation is not true'],
    [
      'aws_vpc_security_group_ingress_rule',
      { cidr_ipv4: '0.0.0.0/0' },
      [],
      'DMSKIT-NET-001: ingress from 0.0.0.0/0 on port 5432',
    ],
    [
      'aws_vpc_security_group_ingress_rule',
      { cidr_ipv4: '0.0.0.0/0', from_port: 0, to_port: 65535 },
      [],
      'DMSKIT-NET-001: ingress from 0.0.0.0/0 on port 5432',
    ],
    [
      'aws_dms_replication_instance',
      { publicly_accessible: true },
      [],
      'DMSKIT-NET-002: publicly_accessible is true',
    ],
    [
      'aws_rds_cluster_instance',
      { publicly_accessible: true },
      [],
      'DMSKIT-NET-002: publicly_accessible is true',
    ],
    [
      'aws_dms_endpoint',
      { ssl_mode: 'require' },
      [],
      'DMSKIT-TLS-001: source ssl_mode is require, not verify-full',
    ],
    ['aws_rds_cluster', { deletion_protection: false }, [], 'DMSKIT-DB-001: deletion_protection is not true'],
    ['aws_rds_cluster', { backup_retention_period: 1 }, [], 'DMSKIT-DB-002: backup_retention_period is 1'],
    [
      'aws_rds_cluster',
      { iam_database_authentication_enabled: false },
      [],
      'DMSKIT-DB-003: iam_database_authentication_enabled is not true',
    ],
    [
      'aws_rds_cluster',
      { enabled_cloudwatch_logs_exports: [] },
      [],
      'DMSKIT-DB-004: enabled_cloudwatch_logs_exports lacks postgresql',
    ],
    [
      'aws_rds_cluster',
      { master_password: 'hunter22', manage_master_user_password: false },
      [],
      'DMSKIT-DB-005: master_password is set in Terraform',
    ],
    [
      'aws_rds_cluster_instance',
      { performance_insights_enabled: false },
      [],
      'DMSKIT-DB-006: performance_insights_enabled is not true',
    ],
  ] as const)('%s %j breaks exactly one policy', (type, after, drop, expected) => {
    expect(failedIds(breaking(type, after, [...drop]))).toEqual([expected]);
  });

  it('ignores an open port that is not a database port', () => {
    expect(
      failedIds(
        breaking('aws_vpc_security_group_ingress_rule', {
          cidr_ipv4: '0.0.0.0/0',
          from_port: 443,
          to_port: 443,
        }),
      ),
    ).toEqual([]);
  });

  it('reports a waived failure as waived, with the reason', () => {
    const results = evaluatePolicies(
      breaking('aws_rds_cluster', { backup_retention_period: 1 }),
      new Map([['DMSKIT-DB-002', 'a throw-away rehearsal cluster']]),
    );
    expect(results.find((r) => r.id === 'DMSKIT-DB-002')).toMatchObject({
      status: 'waived',
      reason: 'backup_retention_period is 1 (waived: a throw-away rehearsal cluster)',
    });
  });

  it('has unique ids in the DMSKIT-AREA-NNN form', () => {
    const ids = POLICIES.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^DMSKIT-[A-Z]+-\d{3}$/);
  });
});
