import type { TaskConfig } from '../config.js';

/** The DMS log components dmskit turns on, at default severity (DMS: "Logging task settings"). */
export const LOG_COMPONENTS = [
  'TRANSFORMATION',
  'SOURCE_UNLOAD',
  'IO',
  'TARGET_LOAD',
  'PERFORMANCE',
  'SOURCE_CAPTURE',
  'SORTER',
  'REST_SERVER',
  'VALIDATOR_EXT',
  'TARGET_APPLY',
  'TASK_MANAGER',
  'TABLES_MANAGER',
  'METADATA_MANAGER',
  'FILE_FACTORY',
  'COMMON',
  'ADDONS',
  'DATA_STRUCTURE',
  'COMMUNICATION',
  'FILE_TRANSFER',
] as const;

/**
 * The replication task settings document (DMS: "Specifying task settings for AWS Database Migration
 * Service tasks"): TargetMetadata (LOB modes), FullLoadSettings (TargetTablePrepMode TRUNCATE_BEFORE_LOAD:
 * dmskit pre-creates the schema with pg_dump, and a reload empties the table first), ChangeProcessingTuning, ValidationSettings, Logging, ErrorBehavior.
 * It leaves out what DMS fills in itself (Logging.CloudWatchLogGroup and CloudWatchLogStream), which
 * would otherwise show as a change on every `terraform plan`. Stable: same config, same bytes.
 */
export function taskSettingsJson(
  task: TaskConfig,
  /** Where Time Travel writes (the stack's bucket, role and key) when `task.timeTravel.enabled`. */
  timeTravel?: { bucketName: string; serviceAccessRoleArn: string; kmsKeyArn: string },
): string {
  const lob = task.lob;
  const cp = task.settings.changeProcessing;
  const vs = task.settings.validation;
  const eb = task.settings.errors;
  const settings = {
    TargetMetadata: {
      TargetSchema: '',
      SupportLobs: lob.mode !== 'none',
      FullLobMode: lob.mode === 'full',
      LobChunkSize: task.settings.lobChunkSize,
      LimitedSizeLobMode: lob.mode === 'limited',
      LobMaxSize: lob.mode === 'limited' ? lob.maxLobSizeKb : 0,
      InlineLobMaxSize: task.settings.inlineLobMaxSize,
      LoadMaxFileSize: 0,
      ParallelLoadThreads: 0,
      ParallelLoadBufferSize: 0,
      BatchApplyEnabled: task.batchApply,
      TaskRecoveryTableEnabled: false,
    },
    FullLoadSettings: {
      // The schema dmskit pre-created stays; a reload-table or a restarted full load empties each table
      // first instead of loading on top of its rows (DMS: "Full-load task settings").
      TargetTablePrepMode: task.settings.targetTablePrepMode,
      CreatePkAfterFullLoad: task.settings.createPkAfterFullLoad,
      StopTaskCachedChangesApplied: task.settings.stopTaskCachedChangesApplied,
      StopTaskCachedChangesNotApplied: task.settings.stopTaskCachedChangesNotApplied,
      MaxFullLoadSubTasks: task.maxFullLoadSubTasks,
      TransactionConsistencyTimeout: 600,
      CommitRate: task.settings.commitRate,
    },
    // DMS's control tables (awsdms_apply_exceptions, ...) in dmskit's schema, not among the migrated
    // tables of the target's public schema (DMS: "Control table task settings").
    ControlTablesSettings: {
      ControlSchema: task.settings.controlSchema,
      HistoryTimeslotInMinutes: 5,
      HistoryTableEnabled: false,
      SuspendedTablesTableEnabled: false,
      StatusTableEnabled: false,
      FullLoadExceptionTableEnabled: false,
    },
    Logging: {
      EnableLogging: true,
      LogComponents: LOG_COMPONENTS.map((Id) => ({ Id, Severity: task.settings.loggingSeverity })),
    },
    ChangeProcessingDdlHandlingPolicy: {
      HandleSourceTableDropped: true,
      HandleSourceTableTruncated: true,
      HandleSourceTableAltered: true,
    },
    ChangeProcessingTuning: {
      BatchApplyPreserveTransaction: true,
      BatchApplyTimeoutMin: cp.batchApplyTimeoutMin,
      BatchApplyTimeoutMax: cp.batchApplyTimeoutMax,
      BatchApplyMemoryLimit: cp.batchApplyMemoryLimit,
      BatchSplitSize: cp.batchSplitSize,
      MinTransactionSize: cp.minTransactionSize,
      CommitTimeout: cp.commitTimeout,
      MemoryLimitTotal: cp.memoryLimitTotal,
      MemoryKeepTime: cp.memoryKeepTime,
      StatementCacheSize: cp.statementCacheSize,
    },
    ValidationSettings: {
      EnableValidation: task.validation.enabled,
      // No ValidationMode: from engine 3.5.4 DMS sets GROUP_LEVEL itself where the path supports it, else
      // ROW_LEVEL (DMS: "Data validation task settings"). A value written here would differ from what DMS
      // keeps, a diff on every plan that the review would read as stopping CDC.
      ThreadCount: task.validation.threadCount,
      FailureMaxCount: vs.failureMaxCount,
      TableFailureMaxCount: vs.tableFailureMaxCount,
      HandleCollationDiff: vs.handleCollationDiff,
      ValidationOnly: false,
      RecordFailureDelayLimitInMinutes: vs.recordFailureDelayLimitInMinutes,
      SkipLobColumns: false,
      ValidationPartialLobSize: 0,
      ValidationQueryCdcDelaySeconds: vs.validationQueryCdcDelaySeconds,
    },
    ErrorBehavior: {
      // A row that cannot be written stops the task: logged and skipped, it would be a row lost
      // (DMS: "Error handling task settings").
      DataErrorPolicy: eb.dataErrorPolicy,
      DataTruncationErrorPolicy: eb.dataTruncationErrorPolicy,
      DataErrorEscalationPolicy: 'SUSPEND_TABLE',
      DataErrorEscalationCount: 0,
      TableErrorPolicy: eb.tableErrorPolicy,
      TableErrorEscalationPolicy: 'STOP_TASK',
      TableErrorEscalationCount: 0,
      RecoverableErrorCount: eb.recoverableErrorCount,
      RecoverableErrorInterval: eb.recoverableErrorInterval,
      RecoverableErrorThrottling: true,
      RecoverableErrorThrottlingMax: 1800,
      // A change that does not apply (a duplicate insert, an update or delete of a missing row) means
      // the target has drifted from the source: stop, so the operator sees it, instead of logging forever.
      ApplyErrorDeletePolicy: eb.applyErrorDeletePolicy,
      ApplyErrorInsertPolicy: eb.applyErrorInsertPolicy,
      ApplyErrorUpdatePolicy: eb.applyErrorUpdatePolicy,
      ApplyErrorEscalationPolicy: 'STOP_TASK',
      ApplyErrorEscalationCount: 0,
      FullLoadIgnoreConflicts: true,
      FailOnTransactionConsistencyBreached: false,
      FailOnNoTablesCaptured: true,
    },
  };
  if (task.timeTravel.enabled && timeTravel)
    Object.assign(settings, {
      TTSettings: {
        EnableTT: true,
        TTS3Settings: {
          EncryptionMode: 'SSE_KMS',
          ServerSideEncryptionKmsKeyId: timeTravel.kmsKeyArn,
          ServiceAccessRoleArn: timeTravel.serviceAccessRoleArn,
          BucketName: timeTravel.bucketName,
          BucketFolder: 'time-travel',
          EnableDeletingFromS3OnTaskDelete: false,
        },
        TTRecordSettings: {
          EnableRawData: true,
          OperationsToLog: 'ALL',
          MaxRecordSize: 64,
        },
      },
    });
  return JSON.stringify(settings);
}
