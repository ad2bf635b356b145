import { type CostEstimate, costMarkdown } from './cost.js';
import { type ChangeKind, changeKind, type PlanJson, type ResourceChange } from './plan-json.js';
import type { PolicyResult } from './policies.js';

/** Components of a landing zone, in the order a reviewer reads them. */
export const COMPONENTS = ['network', 'target', 'replication', 'monitoring', 'encryption'] as const;
export type Component = (typeof COMPONENTS)[number];

/** Which component a resource type belongs to. */
export function componentOf(type: string): Component {
  if (/^aws_(cloudwatch|sns)_/.test(type) || type === 'aws_dms_event_subscription') return 'monitoring';
  if (/^aws_(rds|db)_/.test(type)) return 'target';
  if (/^aws_kms_/.test(type)) return 'encryption';
  if (/^aws_(dms|iam|secretsmanager)_/.test(type) || type === 'terraform_data') return 'replication';
  return 'network';
}

/** A change that can break a running migration, flagged at the top of the summary. */
export interface DangerousChange {
  readonly address: string;
  readonly kind: ChangeKind;
  readonly why: string;
}

const REPLACE_DANGER: Readonly<Record<string, string>> = {
  aws_rds_cluster: 'the Aurora cluster (the target and all it holds)',
  aws_rds_cluster_instance: 'an Aurora instance (connections to it drop)',
  aws_dms_replication_instance:
    'the replication instance (every task on it stops; CDC must resume from the slot)',
  aws_dms_replication_task: 'the replication task (a new task starts the full load again)',
  aws_dms_replication_config: 'the DMS Serverless replication (it starts over)',
  aws_dms_endpoint: 'a DMS endpoint (its tasks must be stopped first)',
};

/**
 * The resources on the path between the replication instance and the two databases: a change that
 * replaces or destroys one (or updates the connection it carries) cuts the task off from the source or
 * the target, so CDC stops or errors until the path is back (DMS: "Troubleshooting migration tasks":
 * network and endpoint connectivity). Each names what it carries.
 */
export const DMS_PATH: Readonly<Record<string, string>> = {
  aws_vpc: 'the VPC the replication instance and Aurora live in',
  aws_subnet: 'a subnet of the replication instance or Aurora',
  aws_dms_replication_subnet_group: "the replication instance's subnet group",
  aws_db_subnet_group: "Aurora's subnet group",
  aws_route_table: 'a route table of the path to on-prem',
  aws_route: 'a route to on-prem',
  aws_route_table_association: "a subnet's route table",
  aws_vpn_gateway: 'the virtual private gateway (the VPN to on-prem)',
  aws_vpn_gateway_attachment: "the virtual private gateway's attachment",
  aws_vpn_gateway_route_propagation: 'the route propagation from the VPN',
  aws_customer_gateway: 'the customer gateway (the on-prem end of the VPN)',
  aws_vpn_connection: 'the site-to-site VPN to the source',
  aws_vpn_connection_route: 'a static route of the VPN',
  aws_ec2_transit_gateway_vpc_attachment: 'the transit gateway attachment to on-prem',
  aws_dx_gateway: 'the Direct Connect gateway',
  aws_dx_gateway_association: 'the Direct Connect gateway association',
  aws_dx_private_virtual_interface: 'the Direct Connect virtual interface',
  aws_dx_hosted_private_virtual_interface_accepter: 'the Direct Connect virtual interface',
  aws_security_group: 'a security group of the replication instance or Aurora',
  aws_vpc_security_group_ingress_rule: 'a security group rule of the path',
  aws_vpc_security_group_egress_rule: 'a security group rule of the path',
  aws_security_group_rule: 'a security group rule of the path',
  aws_route53_resolver_endpoint: 'the Resolver endpoint DMS resolves the source host through',
  aws_route53_resolver_rule: "the Resolver rule for the source's domain",
  aws_route53_resolver_rule_association: "the Resolver rule's association",
  aws_vpc_endpoint: 'an endpoint the replication instance reaches AWS through (Secrets Manager, logs, S3)',
  aws_dms_certificate: "the CA certificate the source endpoint verifies the source's certificate with",
  aws_secretsmanager_secret: "an endpoint's secret (DMS reads it at every connection)",
  aws_secretsmanager_secret_version: "an endpoint's credentials",
  aws_iam_role: 'a role DMS uses to read the secrets or write logs',
  aws_iam_role_policy: "a DMS role's policy",
  aws_dms_endpoint: 'a DMS endpoint (its server, port, user, TLS mode or certificate)',
};

/** Updates that leave the path as it is: names, descriptions, tags. */
const HARMLESS_UPDATES = new Set(['tags', 'tags_all', 'description']);

/**
 * When a restarting change of an RDS or DMS resource takes effect, from its planned values: "on apply"
 * with `apply_immediately`, else in its maintenance window (RDS and DMS apply pending changes there).
 */
export function whenApplied(rc: ResourceChange): string {
  if (rc.change.after?.apply_immediately === true) return 'on apply (apply_immediately)';
  const window = rc.change.after?.preferred_maintenance_window;
  return typeof window === 'string' && window
    ? `at the next maintenance window, ${window} UTC (not on apply)`
    : 'at the next maintenance window (not on apply)';
}

function before(rc: ResourceChange, key: string): unknown {
  return rc.change.before?.[key];
}
function after(rc: ResourceChange, key: string): unknown {
  return rc.change.after?.[key];
}

const OPEN = ['0.0.0.0/0', '::/0'];

/** Attributes an update changes (tags left out; a value known only after apply counts as changed). */
export function changedAttributes(rc: ResourceChange): string[] {
  const keys = new Set([
    ...Object.keys(rc.change.before ?? {}),
    ...Object.keys(rc.change.after ?? {}),
    ...Object.keys(rc.change.after_unknown ?? {}),
  ]);
  return [...keys]
    .filter((k) => k !== 'tags' && k !== 'tags_all')
    .filter(
      (k) =>
        rc.change.after_unknown?.[k] === true ||
        JSON.stringify(rc.change.before?.[k] ?? null) !== JSON.stringify(rc.change.after?.[k] ?? null),
    )
    .sort();
}

/**
 * The changes that are dangerous while a migration runs: replacing or destroying the Aurora cluster, an
 * instance, the replication instance, an endpoint or the task (a running one says so), changing table
 * mappings, turning off encryption or deletion protection, and opening a security group to the internet.
 */
export function dangerousChanges(plan: PlanJson): DangerousChange[] {
  const out: DangerousChange[] = [];
  for (const rc of plan.resource_changes ?? []) {
    const kind = changeKind(rc.change.actions);
    if (kind === 'none') continue;
    const what = REPLACE_DANGER[rc.type];
    if (what && (kind === 'replace' || kind === 'destroy')) {
      const running = before(rc, 'status') === 'running' ? ' while it is running' : '';
      out.push({
        address: rc.address,
        kind,
        why: `${kind === 'replace' ? 'replaces' : 'destroys'} ${what}${running}`,
      });
    }
    const path = DMS_PATH[rc.type];
    if (path && !REPLACE_DANGER[rc.type] && (kind === 'replace' || kind === 'destroy')) {
      out.push({
        address: rc.address,
        kind,
        why: `${kind === 'replace' ? 'replaces' : 'destroys'} ${path}: interrupts CDC (the task loses the source or the target until it is back; resume it after the apply)`,
      });
    } else if (path && kind === 'change') {
      const changed = changedAttributes(rc).filter((k) => !HARMLESS_UPDATES.has(k));
      if (changed.length)
        out.push({
          address: rc.address,
          kind,
          why: `changes ${changed.join(', ')} of ${path}: may interrupt CDC while it applies`,
        });
    }
    if (
      kind === 'change' &&
      (rc.type === 'aws_dms_replication_task' || rc.type === 'aws_dms_replication_config')
    ) {
      const changed = changedAttributes(rc);
      if (changed.length)
        out.push({
          address: rc.address,
          kind,
          // Provider docs, aws_dms_replication_task: "Changing most arguments will stop the task if it
          // is running"; it stays stopped while the source's slot keeps WAL.
          why: `changes ${changed.join(', ')}: stops CDC if the task is running, and it stays stopped until resumed (\`dmskit start --mode resume\` after the apply) while the source's slot keeps WAL`,
        });
      if (before(rc, 'table_mappings') !== after(rc, 'table_mappings'))
        out.push({
          address: rc.address,
          kind,
          why: 'changes the table mappings: tables enter or leave the migration',
        });
    }
    if (kind === 'change' && rc.type === 'aws_dms_replication_instance') {
      const restart = [
        'replication_instance_class',
        'engine_version',
        'multi_az',
        'allocated_storage',
      ].filter((k) => JSON.stringify(before(rc, k)) !== JSON.stringify(after(rc, k)));
      if (restart.length)
        out.push({
          address: rc.address,
          kind,
          why: `changes ${restart.join(', ')}: the replication instance restarts and its tasks stop (resume them after), ${whenApplied(rc)}`,
        });
      if (Number(after(rc, 'allocated_storage')) < Number(before(rc, 'allocated_storage')))
        out.push({
          address: rc.address,
          kind,
          why: 'shrinks allocated_storage: DMS refuses it, the apply will fail',
        });
    }
    if (
      kind === 'change' &&
      rc.type === 'aws_rds_cluster_instance' &&
      before(rc, 'instance_class') !== after(rc, 'instance_class')
    )
      out.push({
        address: rc.address,
        kind,
        why: `changes instance_class: the instance restarts (a failover if it is the writer), ${whenApplied(rc)}`,
      });
    if (
      kind === 'change' &&
      rc.type === 'aws_rds_cluster' &&
      before(rc, 'engine_version') !== after(rc, 'engine_version')
    )
      out.push({
        address: rc.address,
        kind,
        why: `upgrades the engine from ${String(before(rc, 'engine_version'))} to ${String(after(rc, 'engine_version'))}: every instance restarts, ${whenApplied(rc)}`,
      });
    if (kind === 'change' || kind === 'replace') {
      if (before(rc, 'storage_encrypted') === true && after(rc, 'storage_encrypted') === false)
        out.push({ address: rc.address, kind, why: 'turns off storage encryption' });
      if (before(rc, 'deletion_protection') === true && after(rc, 'deletion_protection') === false)
        out.push({ address: rc.address, kind, why: 'turns off deletion protection' });
      if (before(rc, 'publicly_accessible') === false && after(rc, 'publicly_accessible') === true)
        out.push({ address: rc.address, kind, why: 'makes it publicly accessible' });
      if (before(rc, 'enable_key_rotation') === true && after(rc, 'enable_key_rotation') === false)
        out.push({ address: rc.address, kind, why: 'turns off key rotation' });
    }
    if (kind === 'add' || kind === 'change' || kind === 'replace') {
      const cidrs = [
        after(rc, 'cidr_ipv4'),
        after(rc, 'cidr_ipv6'),
        ...((after(rc, 'cidr_blocks') as unknown[] | undefined) ?? []),
      ];
      const inbound =
        rc.type === 'aws_vpc_security_group_ingress_rule' ||
        (rc.type === 'aws_security_group_rule' && after(rc, 'type') === 'ingress');
      const open = cidrs.find((c) => OPEN.includes(String(c)));
      if (inbound && open)
        out.push({
          address: rc.address,
          kind,
          why: `opens a security group to ${open} (ports ${String(after(rc, 'from_port'))}-${String(after(rc, 'to_port'))})`,
        });
    }
    if (kind === 'change' && rc.type === 'aws_rds_cluster_parameter_group') {
      const value = (side: 'before' | 'after') =>
        (
          (side === 'before' ? before(rc, 'parameter') : after(rc, 'parameter')) as
            | { name?: string; value?: string }[]
            | undefined
        )?.find((p) => p.name === 'rds.logical_replication')?.value;
      if (value('before') !== value('after'))
        out.push({
          address: rc.address,
          kind,
          why: `sets rds.logical_replication to ${value('after') ?? 'its default'} (the fall-back path): it takes effect only after a reboot of the Aurora writer`,
        });
    }
    if (kind === 'destroy' && rc.type === 'aws_kms_key')
      out.push({
        address: rc.address,
        kind,
        why: 'schedules the KMS key for deletion (data encrypted with it becomes unreadable)',
      });
  }
  return out;
}

export type ChangeCounts = Record<Exclude<ChangeKind, 'none'>, number>;

/** Counts per component and in all. */
export function changeCounts(plan: PlanJson): {
  total: ChangeCounts;
  byComponent: Record<Component, ChangeCounts>;
} {
  const zero = (): ChangeCounts => ({ add: 0, change: 0, replace: 0, destroy: 0 });
  const total = zero();
  const byComponent = Object.fromEntries(COMPONENTS.map((c) => [c, zero()])) as Record<
    Component,
    ChangeCounts
  >;
  for (const rc of plan.resource_changes ?? []) {
    if (rc.mode === 'data') continue;
    const kind = changeKind(rc.change.actions);
    if (kind === 'none') continue;
    total[kind]++;
    byComponent[componentOf(rc.type)][kind]++;
  }
  return { total, byComponent };
}

/**
 * The Markdown summary a pull request comment shows: the counts, the dangerous changes at the top,
 * a table by component, then the policy results (failures first).
 */
export function planSummaryMarkdown(
  stack: string,
  plan: PlanJson,
  policies: readonly PolicyResult[],
  /** The stack's monthly cost estimate, appended at the end when given. */
  cost?: CostEstimate,
): string {
  const { total, byComponent } = changeCounts(plan);
  const dangers = dangerousChanges(plan);
  const failed = policies.filter((p) => p.status === 'failed');
  const waived = policies.filter((p) => p.status === 'waived');
  const lines = [
    `## dmskit plan: \`${stack}\``,
    '',
    `**${total.add} to add, ${total.change} to change, ${total.replace} to replace, ${total.destroy} to destroy**`,
    '',
  ];
  if (dangers.length) {
    lines.push(`### :warning: ${dangers.length} change(s) dangerous during a migration`, '');
    for (const d of dangers) lines.push(`- **${d.kind}** \`${d.address}\`: ${d.why}`);
  } else {
    lines.push('No change is dangerous during a migration.');
  }
  lines.push('', '| component | add | change | replace | destroy |', '| --- | ---: | ---: | ---: | ---: |');
  for (const c of COMPONENTS) {
    const n = byComponent[c];
    if (n.add + n.change + n.replace + n.destroy === 0) continue;
    lines.push(`| ${c} | ${n.add} | ${n.change} | ${n.replace} | ${n.destroy} |`);
  }
  const updates = (plan.resource_changes ?? []).filter(
    (rc) => rc.mode !== 'data' && ['change', 'replace'].includes(changeKind(rc.change.actions)),
  );
  if (updates.length) {
    lines.push('', '<details><summary>Changed resources and attributes</summary>', '');
    for (const rc of updates)
      lines.push(
        `- ${changeKind(rc.change.actions)} \`${rc.address}\`: ${changedAttributes(rc).join(', ') || '(tags)'}`,
      );
    lines.push('', '</details>');
  }
  const passed = policies.length - failed.length - waived.length;
  lines.push(
    '',
    `### Policies: ${failed.length ? ':x:' : ':white_check_mark:'} ${passed} passed, ${failed.length} failed, ${waived.length} waived`,
    '',
  );
  if (failed.length || waived.length) {
    lines.push('| policy | result | resource | reason |', '| --- | --- | --- | --- |');
    for (const p of [...failed, ...waived])
      lines.push(`| ${p.id} | ${p.status} | \`${p.address}\` | ${p.reason.replace(/\|/g, '\\|')} |`);
  }
  if (cost) lines.push('', ...costMarkdown(cost));
  return `${lines.join('\n')}\n`;
}
