import { describe, expect, it } from 'vitest';
import { TaskSchema } from '../config.js';
import { ConfigError } from '../errors.js';
import { dmsTaskIds, planTaskShards, shardWatermarkTables, splitLargestSettings } from './shards.js';
import type { CatalogTable } from './table-mappings.js';

const GB = 1024 ** 3;
const t = (schema: string, table: string, gb: number, extra: Partial<CatalogTable> = {}): CatalogTable => ({
  schema,
  table,
  columns: ['id', 'region'],
  bytes: gb * GB,
  ...extra,
});
// A 2 TB-like shape: one huge table, a few large, many small.
const catalog: CatalogTable[] = [
  t('public', 'events', 900, { keyRange: { column: 'id', min: '1', max: '4000000000' } }),
  t('public', 'orders', 400, { keyRange: { column: 'id', min: '1000', max: '1999' } }),
  t('public', 'order_lines', 350),
  t('public', 'customers', 200),
  t('public', 'audit', 150),
  ...Array.from({ length: 10 }, (_, i) => t('public', `lookup_${i}`, 1)),
  t('public', 'tmp_scratch', 500),
  t('public', 'metrics', 0, { partitioned: true }),
  t('public', 'metrics_2026', 5, { partitionOf: { schema: 'public', table: 'metrics' } }),
];
const config = (task: Record<string, unknown>) => ({
  name: 'shop',
  environment: 'prod',
  task: TaskSchema.parse({
    tableMappings: [
      { action: 'include', schema: 'public', table: '%' },
      { action: 'exclude', schema: 'public', table: 'tmp_%' },
      { action: 'exclude', schema: 'public', table: 'metrics' },
      {
        action: 'include',
        schema: 'public',
        table: 'orders',
        loadOrder: 5,
        filters: [{ column: 'region', conditions: [{ operator: 'eq', value: 'EU' }] }],
      },
    ],
    ...task,
  }),
});
type Rule = Record<string, unknown> & { 'object-locator': { 'schema-name': string; 'table-name': string } };
const rulesOf = (json: string) => (JSON.parse(json) as { rules: Rule[] }).rules;
const selected = (json: string) =>
  rulesOf(json)
    .filter((r) => r['rule-type'] === 'selection')
    .map(
      (r) => `${r['rule-action']} ${r['object-locator']['schema-name']}.${r['object-locator']['table-name']}`,
    );

describe('several DMS tasks per migration (DMS: "Best practices for AWS DMS", multiple tasks)', () => {
  it('one task keeps the config rules and its names; several get numbered tasks and watermark tables', () => {
    expect(dmsTaskIds(config({}))).toEqual(['shop-prod-task']);
    expect(shardWatermarkTables(config({}))).toEqual(['dmskit_shop_prod_watermark']);
    expect(dmsTaskIds(config({ shards: 3 }))).toEqual([
      'shop-prod-task-1',
      'shop-prod-task-2',
      'shop-prod-task-3',
    ]);
    expect(shardWatermarkTables(config({ shards: 3 }))).toEqual([
      'dmskit_shop_prod_watermark_1',
      'dmskit_shop_prod_watermark_2',
      'dmskit_shop_prod_watermark_3',
    ]);
    const [only] = planTaskShards(config({}), catalog);
    expect(selected(only!.tableMappings)).toEqual([
      'include public.%',
      'exclude public.tmp_%',
      'exclude public.metrics',
      'include public.orders',
      'include dmskit.dmskit_shop_prod_watermark',
    ]);
  });

  it('balances the selected tables by size, each in exactly one task, largest first', () => {
    const shards = planTaskShards(config({ shards: 3 }), catalog);
    const names = shards.map((s) => s.tables.map((x) => x.table));
    expect(names[0]).toEqual(['events']);
    // By hand: events 900 | orders 400 + audit 150 + metrics_2026 5 + lookup_5, _7, _9 | order_lines 350 +
    // customers 200 + the other lookups (ties go to the lower task).
    expect(names[1]).toEqual(['audit', 'lookup_5', 'lookup_7', 'lookup_9', 'metrics_2026', 'orders']);
    expect(names[2]).toEqual([
      'customers',
      'lookup_0',
      'lookup_1',
      'lookup_2',
      'lookup_3',
      'lookup_4',
      'lookup_6',
      'lookup_8',
      'order_lines',
    ]);
    const all = names.flat().sort();
    // Every selected table once; excluded and partitioned parents never.
    expect(all).toEqual([...new Set(all)]);
    expect(all).toHaveLength(16);
    expect(all).not.toContain('tmp_scratch');
    expect(all).not.toContain('metrics');
    expect(shards.map((s) => s.bytes / GB)).toEqual([900, 558, 557]);
  });

  it("each task selects its tables explicitly with the config's filters and load order, and replicates its own watermark", () => {
    const shards = planTaskShards(config({ shards: 3 }), catalog);
    const second = rulesOf(shards[1]!.tableMappings);
    const orders = second.find((r) => r['object-locator']['table-name'] === 'orders')!;
    expect(orders).toMatchObject({
      'rule-action': 'explicit',
      'load-order': '5',
      filters: [
        {
          'filter-type': 'source',
          'column-name': 'region',
          'filter-conditions': [{ 'filter-operator': 'eq', value: 'EU' }],
        },
      ],
    });
    expect(selected(shards[1]!.tableMappings).at(-1)).toBe('include dmskit.dmskit_shop_prod_watermark_2');
    expect(selected(shards[0]!.tableMappings)).toEqual([
      'explicit public.events',
      'include dmskit.dmskit_shop_prod_watermark_1',
    ]);
  });

  it('more tasks than tables is refused', () => {
    expect(() => planTaskShards(config({ shards: 4 }), catalog.slice(0, 3))).toThrow(ConfigError);
    expect(() => planTaskShards(config({ shards: 4 }), catalog.slice(0, 3))).toThrow(
      /task\.shards: 4 tasks for 3 selected table\(s\) of the catalog/,
    );
  });
});

describe('parallel load of the largest tables by key ranges (DMS: "Table and collection settings rules and operations")', () => {
  it('cuts the largest tables with an integer key into equal key ranges; the last segment is open-ended', () => {
    const task = config({ splitLargest: { tables: 2, segments: 4 } }).task;
    expect(splitLargestSettings(task, catalog.slice(0, 5))).toEqual([
      {
        name: 'dmskit-split-1',
        schema: 'public',
        table: 'events',
        parallelLoad: {
          type: 'ranges',
          columns: ['id'],
          boundaries: [['1000000000'], ['2000000000'], ['3000000000']],
        },
      },
      {
        name: 'dmskit-split-2',
        schema: 'public',
        table: 'orders',
        parallelLoad: { type: 'ranges', columns: ['id'], boundaries: [['1249'], ['1499'], ['1749']] },
      },
    ]);
  });

  it('a table with parallel load settings of its own keeps them; the settings go to the task of their table', () => {
    const own = {
      schema: 'public',
      table: 'events',
      parallelLoad: { type: 'ranges', columns: ['id'], boundaries: [['5']] },
    };
    const c = config({ shards: 2, splitLargest: { tables: 2, segments: 2 }, tableSettings: [own] });
    const settings = splitLargestSettings(c.task, catalog.slice(0, 5));
    expect(settings.map((s) => s.table)).toEqual(['orders']);
    const shards = planTaskShards(c, catalog);
    const settingsOf = (i: number) =>
      rulesOf(shards[i]!.tableMappings)
        .filter((r) => r['rule-type'] === 'table-settings')
        .map((r) => [
          r['object-locator']['table-name'],
          (r['parallel-load'] as { boundaries: string[][] }).boundaries,
        ]);
    expect(settingsOf(0)).toEqual([['events', [['5']]]]);
    expect(settingsOf(1)).toEqual([['orders', [['1499']]]]);
  });
});
