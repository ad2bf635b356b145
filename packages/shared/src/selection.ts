import type { SelectionRule } from './config.js';
import { DMSKIT_SCHEMA } from './names.js';

/** A table by schema and name, as PostgreSQL spells them (unquoted, case kept). */
export interface TableName {
  readonly schema: string;
  readonly table: string;
}

// `dmskit` holds dmskit's own objects (watermark, fence triggers): replicated on purpose, never migrated.
const SYSTEM_SCHEMAS = new Set(['pg_catalog', 'information_schema', 'pg_toast', DMSKIT_SCHEMA]);

/**
 * Turns a DMS object-locator value into a RegExp: `%` matches any run of characters, everything else is
 * literal (DMS: "Selection rules and actions", the `%` wildcard in schema-name and table-name).
 */
export function locatorPattern(value: string): RegExp {
  const body = value
    .split('%')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`);
}

/**
 * Whether a table is in scope: at least one `include` rule matches it and no `exclude` rule does, the way
 * DMS combines selection rules ("Selection rules and actions": an explicit exclude wins over an include).
 * System schemas (`pg_catalog`, `information_schema`, `pg_toast`, `pg_temp_*`) and dmskit's own
 * (`dmskit`) are never in scope.
 */
export function isSelected(name: TableName, rules: readonly SelectionRule[]): boolean {
  if (SYSTEM_SCHEMAS.has(name.schema) || name.schema.startsWith('pg_temp_')) return false;
  let included = false;
  for (const rule of rules) {
    const hit = locatorPattern(rule.schema).test(name.schema) && locatorPattern(rule.table).test(name.table);
    if (!hit) continue;
    if (rule.action === 'exclude') return false;
    included = true;
  }
  return included;
}

/** The tables of `all` that the rules select, in the order given. */
export function selectTables<T extends TableName>(all: readonly T[], rules: readonly SelectionRule[]): T[] {
  return all.filter((t) => isSelected(t, rules));
}

/** `schema.table`, quoted only where PostgreSQL would need quotes, for messages and reports. */
export function displayName(name: TableName): string {
  const part = (s: string) => (/^[a-z_][a-z0-9_$]*$/.test(s) ? s : `"${s.replace(/"/g, '""')}"`);
  return `${part(name.schema)}.${part(name.table)}`;
}
