import didYouMean, { ThresholdTypeEnums } from 'didyoumean2';
import type { z } from 'zod';
import { type MigrationConfig, type MigrationConfigInput, MigrationConfigSchema } from './config.js';
import { ConfigError, type ConfigIssue } from './errors.js';

/** A parsed config and the warnings it raised (settings that work but that a reviewer should see). */
export interface ParsedConfig {
  readonly config: MigrationConfig;
  readonly warnings: readonly string[];
}

/** `task.tableMappings[2].table` from zod's `['task', 'tableMappings', 2, 'table']`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

/** The zod 4 definition fields {@link knownKeysAt} walks through. */
interface SchemaDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  element?: z.ZodType;
  in?: z.ZodType;
  options?: z.ZodType[];
  valueType?: z.ZodType;
}

function defOf(schema: z.ZodType): SchemaDef {
  return (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;
}

/**
 * The keys an object of the schema accepts at `path` (through optional, default, array, record, union
 * and pipe wrappers), the union of every branch a union could take there.
 */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  const def = defOf(schema);
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
    case 'nonoptional':
      return def.innerType ? knownKeysAt(def.innerType, path) : [];
    case 'pipe':
      return def.in ? knownKeysAt(def.in, path) : [];
    case 'union':
      return [...new Set((def.options ?? []).flatMap((o) => knownKeysAt(o, path)))];
    case 'array':
      return def.element ? knownKeysAt(def.element, path.slice(1)) : [];
    case 'record':
      return def.valueType ? knownKeysAt(def.valueType, path.slice(1)) : [];
    case 'object': {
      const shape = def.shape ?? {};
      if (path.length === 0) return Object.keys(shape);
      const next = shape[String(path[0])];
      return next ? knownKeysAt(next, path.slice(1)) : [];
    }
    default:
      return [];
  }
}

/** "unknown; did you mean maxLagSeconds?" for a key no object there accepts. */
function unknownKeyMessage(key: string, known: readonly string[]): string {
  const nearest = didYouMean(key, [...known], {
    threshold: 0.5,
    thresholdType: ThresholdTypeEnums.SIMILARITY,
    caseSensitive: false,
  });
  return nearest ? `unknown; did you mean ${nearest}?` : `unknown (known here: ${known.join(', ')})`;
}

function issuesOf(error: z.ZodError, schema: z.ZodType): ConfigIssue[] {
  return error.issues.flatMap((issue) => {
    if (issue.code !== 'unrecognized_keys') return [{ path: formatPath(issue.path), message: issue.message }];
    const known = knownKeysAt(schema, issue.path);
    return issue.keys.map((key) => ({
      path: formatPath([...issue.path, key]),
      message: unknownKeyMessage(key, known),
    }));
  });
}

/**
 * Identity function that types a config file: `export default defineMigration({ ... })`.
 * Defaults are applied when the file is loaded, not here.
 */
export function defineMigration(config: MigrationConfigInput): MigrationConfigInput {
  return config;
}

/**
 * Parses a config object (from a module or JSON) and applies every default.
 * @param file - named in the error message when given
 * @throws ConfigError listing every invalid field by its dot path (exit code 2)
 */
export function parseMigrationConfig(value: unknown, file?: string): ParsedConfig {
  const result = MigrationConfigSchema.safeParse(value);
  if (!result.success) throw new ConfigError(issuesOf(result.error, MigrationConfigSchema), file);
  const config = result.data;
  const warnings: string[] = [];
  if (
    config.source.sslmode === 'disable' ||
    config.source.sslmode === 'allow' ||
    config.source.sslmode === 'prefer'
  ) {
    warnings.push(`source.sslmode: '${config.source.sslmode}' may send data unencrypted; use verify-full`);
  }
  if (config.task.lob.mode === 'full') {
    warnings.push(
      'task.lob.mode: full LOB mode reads every LOB one at a time and is much slower than limited',
    );
  }
  if (config.task.migrationType !== 'full-load' && config.task.tableMappings.some((r) => r.filters?.length)) {
    warnings.push('task.tableMappings: rows that leave a filter during CDC are not deleted on the target');
  }
  if (config.cutover.fallback && !config.source.hostCidr && !/^\d+\.\d+\.\d+\.\d+$/.test(config.source.host))
    warnings.push(
      `source.hostCidr: not set, so the fall-back path opens Aurora's port to every on-prem network (${config.network.onPremCidrs.join(', ')}); set it to the source's address (x.x.x.x/32)`,
    );
  return { config, warnings };
}
