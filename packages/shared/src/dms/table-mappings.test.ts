import { describe, expect, it } from 'vitest';
import { TaskSchema } from '../config.js';
import { ConfigError } from '../errors.js';
import { tableMappingIssues, tableMappingsJson } from './table-mappings.js';
import { taskSettingsJson } from './task-settings.js';

const task = TaskSchema.parse({
  tableMappings: [
    { action: 'include', schema: 'public', table: '%' },
    { action: 'exclude', schema: 'public', table: 'tmp_%' },
    {
      action: 'include',
      schema: 'sales',
      table: 'orders',
      filters: [{ column: 'region', conditions: [{ operator: 'eq', value: 'EU' }] }],
    },
  ],
  transformations: [{ target: 'schema', action: 'rename', schema: 'sales', value: 'sales_eu' }],
  tableSettings: [
    {
      schema: 'public',
      table: 'events',
      parallelLoad: { type: 'ranges', columns: ['id'], boundaries: [['1000000'], ['2000000']] },
      lob: { mode: 'limited', maxLobSizeKb: 128 },
    },
  ],
});

describe('DMS table mappings', () => {
  it('numbers rules 1..n: selection, then transformation, then table settings', () => {
    const doc = JSON.parse(tableMappingsJson(task));
    expect(
      doc.rules.map((r: Record<string, string>) => [r['rule-id'], r['rule-type'], r['rule-name']]),
    ).toEqual([
      ['1', 'selection', 'select-1'],
      ['2', 'selection', 'select-2'],
      ['3', 'selection', 'select-3'],
      ['4', 'transformation', 'transform-4'],
      ['5', 'table-settings', 'table-settings-5'],
    ]);
    expect(doc.rules[2].filters).toEqual([
      {
        'filter-type': 'source',
        'column-name': 'region',
        'filter-conditions': [{ 'filter-operator': 'eq', value: 'EU' }],
      },
    ]);
    expect(doc.rules[4]).toMatchObject({
      'parallel-load': { type: 'ranges', columns: ['id'], boundaries: [['1000000'], ['2000000']] },
      'lob-settings': { mode: 'limited', 'bulk-max-size': '128' },
    });
  });

  it('"Table and collection settings rules and operations": full LOB mode is unlimited with bulk-max-size 0; none means the task settings', () => {
    const lob = (mode: 'full' | 'none') =>
      JSON.parse(
        tableMappingsJson(
          TaskSchema.parse({ tableSettings: [{ schema: 'public', table: 'docs', lob: { mode } }] }),
        ),
      ).rules[1]['lob-settings'];
    expect(lob('full')).toEqual({ mode: 'unlimited', 'bulk-max-size': '0' });
    expect(lob('none')).toEqual({ mode: 'none' });
  });

  it('"Table and collection settings rules and operations": PostgreSQL takes ranges only, exact names, at most 10 range columns, one boundary value per column', () => {
    const bad = TaskSchema.parse({
      tableSettings: [
        { schema: 'public', table: 'events', parallelLoad: { type: 'partitions-auto' } },
        {
          schema: 'public',
          table: 'log_%',
          parallelLoad: { type: 'ranges', columns: ['id'], boundaries: [['1']] },
        },
        {
          schema: 'public',
          table: 'wide',
          parallelLoad: {
            type: 'ranges',
            columns: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k'],
            boundaries: [['1', '2']],
          },
        },
      ],
    });
    expect(tableMappingIssues(bad).map((i) => `${i.path}: ${i.message}`)).toEqual([
      "task.tableSettings[0].parallelLoad.type: partitions-auto is not for PostgreSQL sources: use type 'ranges' with columns and boundaries",
      'task.tableSettings[1]: names public.log_% with a wildcard: table-settings rules take exact names',
      'task.tableSettings[2].parallelLoad.columns: has 11 columns: at most 10',
      'task.tableSettings[2].parallelLoad.boundaries[0]: has 2 value(s) for 11 column(s)',
    ]);
  });

  it('"Using source filters" and "Transformation rules and actions": filters on exact names, a negative operator alone, one action per object', () => {
    const bad = TaskSchema.parse({
      tableMappings: [
        {
          schema: 'public',
          table: 'order%',
          filters: [{ column: 'region', conditions: [{ operator: 'eq', value: 'EU' }] }],
        },
        {
          schema: 'public',
          table: 'orders',
          filters: [
            {
              column: 'region',
              conditions: [
                { operator: 'noteq', value: 'US' },
                { operator: 'eq', value: 'EU' },
              ],
            },
          ],
        },
      ],
      transformations: [
        { target: 'table', action: 'rename', schema: 'public', table: 'orders', value: 'orders_v2' },
        { target: 'table', action: 'add-prefix', schema: 'public', table: 'orders', value: 'eu_' },
      ],
    });
    expect(tableMappingIssues(bad).map((i) => `${i.path}: ${i.message}`)).toEqual([
      "task.tableMappings[0]: has filters, which DMS applies to one table named exactly: 'public.order%' holds a wildcard (%, _ or [); name the table (a literal _ is written [_])",
      'task.tableMappings[1].filters[0].conditions: noteq takes no other condition on the same column (DMS: "Using source filters")',
      'task.transformations[1]: is a second action on the table of task.transformations[0] (rename): DMS applies one action per object',
    ]);
  });

  it('is stable: the same config gives the same bytes', () => {
    expect(tableMappingsJson(TaskSchema.parse(structuredClone(task)))).toBe(tableMappingsJson(task));
    expect(taskSettingsJson(task)).toBe(taskSettingsJson(TaskSchema.parse(structuredClone(task))));
  });

  it('rejects duplicate rule names and a rename without a value', () => {
    const bad = TaskSchema.parse({
      tableMappings: [
        { name: 'same', schema: 'a', table: '%' },
        { name: 'same', schema: 'b', table: '%' },
      ],
      transformations: [{ target: 'table', action: 'rename', schema: 'a', table: 't' }],
    });
    expect(() => tableMappingsJson(bad)).toThrowError(ConfigError);
    expect(tableMappingIssues(bad).map((i) => i.path)).toEqual([
      'task.tableMappings[1].name',
      'task.transformations[0].value',
    ]);
  });

  it('with a catalog: rejects a filter on a missing column and a parent selected with its partitions', () => {
    const catalog = [
      { schema: 'sales', table: 'orders', columns: ['id', 'country'] },
      { schema: 'public', table: 'events', columns: ['id', 'at'], partitioned: true },
      {
        schema: 'public',
        table: 'events_2026',
        columns: ['id', 'at'],
        partitionOf: { schema: 'public', table: 'events' },
      },
    ];
    const issues = tableMappingIssues(task, catalog);
    expect(issues).toEqual([
      { path: 'task.tableMappings[2].filters[0].column', message: "sales.orders has no column 'region'" },
      {
        path: 'task.tableMappings',
        message: expect.stringContaining(
          'selects the partitioned table public.events and its partitions (events_2026)',
        ),
      },
    ]);
  });
});

describe('DMS task settings', () => {
  it('pre-created schema, LOB mode from the config, and none of the fields DMS fills in', () => {
    const s = JSON.parse(taskSettingsJson(task));
    // DMS: "Full-load task settings": TRUNCATE_BEFORE_LOAD keeps the table's metadata and empties it, so a
    // reload-table or a restarted full load never loads on top of rows already there.
    expect(s.FullLoadSettings.TargetTablePrepMode).toBe('TRUNCATE_BEFORE_LOAD');
    // DMS: "Error handling task settings": a change that does not apply, or a row that cannot be
    // written, stops the task instead of being logged and skipped.
    expect(s.ErrorBehavior).toMatchObject({
      DataErrorPolicy: 'STOP_TASK',
      DataTruncationErrorPolicy: 'STOP_TASK',
      ApplyErrorInsertPolicy: 'STOP_TASK',
      ApplyErrorUpdatePolicy: 'STOP_TASK',
      ApplyErrorDeletePolicy: 'STOP_TASK',
      ApplyErrorEscalationPolicy: 'STOP_TASK',
    });
    expect(s.TargetMetadata).toMatchObject({
      SupportLobs: true,
      LimitedSizeLobMode: true,
      FullLobMode: false,
      LobMaxSize: 32,
    });
    expect(s.ValidationSettings.EnableValidation).toBe(true);
    // DMS: "Control table task settings": the control tables go to dmskit's schema, not the migrated ones.
    expect(s.ControlTablesSettings.ControlSchema).toBe('dmskit');
    expect(s.Logging).not.toHaveProperty('CloudWatchLogGroup');
    expect(s.Logging).not.toHaveProperty('CloudWatchLogStream');
    const full = JSON.parse(taskSettingsJson(TaskSchema.parse({ lob: { mode: 'full' } })));
    expect(full.TargetMetadata).toMatchObject({
      FullLobMode: true,
      LimitedSizeLobMode: false,
      LobMaxSize: 0,
    });
  });
});
