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
 * Turns a DMS object-locator value into a RegExp, with the wildcards of DMS: `%` any run of characters, `_`
 * one character, `[ab]` one of a set, `[a-d]` one of a range, so `[_]` is a literal underscore; every
 * other character is literal, and a `[` without its `]` too (DMS: "Wildcards in table mapping").
 */
export function locatorPattern(value: string): RegExp {
  let body = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i] as string;
    if (c === '%') body += '.*';
    else if (c === '_') body += '.';
    else if (c === '[' && value.indexOf(']', i + 2) > i) {
      const end = value.indexOf(']', i + 2);
      const set = value.slice(i + 1, end);
      // Inside the set only `-` between two characters means a range; the rest is literal.
      body += `[${set.replace(/[\\\]^[]/g, '\\$&')}]`;
      i = end;
    } else body += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${body}$`, 's');
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
    const hit =
      rule.action === 'explicit'
        ? rule.schema === name.schema && rule.table === name.table
        : locatorPattern(rule.schema).test(name.schema) && locatorPattern(rule.table).test(name.table);
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
