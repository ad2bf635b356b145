import { describe, expect, it } from 'vitest';
import type { PlanJson, ResourceChange } from './plan-json.js';
import { changeCounts, componentOf, dangerousChanges, planSummaryMarkdown } from './summary.js';

const rc = (
  address: string,
  actions: ResourceChange['change']['actions'],
  before: Record<string, unknown> | null,
  after: Record<string, unknown> | null,
): ResourceChange => ({
  address,
  type: address.split('.')[0]!,
  name: address.split('.')[1]!,
  mode: 'managed',
  change: { actions, before, after },
});

const plan: PlanJson = {
  resource_changes: [
    rc(
      'aws_dms_replication_task.Replication_Task',
      ['delete', 'create'],
      { replication_task_id: 'old', status: 'running' },
      { replication_task_id: 'new' },
    ),
    rc(
      'aws_rds_cluster.Target',
      ['update'],
      { deletion_protection: true, storage_encrypted: true },
      { deletion_protection: false, storage_encrypted: true },
    ),
    rc('aws_vpc_security_group_ingress_rule.Open', ['create'], null, {
      cidr_ipv4: '0.0.0.0/0',
      from_port: 5432,
      to_port: 5432,
    }),
    rc('aws_cloudwatch_metric_alarm.Cpu', ['create'], null, {}),
    rc('aws_subnet.A', ['no-op'], {}, {}),
  ],
};

describe('plan summary', () => {
  it('flags replacing a running task, dropping deletion protection and opening a security group', () => {
    expect(dangerousChanges(plan).map((d) => [d.address, d.why])).toEqual([
      [
        'aws_dms_replication_task.Replication_Task',
        'replaces the replication task (a new task starts the full load again) while it is running',
      ],
      ['aws_rds_cluster.Target', 'turns off deletion protection'],
      ['aws_vpc_security_group_ingress_rule.Open', 'opens a security group to 0.0.0.0/0 (ports 5432-5432)'],
    ]);
  });

  it('flags a change of table mappings', () => {
    const mappings = {
      resource_changes: [
        rc(
          'aws_dms_replication_task.T',
          ['update'],
          { table_mappings: '{"rules":[1]}' },
          { table_mappings: '{"rules":[2]}' },
        ),
      ],
    };
    expect(dangerousChanges(mappings)).toEqual([
      expect.objectContaining({
        why: expect.stringMatching(/^changes table_mappings: stops CDC if the task is running/),
      }),
      expect.objectContaining({ why: 'changes the table mappings: tables enter or leave the migration' }),
    ]);
  });

  it('flags every update of a replication task as stopping CDC, with the resume command (provider docs: "Changing most arguments will stop the task")', () => {
    const settings = {
      resource_changes: [
        rc(
          'aws_dms_replication_task.T',
          ['update'],
          { replication_task_settings: '{"Logging":{}}', tags_all: { a: '1' } },
          { replication_task_settings: '{"Logging":{"EnableLogging":true}}', tags_all: { a: '2' } },
        ),
        rc('aws_dms_replication_task.OnlyTags', ['update'], { tags: { a: '1' } }, { tags: { a: '2' } }),
      ],
    };
    expect(dangerousChanges(settings)).toEqual([
      {
        address: 'aws_dms_replication_task.T',
        kind: 'change',
        why: "changes replication_task_settings: stops CDC if the task is running, and it stays stopped until resumed (`dmskit start --mode resume` after the apply) while the source's slot keeps WAL",
      },
    ]);
    const md = planSummaryMarkdown('s', settings, []);
    expect(md).toContain('- change `aws_dms_replication_task.T`: replication_task_settings');
    expect(md).toContain('- change `aws_dms_replication_task.OnlyTags`: (tags)');
  });

  it('flags restarts and applies that will fail: instance class, storage shrink, engine upgrade', () => {
    const restarts = {
      resource_changes: [
        rc(
          'aws_dms_replication_instance.I',
          ['update'],
          { allocated_storage: 100, replication_instance_class: 'dms.r6i.large' },
          {
            allocated_storage: 50,
            replication_instance_class: 'dms.r6i.large',
            preferred_maintenance_window: 'sun:03:00-sun:03:30',
            apply_immediately: false,
          },
        ),
        rc(
          'aws_rds_cluster_instance.W',
          ['update'],
          { instance_class: 'db.r6g.large' },
          { instance_class: 'db.r6g.xlarge', apply_immediately: true },
        ),
        rc('aws_rds_cluster.C', ['update'], { engine_version: '15.6' }, { engine_version: '16.4' }),
      ],
    };
    // When each restart happens is said: the window the config chose, or on apply.
    expect(dangerousChanges(restarts).map((d) => d.why)).toEqual([
      'changes allocated_storage: the replication instance restarts and its tasks stop (resume them after), at the next maintenance window, sun:03:00-sun:03:30 UTC (not on apply)',
      'shrinks allocated_storage: DMS refuses it, the apply will fail',
      'changes instance_class: the instance restarts (a failover if it is the writer), on apply (apply_immediately)',
      'upgrades the engine from 15.6 to 16.4: every instance restarts, at the next maintenance window (not on apply)',
    ]);
  });

  it('says that turning on rds.logical_replication (the fall-back path) takes a reboot of the writer', () => {
    const params = (on: boolean) => ({
      parameter: [
        { name: 'rds.force_ssl', value: '1', apply_method: 'pending-reboot' },
        ...(on ? [{ name: 'rds.logical_replication', value: '1', apply_method: 'pending-reboot' }] : []),
      ],
    });
    const found = dangerousChanges({
      resource_changes: [
        rc('aws_rds_cluster_parameter_group.Cluster', ['update'], params(false), params(true)),
        rc('aws_rds_cluster_parameter_group.Same', ['update'], params(true), params(true)),
      ],
    });
    expect(found).toEqual([
      {
        address: 'aws_rds_cluster_parameter_group.Cluster',
        kind: 'change',
        why: 'sets rds.logical_replication to 1 (the fall-back path): it takes effect only after a reboot of the Aurora writer',
      },
    ]);
  });

  it('counts by component', () => {
    const { total, byComponent } = changeCounts(plan);
    expect(total).toEqual({ add: 2, change: 1, replace: 1, destroy: 0 });
    expect(byComponent.replication.replace).toBe(1);
    expect(byComponent.monitoring.add).toBe(1);
    expect(componentOf('aws_vpn_connection')).toBe('network');
    expect(componentOf('aws_kms_key')).toBe('encryption');
  });

  it('puts the dangerous changes at the top, before the counts by component and the policies', () => {
    const md = planSummaryMarkdown('shop-prod', plan, [
      {
        id: 'DMSKIT-NET-001',
        title: 't',
        address: 'aws_vpc_security_group_ingress_rule.Open',
        status: 'failed',
        reason: 'ingress from 0.0.0.0/0 on port 5432',
      },
    ]);
    const lines = md.split('\n');
    expect(lines[2]).toBe('**2 to add, 1 to change, 1 to replace, 0 to destroy**');
    expect(lines[4]).toBe(':warning: 3 change(s) dangerous during a migration'.replace(/^/, '### '));
    expect(lines[6]).toContain('**replace** `aws_dms_replication_task.Replication_Task`');
    expect(md.indexOf('dangerous')).toBeLessThan(md.indexOf('| component |'));
    expect(md).toContain(
      '| DMSKIT-NET-001 | failed | `aws_vpc_security_group_ingress_rule.Open` | ingress from 0.0.0.0/0 on port 5432 |',
    );
  });
});
