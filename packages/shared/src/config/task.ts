/** The task section: migration type, table mappings (selection, transformation, table settings), LOB mode, validation, shards. */
import { z } from 'zod';
import { pgIdentifier } from './common.js';

/** A row filter of a selection rule (DMS: "Using source filters"). */
export const SourceFilterSchema = z.strictObject({
  column: z.string().min(1),
  conditions: z
    .array(
      z.discriminatedUnion('operator', [
        z.strictObject({ operator: z.enum(['eq', 'ste', 'lte', 'gte', 'noteq']), value: z.string() }),
        z.strictObject({ operator: z.enum(['between', 'notbetween']), start: z.string(), end: z.string() }),
        z.strictObject({ operator: z.enum(['null', 'notnull']) }),
      ]),
    )
    .min(1),
});

/**
 * A selection rule (DMS: "Selection rules and actions"): `schema` and `table` take DMS's wildcards.
 * A table is migrated when an include (or explicit) rule matches it and no exclude rule does. `explicit`
 * selects exactly the named table, wildcard characters taken literally.
 */
export const SelectionRuleSchema = z.strictObject({
  /** Optional explicit name; must be unique across all rules. */
  name: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 characters of A-Z, a-z, 0-9, _ and -')
    .optional(),
  action: z.enum(['include', 'exclude', 'explicit']).default('include'),
  schema: z.string().min(1),
  table: z.string().min(1),
  /** `table` (the default in DMS), `view` or `all`: whether views are migrated (as tables). */
  tableType: z.enum(['table', 'view', 'all']).optional(),
  /** Full-load order: higher values load first (DMS `load-order`). */
  loadOrder: z.number().int().min(0).max(2_147_483_647).optional(),
  filters: z.array(SourceFilterSchema).optional(),
});

/** A DMS data type for add-column and change-data-type (DMS: "Transformation rules and actions", data-type). */
export const DmsDataTypeSchema = z.strictObject({
  type: z.enum([
    'bytes',
    'date',
    'time',
    'datetime',
    'int1',
    'int2',
    'int4',
    'int8',
    'numeric',
    'real4',
    'real8',
    'string',
    'uint1',
    'uint2',
    'uint4',
    'uint8',
    'wstring',
    'blob',
    'nclob',
    'clob',
    'boolean',
  ]),
  length: z.number().int().min(1).optional(),
  precision: z.number().int().min(1).optional(),
  scale: z.number().int().min(0).optional(),
});

/** The transformation actions that change a schema, table or column name (DMS: "Transformation rules and actions"). */
export const NAME_ACTIONS = [
  'rename',
  'convert-lowercase',
  'convert-uppercase',
  'add-prefix',
  'remove-prefix',
  'replace-prefix',
  'add-suffix',
  'remove-suffix',
  'replace-suffix',
] as const;

/** A transformation rule (DMS: "Transformation rules and actions"), on a schema, table or column. */
export const TransformationRuleSchema = z.strictObject({
  /** Optional explicit name; must be unique across all rules. */
  name: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 characters of A-Z, a-z, 0-9, _ and -')
    .optional(),
  target: z.enum(['schema', 'table', 'column']),
  action: z.enum([
    ...NAME_ACTIONS,
    'remove-column',
    'include-column',
    'add-column',
    'change-data-type',
    'define-primary-key',
    'data-masking-digits-mask',
    'data-masking-digits-randomize',
    'data-masking-hash-mask',
  ]),
  schema: z.string().min(1),
  table: z.string().min(1).optional(),
  column: z.string().min(1).optional(),
  /** New name, prefix or suffix, for the actions that take one; the new column's name for add-column. */
  value: z.string().min(1).optional(),
  /** The prefix or suffix replace-prefix and replace-suffix replace. */
  oldValue: z.string().min(1).optional(),
  /** add-column: the SQLite expression that computes the column (e.g. `$first_name||' '||$last_name`). */
  expression: z.string().min(1).optional(),
  /** add-column and change-data-type: the column's DMS data type. */
  dataType: DmsDataTypeSchema.optional(),
  /** define-primary-key: the key's name and columns, for a table without one. */
  primaryKey: z
    .strictObject({ name: z.string().min(1), columns: z.array(z.string().min(1)).min(1) })
    .optional(),
});

/** A table-settings rule (DMS: "Table and collection settings rules and operations"). */
export const TableSettingsRuleSchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 characters of A-Z, a-z, 0-9, _ and -')
    .optional(),
  schema: z.string().min(1),
  table: z.string().min(1),
  /**
   * Parallel full load of one table. PostgreSQL sources take `ranges` only: at most 10 columns, none of
   * them float or LOB; rows with NULL in a range column are not migrated, so range columns must be NOT
   * NULL (DMS: "Table and collection settings rules and operations"). `partitions-auto` and
   * `partitions-list` (the named partitions of a table, for the sources that load by partition) are typed
   * and refused: a PostgreSQL source segments by ranges only; its partitions are tables of their own,
   * selected and loaded in parallel like any other.
   */
  parallelLoad: z
    .discriminatedUnion('type', [
      z.strictObject({ type: z.literal('partitions-auto') }),
      z.strictObject({ type: z.literal('partitions-list'), partitions: z.array(z.string().min(1)).min(1) }),
      z.strictObject({
        type: z.literal('ranges'),
        columns: z.array(z.string().min(1)).min(1),
        boundaries: z.array(z.array(z.string())).min(1),
      }),
    ])
    .optional(),
  /**
   * LOB handling for this table (DMS: "Table and collection settings rules and operations",
   * lob-settings): `limited` (LOBs up to maxLobSizeKb), `full` (full LOB mode, any size: bulk-max-size
   * 0), or `none`, which DMS reads as "use the task's LOB settings" (it does not skip the LOBs).
   */
  lob: z
    .strictObject({
      mode: z.enum(['limited', 'full', 'none']),
      maxLobSizeKb: z.number().int().min(1).max(102_400).optional(),
    })
    .optional(),
});

export const TaskSchema = z.strictObject({
  /** @default 'full-load-and-cdc' */
  migrationType: z.enum(['full-load', 'full-load-and-cdc', 'cdc']).default('full-load-and-cdc'),
  /** Selection rules. @default every table of every non-system schema */
  tableMappings: z
    .array(SelectionRuleSchema)
    .min(1, 'needs at least one selection rule')
    .default([{ action: 'include', schema: '%', table: '%' }]),
  lob: z
    .strictObject({
      /**
       * limited: LOBs up to maxLobSizeKb (a larger value fails the task: the source endpoint sets
       * FailTasksOnLobTruncation); full: any size, slow; none: LOB columns skipped. DMS maps PostgreSQL's
       * text, json, jsonb, xml, arrays and hstore to NCLOB (2 bytes a character) and bytea to BLOB: size
       * maxLobSizeKb for the longest such value (DMS: "Using a PostgreSQL database as an AWS DMS
       * source", data types). @default 'limited'
       */
      mode: z.enum(['limited', 'full', 'none']).default('limited'),
      /** @default 32 */
      maxLobSizeKb: z.number().int().min(1).max(102_400).default(32),
    })
    .prefault({}),
  validation: z
    .strictObject({
      /** DMS data validation during the task. @default true */
      enabled: z.boolean().default(true),
      /** Validation threads. @default 5 */
      threadCount: z.number().int().min(1).max(32).default(5),
    })
    .prefault({}),
  /** Transformation rules, after the selection rules. @default [] */
  transformations: z.array(TransformationRuleSchema).default([]),
  /** Table-settings rules (parallel load, per-table LOB settings). @default [] */
  tableSettings: z.array(TableSettingsRuleSchema).default([]),
  /**
   * Replication tasks the migration is split into, for a database one task cannot load or keep up with
   * (DMS: "Best practices", using multiple tasks): the selected tables of `sourceCatalogFile` balanced by
   * size, each table in exactly one task (explicit selection rules), each task with a watermark table of
   * its own so that the cutover proves every task caught up. Needs a replication instance and a task
   * that loads (full-load-and-cdc or full-load). @default 1
   */
  shards: z.number().int().min(1).max(32).default(1),
  /**
   * Parallel load of the largest tables by key ranges (DMS table settings `parallel-load` of type
   * `ranges`): the `tables` largest of `sourceCatalogFile` with a single-column integer primary key are
   * cut into `segments` ranges of equal key width between the key's minimum and maximum the catalog
   * recorded. A table with a `parallelLoad` of its own in `tableSettings` keeps it. @default off
   */
  splitLargest: z
    .strictObject({
      tables: z.number().int().min(0).max(100).default(0),
      segments: z.number().int().min(2).max(49).default(4),
    })
    .prefault({}),
  /** Tables loaded at the same time in the full load (MaxFullLoadSubTasks). @default 8 */
  maxFullLoadSubTasks: z.number().int().min(1).max(49).default(8),
  /** Apply CDC changes in batches (BatchApplyEnabled); needs a primary key on every table. @default false */
  batchApply: z.boolean().default(false),
  /**
   * A catalog written by `dmskit catalog` (JSON): when given, filters and selections are checked against
   * the source's columns and partitions at synth time.
   */
  sourceCatalogFile: z.string().optional(),
  /**
   * Task settings beyond what dmskit decides (DMS: "Specifying task settings for AWS Database Migration
   * Service tasks"). @default the values below
   */
  settings: z
    .strictObject({
      /**
       * What the full load does to a target table first (FullLoadSettings.TargetTablePrepMode):
       * TRUNCATE_BEFORE_LOAD keeps the schema dmskit copied; DROP_AND_CREATE loses its indexes and
       * constraints; DO_NOTHING loads on top of rows already there. @default 'TRUNCATE_BEFORE_LOAD'
       */
      targetTablePrepMode: z
        .enum(['TRUNCATE_BEFORE_LOAD', 'DROP_AND_CREATE', 'DO_NOTHING'])
        .default('TRUNCATE_BEFORE_LOAD'),
      /** Create primary keys after the full load (FullLoadSettings.CreatePkAfterFullLoad). @default false */
      createPkAfterFullLoad: z.boolean().default(false),
      /** Stop after the full load, cached changes applied (StopTaskCachedChangesApplied). @default false */
      stopTaskCachedChangesApplied: z.boolean().default(false),
      /** Stop after the full load, before cached changes are applied. @default false */
      stopTaskCachedChangesNotApplied: z.boolean().default(false),
      /** Rows per full-load commit (FullLoadSettings.CommitRate, at most 50,000). @default 10000 */
      commitRate: z.number().int().min(1).max(50_000).default(10_000),
      /** KB per LOB chunk in full LOB mode (TargetMetadata.LobChunkSize). @default 64 */
      lobChunkSize: z.number().int().min(1).max(102_400).default(64),
      /** LOBs up to this many KB are sent inline (TargetMetadata.InlineLobMaxSize). @default 0 */
      inlineLobMaxSize: z.number().int().min(0).max(102_400).default(0),
      /** Schema of DMS's control tables on the target (ControlTablesSettings.ControlSchema). @default 'dmskit' */
      controlSchema: pgIdentifier.default('dmskit'),
      /** ChangeProcessingTuning (DMS: "Change processing tuning settings"). @default the values below */
      changeProcessing: z
        .strictObject({
          batchApplyTimeoutMin: z.number().int().min(1).default(1),
          batchApplyTimeoutMax: z.number().int().min(1).default(30),
          batchApplyMemoryLimit: z.number().int().min(1).default(500),
          batchSplitSize: z.number().int().min(0).default(0),
          minTransactionSize: z.number().int().min(1).default(1000),
          commitTimeout: z.number().int().min(1).default(1),
          memoryLimitTotal: z.number().int().min(1).default(1024),
          memoryKeepTime: z.number().int().min(1).default(60),
          statementCacheSize: z.number().int().min(1).default(50),
        })
        .prefault({}),
      /** ValidationSettings beyond task.validation (DMS: "Data validation task settings"). */
      validation: z
        .strictObject({
          failureMaxCount: z.number().int().min(0).default(10_000),
          tableFailureMaxCount: z.number().int().min(0).default(1000),
          handleCollationDiff: z.boolean().default(false),
          recordFailureDelayLimitInMinutes: z.number().int().min(0).default(0),
          validationQueryCdcDelaySeconds: z.number().int().min(0).max(10_800).default(0),
        })
        .prefault({}),
      /**
       * ErrorBehavior (DMS: "Error handling task settings"): what a row or a change that cannot be
       * written does. dmskit's defaults stop the task, so that nothing is silently skipped.
       */
      errors: z
        .strictObject({
          dataErrorPolicy: z
            .enum(['IGNORE_RECORD', 'LOG_ERROR', 'SUSPEND_TABLE', 'STOP_TASK'])
            .default('STOP_TASK'),
          dataTruncationErrorPolicy: z
            .enum(['IGNORE_RECORD', 'LOG_ERROR', 'SUSPEND_TABLE', 'STOP_TASK'])
            .default('STOP_TASK'),
          tableErrorPolicy: z.enum(['SUSPEND_TABLE', 'STOP_TASK']).default('SUSPEND_TABLE'),
          applyErrorDeletePolicy: z
            .enum(['IGNORE_RECORD', 'LOG_ERROR', 'SUSPEND_TABLE', 'STOP_TASK'])
            .default('STOP_TASK'),
          applyErrorInsertPolicy: z
            .enum(['IGNORE_RECORD', 'LOG_ERROR', 'SUSPEND_TABLE', 'STOP_TASK', 'INSERT_RECORD'])
            .default('STOP_TASK'),
          applyErrorUpdatePolicy: z
            .enum(['IGNORE_RECORD', 'LOG_ERROR', 'SUSPEND_TABLE', 'STOP_TASK', 'UPDATE_RECORD'])
            .default('STOP_TASK'),
          recoverableErrorCount: z.number().int().min(-1).default(-1),
          recoverableErrorInterval: z.number().int().min(1).default(5),
        })
        .prefault({}),
      /** Severity of every log component (Logging.LogComponents). @default 'LOGGER_SEVERITY_DEFAULT' */
      loggingSeverity: z
        .enum([
          'LOGGER_SEVERITY_ERROR',
          'LOGGER_SEVERITY_WARNING',
          'LOGGER_SEVERITY_INFO',
          'LOGGER_SEVERITY_DEFAULT',
          'LOGGER_SEVERITY_DEBUG',
          'LOGGER_SEVERITY_DETAILED_DEBUG',
        ])
        .default('LOGGER_SEVERITY_DEFAULT'),
    })
    .prefault({}),
  /** Days the task's CloudWatch log group keeps its logs. @default 30 */
  logRetentionDays: z
    .union(
      [
        1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
        3653,
      ].map((d) => z.literal(d)),
    )
    .default(30),
  /**
   * DMS Time Travel (DMS: "Time Travel task settings"): the task records the changes it applies in an S3
   * bucket encrypted with the migration's key, to troubleshoot CDC. @default off
   */
  timeTravel: z
    .strictObject({
      enabled: z.boolean().default(false),
      /** Days the bucket keeps the records. @default 7 */
      retentionDays: z.number().int().min(1).max(365).default(7),
    })
    .prefault({}),
});

export type SelectionRule = z.output<typeof SelectionRuleSchema>;

export type TransformationRule = z.output<typeof TransformationRuleSchema>;

/** A DMS data type of add-column and change-data-type. */
export type DmsDataType = z.output<typeof DmsDataTypeSchema>;

export type TableSettingsRule = z.output<typeof TableSettingsRuleSchema>;

export type TaskConfig = z.output<typeof TaskSchema>;

export type SourceFilter = z.output<typeof SourceFilterSchema>;
