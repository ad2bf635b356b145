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
      parallelLoad: { type: 'partitions-auto' },
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
      'parallel-load': { type: 'partitions-auto' },
      'lob-settings': { mode: 'limited', 'bulk-max-size': '128' },
    });
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
