import type { SelectionRule, TableSettingsRule, TaskConfig, TransformationRule } from '../config.js';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { DMSKIT_SCHEMA } from '../names.js';
import { locatorPattern } from '../selection.js';

/** What the synth-time checks need to know of the source: its tables, their columns and partitions. */
export interface CatalogTable {
  readonly schema: string;
  readonly table: string;
  readonly columns: readonly string[];
  /** The parent, when this table is a partition. */
  readonly partitionOf?: { readonly schema: string; readonly table: string };
  /** Whether this table is a partitioned parent (holds no rows itself). */
  readonly partitioned?: boolean;
  /** Size with indexes and TOAST (`pg_total_relation_size`), in bytes, when the catalog recorded it. */
  readonly bytes?: number;
  /**
   * A single-column integer primary key's column and its smallest and largest value when the catalog was
   * taken (decimal strings): what range segments are cut from.
   */
  readonly keyRange?: { readonly column: string; readonly min: string; readonly max: string };
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

const FILTER_OPERATORS = {
  eq: 'eq',
  ste: 'ste',
  lte: 'lte',
  gte: 'gte',
  noteq: 'noteq',
  between: 'between',
  notbetween: 'notbetween',
  null: 'null',
  notnull: 'notnull',
} as const;

function selectionRule(rule: SelectionRule, id: number): { [key: string]: Json } {
  const out: { [key: string]: Json } = {
    'rule-type': 'selection',
    'rule-id': String(id),
    'rule-name': rule.name ?? `select-${id}`,
    'object-locator': {
      'schema-name': rule.schema,
      'table-name': rule.table,
      ...(rule.tableType ? { 'table-type': rule.tableType } : {}),
    },
    'rule-action': rule.action,
  };
  if (rule.loadOrder !== undefined) out['load-order'] = String(rule.loadOrder);
  if (rule.filters?.length) {
    out.filters = rule.filters.map((f) => ({
      'filter-type': 'source',
      'column-name': f.column,
      'filter-conditions': f.conditions.map((c): { [key: string]: Json } => {
        const op = FILTER_OPERATORS[c.operator];
        if (c.operator === 'between' || c.operator === 'notbetween')
          return { 'filter-operator': op, 'start-value': c.start, 'end-value': c.end };
        return 'value' in c ? { 'filter-operator': op, value: c.value } : { 'filter-operator': op };
      }),
    }));
  }
  return out;
}

function transformationRule(rule: TransformationRule, id: number): { [key: string]: Json } {
  const locator: { [key: string]: Json } = { 'schema-name': rule.schema };
  if (rule.target !== 'schema') locator['table-name'] = rule.table ?? '%';
  if (rule.target === 'column') locator['column-name'] = rule.column ?? '%';
  const out: { [key: string]: Json } = {
    'rule-type': 'transformation',
    'rule-id': String(id),
    'rule-name': rule.name ?? `transform-${id}`,
    'rule-target': rule.target,
    'object-locator': locator,
    'rule-action': rule.action,
  };
  if (rule.value !== undefined) out.value = rule.value;
  if (rule.oldValue !== undefined) out['old-value'] = rule.oldValue;
  if (rule.expression !== undefined) out.expression = rule.expression;
  if (rule.dataType) {
    const t = rule.dataType;
    out['data-type'] = {
      type: t.type,
      ...(t.length !== undefined ? { length: t.length } : {}),
      ...(t.precision !== undefined ? { precision: t.precision } : {}),
      ...(t.scale !== undefined ? { scale: t.scale } : {}),
    };
  }
  if (rule.primaryKey)
    out['primary-key-def'] = {
      name: rule.primaryKey.name,
      origin: 'primary-key',
      columns: [...rule.primaryKey.columns],
    };
  return out;
}

function tableSettingsRule(rule: TableSettingsRule, id: number): { [key: string]: Json } {
  const out: { [key: string]: Json } = {
    'rule-type': 'table-settings',
    'rule-id': String(id),
    'rule-name': rule.name ?? `table-settings-${id}`,
    'object-locator': { 'schema-name': rule.schema, 'table-name': rule.table },
  };
  if (rule.parallelLoad?.type === 'partitions-auto') out['parallel-load'] = { type: 'partitions-auto' };
  if (rule.parallelLoad?.type === 'partitions-list')
    out['parallel-load'] = { type: 'partitions-list', partitions: [...rule.parallelLoad.partitions] };
  if (rule.parallelLoad?.type === 'ranges') {
    out['parallel-load'] = {
      type: 'ranges',
      columns: [...rule.parallelLoad.columns],
      boundaries: rule.parallelLoad.boundaries.map((b) => [...b]),
    };
  }
  if (rule.lob) {
    // DMS: "Table and collection settings rules and operations", lob-settings: `unlimited` with
    // bulk-max-size 0 is full LOB mode (a non-zero size would be combination mode, Db2/SAP ASE only);
    // `limited` takes the size in KB; `none` means the task's settings.
    out['lob-settings'] =
      rule.lob.mode === 'none'
        ? { mode: 'none' }
        : rule.lob.mode === 'full'
          ? { mode: 'unlimited', 'bulk-max-size': '0' }
          : { mode: 'limited', 'bulk-max-size': String(rule.lob.maxLobSizeKb ?? 32) };
  }
  return out;
}

function matches(
  rule: { schema: string; table: string; action?: string },
  t: { schema: string; table: string },
): boolean {
  if (rule.action === 'explicit') return rule.schema === t.schema && rule.table === t.table;
  return locatorPattern(rule.schema).test(t.schema) && locatorPattern(rule.table).test(t.table);
}

/**
 * Checks the rules the way DMS would, so that a bad rule fails at synth and not when the task starts:
 * rule names unique; actions that need a value have one; with a source catalog, a filter's column exists
 * on every table its rule selects, an include rule matches a table, and no partitioned parent is selected
 * together with its partitions (DMS: "Selection rules and actions"; "Using a PostgreSQL database as a
 * source", partitioned tables).
 */
export function tableMappingIssues(task: TaskConfig, catalog?: readonly CatalogTable[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const names = new Map<string, string>();
  const named: [string, { name?: string | undefined }[]][] = [
    ['task.tableMappings', task.tableMappings],
    ['task.transformations', task.transformations],
    ['task.tableSettings', task.tableSettings],
  ];
  for (const [path, rules] of named) {
    rules.forEach((r, i) => {
      if (!r.name) return;
      const first = names.get(r.name);
      if (first)
        issues.push({ path: `${path}[${i}].name`, message: `repeats the rule name '${r.name}' of ${first}` });
      else names.set(r.name, `${path}[${i}]`);
    });
  }
  task.transformations.forEach((r, i) => {
    const needsValue = [
      'rename',
      'add-prefix',
      'remove-prefix',
      'replace-prefix',
      'add-suffix',
      'remove-suffix',
      'replace-suffix',
      'add-column',
    ].includes(r.action);
    if (needsValue && !r.value)
      issues.push({ path: `task.transformations[${i}].value`, message: `is required by ${r.action}` });
    if (r.target !== 'schema' && !r.table)
      issues.push({
        path: `task.transformations[${i}].table`,
        message: `is required for a ${r.target} rule`,
      });
    if (r.target === 'column' && !r.column && r.action !== 'add-column')
      issues.push({ path: `task.transformations[${i}].column`, message: 'is required for a column rule' });
    const columnActions = [
      'remove-column',
      'include-column',
      'add-column',
      'change-data-type',
      'data-masking-digits-mask',
      'data-masking-digits-randomize',
      'data-masking-hash-mask',
    ];
    if (columnActions.includes(r.action) && r.target !== 'column')
      issues.push({ path: `task.transformations[${i}].action`, message: `${r.action} needs target column` });
    if (r.action === 'define-primary-key' && r.target !== 'table')
      issues.push({
        path: `task.transformations[${i}].action`,
        message: 'define-primary-key needs target table',
      });
    if ((r.action === 'replace-prefix' || r.action === 'replace-suffix') && !r.oldValue)
      issues.push({ path: `task.transformations[${i}].oldValue`, message: `is required by ${r.action}` });
    if (r.action === 'add-column' && (!r.expression || !r.dataType))
      issues.push({
        path: `task.transformations[${i}]`,
        message: 'add-column needs value (the new column), expression and dataType',
      });
    if (r.action === 'change-data-type' && !r.dataType)
      issues.push({
        path: `task.transformations[${i}].dataType`,
        message: 'is required by change-data-type',
      });
    if (r.action === 'define-primary-key' && !r.primaryKey)
      issues.push({
        path: `task.transformations[${i}].primaryKey`,
        message: 'is required by define-primary-key',
      });
  });
  // DMS: "Using source filters": a filter applies to one table named exactly; a negative operator
  // (noteq, notnull, notbetween) takes no other condition beside it.
  task.tableMappings.forEach((r, i) => {
    if (!r.filters?.length) return;
    if (/[%_[]/.test(r.schema) || /[%_[]/.test(r.table))
      issues.push({
        path: `task.tableMappings[${i}]`,
        message: `has filters, which DMS applies to one table named exactly: '${r.schema}.${r.table}' holds a wildcard (%, _ or [); name the table (a literal _ is written [_])`,
      });
    r.filters.forEach((f, j) => {
      const negative = f.conditions.filter((c) => ['noteq', 'notnull', 'notbetween'].includes(c.operator));
      if (negative.length && f.conditions.length > 1)
        issues.push({
          path: `task.tableMappings[${i}].filters[${j}].conditions`,
          message: `${negative[0]!.operator} takes no other condition on the same column (DMS: "Using source filters")`,
        });
    });
  });
  // DMS: "Transformation rules and actions": one action per object.
  const transformed = new Map<string, number>();
  task.transformations.forEach((r, i) => {
    const object = `${r.target}:${r.schema}.${r.table ?? ''}.${r.action === 'add-column' ? `+${r.value}` : (r.column ?? '')}`;
    const first = transformed.get(object);
    if (first !== undefined)
      issues.push({
        path: `task.transformations[${i}]`,
        message: `is a second action on the ${r.target} of task.transformations[${first}] (${task.transformations[first]!.action}): DMS applies one action per object`,
      });
    else transformed.set(object, i);
  });
  // DMS: "Table and collection settings rules and operations".
  task.tableSettings.forEach((r, i) => {
    if (r.schema.includes('%') || r.table.includes('%'))
      issues.push({
        path: `task.tableSettings[${i}]`,
        message: `names ${r.schema}.${r.table} with a wildcard: table-settings rules take exact names`,
      });
    if (r.parallelLoad?.type === 'partitions-auto' || r.parallelLoad?.type === 'partitions-list')
      issues.push({
        path: `task.tableSettings[${i}].parallelLoad.type`,
        message: `${r.parallelLoad.type} is not for PostgreSQL sources: use type 'ranges' with columns and boundaries, or select the partitions as tables (each loads in parallel)`,
      });
    if (r.parallelLoad?.type === 'ranges') {
      const { columns, boundaries } = r.parallelLoad;
      if (columns.length > 10)
        issues.push({
          path: `task.tableSettings[${i}].parallelLoad.columns`,
          message: `has ${columns.length} columns: at most 10`,
        });
      boundaries.forEach((b, j) => {
        if (b.length !== columns.length)
          issues.push({
            path: `task.tableSettings[${i}].parallelLoad.boundaries[${j}]`,
            message: `has ${b.length} value(s) for ${columns.length} column(s)`,
          });
      });
    }
  });
  if (!catalog) return issues;
  const selected = (t: CatalogTable) =>
    task.tableMappings.some((r) => r.action !== 'exclude' && matches(r, t)) &&
    !task.tableMappings.some((r) => r.action === 'exclude' && matches(r, t));
  task.tableMappings.forEach((rule, i) => {
    const hits = catalog.filter((t) => matches(rule, t));
    if (rule.action !== 'exclude' && hits.length === 0) {
      issues.push({
        path: `task.tableMappings[${i}]`,
        message: `selects no table of the source catalog (${rule.schema}.${rule.table})`,
      });
    }
    rule.filters?.forEach((f, j) => {
      for (const t of hits) {
        if (!t.columns.includes(f.column)) {
          issues.push({
            path: `task.tableMappings[${i}].filters[${j}].column`,
            message: `${t.schema}.${t.table} has no column '${f.column}'`,
          });
        }
      }
    });
  });
  for (const parent of catalog.filter((t) => t.partitioned && selected(t))) {
    const parts = catalog.filter(
      (t) => t.partitionOf?.schema === parent.schema && t.partitionOf.table === parent.table && selected(t),
    );
    if (parts.length) {
      issues.push({
        path: 'task.tableMappings',
        message: `selects the partitioned table ${parent.schema}.${parent.table} and its partitions (${parts.map((p) => p.table).join(', ')}); select the partitions only`,
      });
    }
  }
  return issues;
}

/**
 * The DMS table-mapping document of a task: selection rules, then transformation rules, then
 * table-settings rules, with rule ids 1..n in that order. Same config, same JSON, byte for byte.
 * With `watermarkTable`, a last selection rule includes dmskit's watermark table (`dmskit.<table>`), which
 * the cutover commits on the source after the fence and waits for on the target.
 * @throws ConfigError listing every rule DMS would reject (see {@link tableMappingIssues})
 */
export function tableMappingsJson(
  task: TaskConfig,
  catalog?: readonly CatalogTable[],
  options: { watermarkTable?: string } = {},
): string {
  const issues = tableMappingIssues(task, catalog);
  if (issues.length) throw new ConfigError(issues);
  let id = 0;
  const watermark: SelectionRule[] = options.watermarkTable
    ? [{ action: 'include', schema: DMSKIT_SCHEMA, table: options.watermarkTable, name: 'dmskit-watermark' }]
    : [];
  const rules = [
    ...[...task.tableMappings, ...watermark].map((r) => selectionRule(r, ++id)),
    ...task.transformations.map((r) => transformationRule(r, ++id)),
    ...task.tableSettings.map((r) => tableSettingsRule(r, ++id)),
  ];
  return JSON.stringify({ rules });
}
