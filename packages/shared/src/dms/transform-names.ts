import { NAME_ACTIONS, type TransformationRule } from '../config.js';
import { locatorPattern, type TableName } from '../selection.js';

/** How DMS renames one name (DMS: "Transformation rules and actions"). */
function applyAction(rule: TransformationRule, name: string): string {
  const v = rule.value ?? '';
  switch (rule.action) {
    case 'rename':
      return v;
    case 'convert-lowercase':
      return name.toLowerCase();
    case 'convert-uppercase':
      return name.toUpperCase();
    case 'add-prefix':
      return `${v}${name}`;
    case 'remove-prefix':
      return name.startsWith(v) ? name.slice(v.length) : name;
    case 'replace-prefix':
      return rule.oldValue && name.startsWith(rule.oldValue)
        ? `${v}${name.slice(rule.oldValue.length)}`
        : name;
    case 'add-suffix':
      return `${name}${v}`;
    case 'remove-suffix':
      return name.endsWith(v) ? name.slice(0, name.length - v.length) : name;
    case 'replace-suffix':
      return rule.oldValue && name.endsWith(rule.oldValue)
        ? `${name.slice(0, name.length - rule.oldValue.length)}${v}`
        : name;
    default:
      return name;
  }
}

const RENAMES = new Set<string>(NAME_ACTIONS);

/** Where DMS writes the source's tables and columns, given the task's transformation rules. */
export interface NameMapping {
  /** The target table a source table is written to. */
  table(source: TableName): TableName;
  /** The target column a source column is written to; undefined when the rules leave it out. */
  column(source: TableName, column: string): string | undefined;
  /** Whether any rule changes a name or drops a column (false: the target's names are the source's). */
  readonly changesNames: boolean;
}

/**
 * The names DMS gives the source's objects on the target under `rules`: schema, table and column
 * renames (rename, lower/upper case, add/remove/replace prefix and suffix), `remove-column`, and
 * `include-column` (when a table has any, only its included columns are migrated). Rules match the
 * source's names with DMS's wildcards; validation, sequences and reports use this to find on the
 * target what DMS wrote there.
 */
export function nameMapping(rules: readonly TransformationRule[]): NameMapping {
  const matches = (pattern: string | undefined, name: string) => locatorPattern(pattern ?? '%').test(name);
  const table = (t: TableName): TableName => {
    let schema = t.schema;
    let name = t.table;
    for (const r of rules) {
      if (!RENAMES.has(r.action)) continue;
      if (r.target === 'schema' && matches(r.schema, t.schema)) schema = applyAction(r, schema);
      if (r.target === 'table' && matches(r.schema, t.schema) && matches(r.table, t.table))
        name = applyAction(r, name);
    }
    return { schema, table: name };
  };
  const column = (t: TableName, c: string): string | undefined => {
    const forTable = rules.filter(
      (r) => r.target === 'column' && matches(r.schema, t.schema) && matches(r.table, t.table),
    );
    const included = forTable.filter((r) => r.action === 'include-column');
    if (included.length && !included.some((r) => matches(r.column, c))) return undefined;
    let name = c;
    for (const r of forTable) {
      if (!matches(r.column, c)) continue;
      if (r.action === 'remove-column') return undefined;
      if (RENAMES.has(r.action)) name = applyAction(r, name);
    }
    return name;
  };
  const changesNames = rules.some(
    (r) => RENAMES.has(r.action) || r.action === 'remove-column' || r.action === 'include-column',
  );
  return { table, column, changesNames };
}
