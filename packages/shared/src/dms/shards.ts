import type { MigrationConfig, SelectionRule, TableSettingsRule } from '../config.js';
import { ConfigError } from '../errors.js';
import { nativeObjectNames, resourceName } from '../names.js';
import { isSelected, locatorPattern } from '../selection.js';
import { type CatalogTable, tableMappingsJson } from './table-mappings.js';

type ShardConfig = Pick<MigrationConfig, 'name' | 'environment' | 'task'>;

/** One replication task of a migration: its id, watermark table and tables. */
export interface TaskShard {
  /** 1-based position. */
  readonly index: number;
  /** The DMS task id the stack gives it (`<name>-<env>-task`, `-task-<n>` when there are several). */
  readonly taskId: string;
  /** Its watermark table in the `dmskit` schema: the cutover waits for a token in every shard's. */
  readonly watermarkTable: string;
  /** Its tables (explicitly selected); empty for a single task, which keeps the config's rules. */
  readonly tables: readonly CatalogTable[];
  /** Their size in bytes, as the catalog recorded it. */
  readonly bytes: number;
  /** The task's table-mapping JSON. */
  readonly tableMappings: string;
}

/** The DMS task ids of a migration, in shard order. */
export function dmsTaskIds(config: Pick<MigrationConfig, 'name' | 'environment' | 'task'>): string[] {
  const n = config.task.shards;
  const base = `${resourceName(config)}-task`;
  return n === 1 ? [base] : Array.from({ length: n }, (_, i) => `${base}-${i + 1}`);
}

/** The watermark table of each task, in shard order (one task: the native engine's name). */
export function shardWatermarkTables(
  config: Pick<MigrationConfig, 'name' | 'environment' | 'task'>,
): string[] {
  const base = nativeObjectNames(config).watermarkTable;
  const n = config.task.shards;
  return n === 1 ? [base] : Array.from({ length: n }, (_, i) => `${base}_${i + 1}`);
}

const bytesOf = (t: CatalogTable) => t.bytes ?? 0;
const nameOf = (t: CatalogTable) => `${t.schema}.${t.table}`;

/**
 * Range segments for the `task.splitLargest.tables` largest selected tables that have a single-column
 * integer key recorded in the catalog (`keyRange`) and no `parallelLoad` of their own: `segments` ranges
 * of equal key width between the key's minimum and maximum, as `parallel-load` `ranges` boundaries (DMS:
 * "Table and collection settings rules and operations": each boundary closes a segment, the last segment
 * takes every row above the last boundary, so rows inserted after the catalog still load). A table whose
 * key range is narrower than the segments is left whole.
 */
export function splitLargestSettings(
  task: MigrationConfig['task'],
  tables: readonly CatalogTable[],
): TableSettingsRule[] {
  const { tables: count, segments } = task.splitLargest;
  if (count === 0) return [];
  const own = (t: CatalogTable) =>
    task.tableSettings.some((r) => r.parallelLoad && r.schema === t.schema && r.table === t.table);
  const candidates = [...tables]
    .filter((t) => t.keyRange && !own(t))
    .sort((a, b) => bytesOf(b) - bytesOf(a) || nameOf(a).localeCompare(nameOf(b)))
    .slice(0, count);
  const out: TableSettingsRule[] = [];
  for (const t of candidates) {
    const { column, min, max } = t.keyRange!;
    const lo = BigInt(min);
    const width = BigInt(max) - lo + 1n;
    if (width < BigInt(segments)) continue;
    const boundaries = Array.from({ length: segments - 1 }, (_, i) => [
      String(lo + (width * BigInt(i + 1)) / BigInt(segments) - 1n),
    ]);
    out.push({
      name: `dmskit-split-${out.length + 1}`,
      schema: t.schema,
      table: t.table,
      parallelLoad: { type: 'ranges', columns: [column], boundaries },
    });
  }
  return out;
}

/**
 * The filters and load order of the config's selection rules that take a table: the last matching rule
 * that sets each (a later, narrower rule refines a broad one).
 */
function ruleOf(
  t: CatalogTable,
  rules: readonly SelectionRule[],
): Pick<SelectionRule, 'filters' | 'loadOrder'> {
  const hits = rules.filter(
    (r) =>
      r.action !== 'exclude' &&
      (r.action === 'explicit'
        ? r.schema === t.schema && r.table === t.table
        : locatorPattern(r.schema).test(t.schema) && locatorPattern(r.table).test(t.table)),
  );
  const filters = hits.findLast((r) => r.filters?.length)?.filters;
  const loadOrder = hits.findLast((r) => r.loadOrder !== undefined)?.loadOrder;
  return { ...(filters ? { filters } : {}), ...(loadOrder !== undefined ? { loadOrder } : {}) };
}

/**
 * The replication tasks of a migration ({@link TaskShard}). One task (`task.shards` 1) keeps the
 * config's selection rules (wildcards included, so tables created later are taken too) and adds the
 * split settings. Several: the selected tables of the catalog are balanced by size, largest first, each
 * to the task holding the fewest bytes so far (ties: the lower task), and each task selects its own
 * tables by `explicit` rules carrying the config's filters and load order, so no table is in two tasks
 * (two tasks writing one table would duplicate its rows) and a table created after the catalog is in
 * none (validation names it missing). Transformation rules go to every task; table settings to the task
 * of their table. Partitioned parents hold no rows and are never selected; their partitions are.
 * @throws ConfigError when there are more tasks than tables, or a rule DMS would reject
 */
export function planTaskShards(config: ShardConfig, catalog?: readonly CatalogTable[]): TaskShard[] {
  const { task } = config;
  const ids = dmsTaskIds(config);
  const watermarks = shardWatermarkTables(config);
  const selected = (catalog ?? []).filter((t) => !t.partitioned && isSelected(t, task.tableMappings));
  const split = splitLargestSettings(task, selected);
  if (task.shards === 1) {
    const withSplit = { ...task, tableSettings: [...task.tableSettings, ...split] };
    return [
      {
        index: 1,
        taskId: ids[0]!,
        watermarkTable: watermarks[0]!,
        tables: [],
        bytes: selected.reduce((n, t) => n + bytesOf(t), 0),
        tableMappings: tableMappingsJson(withSplit, catalog, { watermarkTable: watermarks[0]! }),
      },
    ];
  }
  if (selected.length < task.shards)
    throw new ConfigError([
      {
        path: 'task.shards',
        message: `${task.shards} tasks for ${selected.length} selected table(s) of the catalog: at most one task per table`,
      },
    ]);
  const order = [...selected].sort((a, b) => bytesOf(b) - bytesOf(a) || nameOf(a).localeCompare(nameOf(b)));
  const bins = ids.map(() => ({ tables: [] as CatalogTable[], bytes: 0 }));
  for (const t of order) {
    let best = 0;
    for (let i = 1; i < bins.length; i++) if (bins[i]!.bytes < bins[best]!.bytes) best = i;
    bins[best]!.tables.push(t);
    bins[best]!.bytes += bytesOf(t);
  }
  return bins.map((bin, i) => {
    const tables = [...bin.tables].sort((a, b) => nameOf(a).localeCompare(nameOf(b)));
    const has = (r: { schema: string; table: string }) =>
      tables.some((t) => t.schema === r.schema && t.table === r.table);
    const tableMappings: SelectionRule[] = tables.map((t) => {
      const rule = ruleOf(t, task.tableMappings);
      return {
        action: 'explicit',
        schema: t.schema,
        table: t.table,
        ...(rule.filters ? { filters: rule.filters } : {}),
        ...(rule.loadOrder !== undefined ? { loadOrder: rule.loadOrder } : {}),
      };
    });
    const shardTask = {
      ...task,
      tableMappings,
      tableSettings: [...task.tableSettings.filter(has), ...split.filter(has)],
    };
    return {
      index: i + 1,
      taskId: ids[i]!,
      watermarkTable: watermarks[i]!,
      tables,
      bytes: bin.bytes,
      tableMappings: tableMappingsJson(shardTask, catalog, { watermarkTable: watermarks[i]! }),
    };
  });
}
