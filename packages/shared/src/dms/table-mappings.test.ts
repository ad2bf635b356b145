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

  it('"Selection rules and actions" and "Using source filters": explicit selection, views, load order, lte and notbetween', () => {
    const doc = JSON.parse(
      tableMappingsJson(
        TaskSchema.parse({
          tableMappings: [
            { action: 'explicit', schema: 'sales', table: 'order_lines', loadOrder: 5 },
            { action: 'include', schema: 'reporting', table: '%', tableType: 'view' },
            {
              action: 'include',
              schema: 'sales',
              table: 'orders',
              filters: [
                { column: 'amount', conditions: [{ operator: 'lte', value: '100' }] },
                {
                  column: 'placed',
                  conditions: [{ operator: 'notbetween', start: '2020-01-01', end: '2020-12-31' }],
                },
              ],
            },
          ],
        }),
      ),
    );
    expect(doc.rules[0]).toMatchObject({
      'rule-action': 'explicit',
      'object-locator': { 'schema-name': 'sales', 'table-name': 'order_lines' },
      'load-order': '5',
    });
    expect(doc.rules[1]['object-locator']).toEqual({
      'schema-name': 'reporting',
      'table-name': '%',
      'table-type': 'view',
    });
    expect(
      doc.rules[2].filters.map((f: { 'filter-conditions': unknown[] }) => f['filter-conditions']),
    ).toEqual([
      [{ 'filter-operator': 'lte', value: '100' }],
      [{ 'filter-operator': 'notbetween', 'start-value': '2020-01-01', 'end-value': '2020-12-31' }],
    ]);
  });

  it('"Transformation rules and actions": add-column with expression and data type, replace-prefix, define-primary-key, data masking', () => {
    const doc = JSON.parse(
      tableMappingsJson(
        TaskSchema.parse({
          transformations: [
            {
              target: 'column',
              action: 'add-column',
              schema: 'sales',
              table: 'customers',
              value: 'full_name',
              expression: "$first_name||' '||$last_name",
              dataType: { type: 'string', length: 120 },
            },
            {
              target: 'table',
              action: 'replace-prefix',
              schema: 'sales',
              table: '%',
              value: 'eu_',
              oldValue: 'tmp_',
            },
            {
              target: 'table',
              action: 'define-primary-key',
              schema: 'sales',
              table: 'events',
              primaryKey: { name: 'events_pk', columns: ['id', 'at'] },
            },
            {
              target: 'column',
              action: 'data-masking-hash-mask',
              schema: 'sales',
              table: 'customers',
              column: 'email',
            },
            {
              target: 'column',
              action: 'change-data-type',
              schema: 'sales',
              table: 'orders',
              column: 'total',
              dataType: { type: 'numeric', precision: 14, scale: 2 },
            },
          ],
        }),
      ),
    ).rules.slice(1);
    expect(doc[0]).toMatchObject({
      'rule-action': 'add-column',
      'object-locator': { 'schema-name': 'sales', 'table-name': 'customers', 'column-name': '%' },
      value: 'full_name',
      expression: "$first_name||' '||$last_name",
      'data-type': { type: 'string', length: 120 },
    });
    expect(doc[1]).toMatchObject({ 'rule-action': 'replace-prefix', value: 'eu_', 'old-value': 'tmp_' });
    expect(doc[2]['primary-key-def']).toEqual({
      name: 'events_pk',
      origin: 'primary-key',
      columns: ['id', 'at'],
    });
    expect(doc[3]).toMatchObject({ 'rule-action': 'data-masking-hash-mask', 'rule-target': 'column' });
    expect(doc[4]['data-type']).toEqual({ type: 'numeric', precision: 14, scale: 2 });
    const missing = TaskSchema.parse({
      transformations: [
        { target: 'column', action: 'add-column', schema: 's', table: 't', value: 'c' },
        { target: 'table', action: 'replace-suffix', schema: 's', table: 't', value: '_x' },
      ],
    });
    expect(tableMappingIssues(missing).map((i) => `${i.path}: ${i.message}`)).toEqual([
      'task.transformations[0]: add-column needs value (the new column), expression and dataType',
      'task.transformations[1].oldValue: is required by replace-suffix',
    ]);
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
        {
          schema: 'public',
          table: 'metrics',
          parallelLoad: { type: 'partitions-list', partitions: ['metrics_2025', 'metrics_2026'] },
        },
      ],
    });
    expect(tableMappingIssues(bad).map((i) => `${i.path}: ${i.message}`)).toEqual([
      "task.tableSettings[0].parallelLoad.type: partitions-auto is not for PostgreSQL sources: use type 'ranges' with columns and boundaries, or select the partitions as tables (each loads in parallel)",
      'task.tableSettings[1]: names public.log_% with a wildcard: table-settings rules take exact names',
      'task.tableSettings[2].parallelLoad.columns: has 11 columns: at most 10',
      'task.tableSettings[2].parallelLoad.boundaries[0]: has 2 value(s) for 11 column(s)',
      "task.tableSettings[3].parallelLoad.type: partitions-list is not for PostgreSQL sources: use type 'ranges' with columns and boundaries, or select the partitions as tables (each loads in parallel)",
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
    // Each setting the config offers lands where "Specifying task settings" puts it.
    const custom = JSON.parse(
      taskSettingsJson(
        TaskSchema.parse({
          settings: {
            targetTablePrepMode: 'DO_NOTHING',
            createPkAfterFullLoad: true,
            stopTaskCachedChangesApplied: true,
            commitRate: 50_000,
            lobChunkSize: 128,
            inlineLobMaxSize: 8,
            controlSchema: 'dms_control',
            loggingSeverity: 'LOGGER_SEVERITY_DEBUG',
          },
        }),
      ),
    );
    expect(custom.FullLoadSettings).toMatchObject({
      TargetTablePrepMode: 'DO_NOTHING',
      CreatePkAfterFullLoad: true,
      StopTaskCachedChangesApplied: true,
      StopTaskCachedChangesNotApplied: false,
      CommitRate: 50_000,
    });
    expect(custom.TargetMetadata).toMatchObject({ LobChunkSize: 128, InlineLobMaxSize: 8 });
    // "Change processing tuning settings", "Data validation task settings", "Error handling task settings".
    const tuned = JSON.parse(
      taskSettingsJson(
        TaskSchema.parse({
          settings: {
            changeProcessing: { batchApplyTimeoutMax: 60, memoryLimitTotal: 2048 },
            validation: { failureMaxCount: 50, handleCollationDiff: true },
            errors: { applyErrorInsertPolicy: 'INSERT_RECORD', applyErrorUpdatePolicy: 'UPDATE_RECORD' },
          },
        }),
      ),
    );
    expect(tuned.ChangeProcessingTuning).toMatchObject({
      BatchApplyTimeoutMax: 60,
      MemoryLimitTotal: 2048,
      BatchApplyTimeoutMin: 1,
    });
    expect(tuned.ValidationSettings).toMatchObject({ FailureMaxCount: 50, HandleCollationDiff: true });
    expect(tuned.ErrorBehavior).toMatchObject({
      ApplyErrorInsertPolicy: 'INSERT_RECORD',
      ApplyErrorUpdatePolicy: 'UPDATE_RECORD',
      ApplyErrorDeletePolicy: 'STOP_TASK',
    });
    expect(custom.ControlTablesSettings.ControlSchema).toBe('dms_control');
    expect(new Set(custom.Logging.LogComponents.map((c: { Severity: string }) => c.Severity))).toEqual(
      new Set(['LOGGER_SEVERITY_DEBUG']),
    );
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
