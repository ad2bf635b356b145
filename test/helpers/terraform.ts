import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from './cli.js';

/** Every example migration config in migrations/. */
export async function exampleConfigs(): Promise<string[]> {
  const dir = path.join(REPO_ROOT, 'migrations');
  return (await readdir(dir)).filter((f) => /\.(ts|json)$/.test(f)).map((f) => path.join(dir, f));
}

/** Every file under a folder, read as text (for secret scans). */
export async function readTree(dir: string): Promise<{ file: string; text: string }[]> {
  const out: { file: string; text: string }[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    if (file.includes(`${path.sep}.terraform${path.sep}`) || file.endsWith('.tfplan')) continue;
    out.push({ file, text: await readFile(file, 'utf8') });
  }
  return out;
}

/** Keys that would carry a password into Terraform: a literal value for any of them is a leak. */
export const PASSWORD_KEYS =
  /"(password|master_password|secret_string|auth_password|sasl_password|ssl_client_key_password)"\s*:\s*"[^"]+"/;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A deterministic stand-in for a computed attribute of a deployed resource (ARNs look like ARNs). */
function fakeValue(type: string, name: string, attr: string): string {
  if (attr === 'arn' || attr.endsWith('_arn'))
    return `arn:aws:${type.split('_')[1]}:eu-west-1:123456789012:${type}/${name}`;
  return `${type}-${name}-${attr}`.replace(/_/g, '-').toLowerCase();
}

/** A resource schema of `terraform providers schema -json`, as far as the state needs it. */
export interface ResourceSchema {
  readonly version?: number;
  readonly block?: {
    readonly attributes?: Record<string, { readonly type?: Json }>;
  };
}

/** The plan JSON (`terraform show -json`) of a stack planned against an empty state. */
export interface PlanOfNew {
  readonly resource_changes: readonly {
    readonly address: string;
    readonly mode: string;
    readonly type: string;
    readonly name: string;
    readonly change: { readonly after: Record<string, Json>; readonly after_unknown: Record<string, Json> };
  }[];
}

/**
 * A placeholder of the attribute's type, for a computed value nothing refers to: a list of objects has
 * one (the master user secret of a cluster, say).
 */
function placeholder(type: Json | undefined, key: string): Json {
  if (type === 'number') return 0;
  if (type === 'bool') return false;
  if (type === 'string') return `deployed-${key}`;
  if (Array.isArray(type) && (type[0] === 'list' || type[0] === 'set')) {
    const item = type[1];
    if (Array.isArray(item) && item[0] === 'object' && item[1] && typeof item[1] === 'object')
      return [
        Object.fromEntries(
          Object.entries(item[1] as Record<string, Json>).map(([k, t]) => [k, placeholder(t, k)]),
        ),
      ];
    return [];
  }
  if (Array.isArray(type) && type[0] === 'map') return {};
  return null;
}

/** Computed values whose only valid deployed value here is none (the provider validates them). */
const STAYS_NULL = new Set(['aws_sns_topic.fifo_throughput_scope']);

/**
 * A Terraform state (format 4) as if the stack had been applied: each resource with the values its plan
 * against an empty state gives it (`after`, the provider's defaults included), and each value known only
 * after apply filled in: a reference `${type.name.attr}` in the config by that resource's stand-in, which
 * the referenced resource carries as its own value; anything else by a placeholder of its type (a
 * deployed resource keeps such a value when the config does not set it). Planned against with
 * `-refresh=false`, a changed config then plans what the change does to deployed resources: the prior
 * state a review plans against. `schemas` are the provider's resource schemas (`terraform providers
 * schema -json`), for their versions (so no state upgrade runs) and attribute types.
 */
export function stateFromPlan(
  plan: PlanOfNew,
  synth: { resource: Record<string, Record<string, Record<string, Json>>> },
  schemas: Record<string, ResourceSchema>,
): Record<string, Json> {
  const REF = /\$\{([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z0-9_]+)\}/g;
  const resolve = (v: Json | undefined): Json | undefined => {
    if (typeof v === 'string') {
      const out = v.replace(REF, (_, type: string, name: string, attr: string) =>
        synth.resource[type]?.[name] ? fakeValue(type, name, attr) : `\${${type}.${name}.${attr}}`,
      );
      return out.includes('${') ? undefined : out;
    }
    if (Array.isArray(v)) {
      const items = v.map(resolve);
      return items.includes(undefined) ? undefined : (items as Json[]);
    }
    if (v && typeof v === 'object') {
      const o: Record<string, Json> = {};
      for (const [k, x] of Object.entries(v)) {
        const r = resolve(x);
        if (r !== undefined) o[k] = r;
      }
      return o;
    }
    return v ?? undefined;
  };
  /** Fills the unknown leaves of `after` (marked in `unknown`), following the config at the same path. */
  const fill = (after: Json, unknown: Json, config: Json | undefined, key: string, type?: Json): Json => {
    if (unknown === true) {
      const fromConfig = resolve(config);
      // A block given as one object in the config is a list of one in the state.
      if (fromConfig && typeof fromConfig === 'object' && !Array.isArray(fromConfig) && type === undefined)
        return [fromConfig];
      return fromConfig ?? placeholder(type, key);
    }
    if (Array.isArray(unknown) && Array.isArray(after))
      return after.map((x, i) =>
        fill(x, unknown[i] ?? false, Array.isArray(config) ? config[i] : i === 0 ? config : undefined, key),
      );
    if (unknown && typeof unknown === 'object' && !Array.isArray(unknown)) {
      const base = (after && typeof after === 'object' && !Array.isArray(after) ? after : {}) as Record<
        string,
        Json
      >;
      const conf = (Array.isArray(config) ? config[0] : config) as Record<string, Json> | undefined;
      const o: Record<string, Json> = { ...base };
      for (const [k, u] of Object.entries(unknown)) {
        o[k] = fill(base[k] ?? null, u, conf && typeof conf === 'object' ? conf[k] : undefined, k);
      }
      return o;
    }
    return after;
  };
  const resources: Json[] = [];
  for (const rc of plan.resource_changes) {
    if (rc.mode !== 'managed') continue;
    const schema = schemas[rc.type];
    const config = synth.resource[rc.type]?.[rc.name] ?? {};
    const attributes: Record<string, Json> = { ...rc.change.after };
    for (const [k, u] of Object.entries(rc.change.after_unknown ?? {}))
      attributes[k] = STAYS_NULL.has(`${rc.type}.${k}`)
        ? null
        : fill(attributes[k] ?? null, u, config[k], k, schema?.block?.attributes?.[k]?.type);
    // A computed value another resource refers to is that resource's stand-in, wherever it is unknown.
    for (const m of JSON.stringify(synth.resource).matchAll(REF)) {
      const [, type, name, attr] = m;
      if (type === rc.type && name === rc.name && rc.change.after_unknown?.[attr!] === true)
        attributes[attr!] = fakeValue(type!, name!, attr!);
    }
    if (typeof attributes.id !== 'string') attributes.id = fakeValue(rc.type, rc.name, 'id');
    resources.push({
      mode: 'managed',
      type: rc.type,
      name: rc.name,
      provider: 'provider["registry.terraform.io/hashicorp/aws"]',
      instances: [{ schema_version: schema?.version ?? 0, attributes }],
    });
  }
  return {
    version: 4,
    terraform_version: '1.11.4',
    serial: 1,
    lineage: 'dmskit-e2e',
    outputs: {},
    resources,
  };
}
