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

function issuesOf(error: z.ZodError): ConfigIssue[] {
  return error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message }));
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
  if (!result.success) throw new ConfigError(issuesOf(result.error), file);
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
  return { config, warnings };
}
