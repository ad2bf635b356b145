/**
 * The parts of `terraform show -json <planfile>` that dmskit reads (Terraform: "JSON Output Format",
 * plan representation). `after_unknown` marks values known only after apply (for example an ARN of a
 * resource created in the same plan): such a value is set, just not known yet.
 */
export interface PlanJson {
  readonly format_version?: string;
  readonly resource_changes?: readonly ResourceChange[];
  /** The configuration as written: each resource's expressions, with what they reference. */
  readonly configuration?: {
    readonly root_module?: { readonly resources?: readonly ConfigResource[] };
  };
}

/** A resource of `configuration.root_module`: its expressions, constant or referencing others. */
export interface ConfigResource {
  readonly address: string;
  readonly type: string;
  readonly expressions?: Record<string, { constant_value?: unknown; references?: readonly string[] }>;
}

/**
 * What an attribute of a resource is, known or not at plan time: its planned value when known, else what
 * its expression references in the configuration (`aws_security_group.aurora.id`), so that two values made
 * from the same resource compare equal before apply.
 */
export function attributeIdentity(plan: PlanJson, rc: ResourceChange, key: string): string | undefined {
  const value = rc.change.after?.[key];
  if (value !== undefined && value !== null && value !== '') return JSON.stringify(value);
  const config = plan.configuration?.root_module?.resources?.find((r) => r.address === rc.address);
  const expression = config?.expressions?.[key];
  if (expression?.references?.length) return `ref:${expression.references[0]}`;
  if (expression?.constant_value !== undefined) return JSON.stringify(expression.constant_value);
  return undefined;
}

export type PlanAction = 'no-op' | 'create' | 'read' | 'update' | 'delete';

export interface ResourceChange {
  readonly address: string;
  readonly type: string;
  readonly name: string;
  readonly mode?: 'managed' | 'data';
  readonly change: {
    readonly actions: readonly PlanAction[];
    readonly before: Record<string, unknown> | null;
    readonly after: Record<string, unknown> | null;
    readonly after_unknown?: Record<string, unknown>;
  };
}

/** What a change does, in the words of a plan summary. */
export type ChangeKind = 'add' | 'change' | 'replace' | 'destroy' | 'none';

/** create -> add; update -> change; delete+create (either order) -> replace; delete -> destroy. */
export function changeKind(actions: readonly PlanAction[]): ChangeKind {
  const has = (a: PlanAction) => actions.includes(a);
  if (has('delete') && has('create')) return 'replace';
  if (has('create')) return 'add';
  if (has('delete')) return 'destroy';
  if (has('update')) return 'change';
  return 'none';
}

/** A resource's planned value of `key`: its value, or `'(known after apply)'` when unknown at plan time. */
export function plannedValue(rc: ResourceChange, key: string): unknown {
  const after = rc.change.after ?? {};
  if (after[key] !== undefined && after[key] !== null) return after[key];
  if (rc.change.after_unknown?.[key] === true) return '(known after apply)';
  return after[key];
}

/** Managed resources that exist after the plan (created, updated, replaced or unchanged). */
export function resourcesAfter(plan: PlanJson): ResourceChange[] {
  return (plan.resource_changes ?? []).filter((rc) => rc.mode !== 'data' && rc.change.after !== null);
}
