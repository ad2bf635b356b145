import { z } from 'zod';

/**
 * The typed config of one migration: one file describes one migration, and infra, ops-cli and validation
 * all read it. Fields are documented where they are declared; `@default` values are applied by the schema.
 * Nested objects use `prefault` so that their own defaults apply when the whole object is left out.
 */

const cidr = z.cidrv4({ error: 'must be an IPv4 CIDR block such as 10.0.0.0/16' });
/** PostgreSQL identifiers as dmskit creates them: lower case, no quoting needed, at most 63 bytes. */
const pgIdentifier = z
  .string()
  .regex(
    /^[a-z_][a-z0-9_]{0,62}$/,
    'must be a lower-case PostgreSQL identifier ([a-z_][a-z0-9_]*, at most 63)',
  );

/** Where a password comes from. It is never written into the config, a plan, a log line or a report. */
export const PasswordSourceSchema = z.discriminatedUnion('from', [
  z.object({
    from: z.literal('env'),
    /** Name of the environment variable that holds the password. */
    variable: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name (A-Z, 0-9, _)'),
  }),
  z.object({
    from: z.literal('secrets-manager'),
    /** ARN of an existing Secrets Manager secret with `username` and `password` keys (the DMS secret layout). */
    secretArn: z
      .string()
      .regex(
        /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/,
        'must be a Secrets Manager secret ARN',
      ),
  }),
]);

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;

export const VpnConnectivitySchema = z.object({
  type: z.literal('vpn'),
  /** Public IPv4 address of the on-prem VPN device (the customer gateway). */
  customerGatewayIp: z.ipv4({ error: 'must be an IPv4 address' }),
  /** BGP ASN of the customer gateway. @default 65000 */
  bgpAsn: z.number().int().min(1).max(4_294_967_294).default(65000),
  /** Static routes to `onPremCidrs` instead of BGP. @default false */
  staticRoutesOnly: z.boolean().default(false),
  /** Attach to an existing transit gateway instead of creating a virtual private gateway. */
  transitGatewayId: z
    .string()
    .regex(/^tgw-[0-9a-f]{8,17}$/, 'must be a transit gateway id (tgw-...)')
    .optional(),
});

export const DirectConnectConnectivitySchema = z.object({
  type: z.literal('direct-connect'),
  /** Id of an existing Direct Connect gateway. */
  directConnectGatewayId: z.string().regex(/^[0-9a-f-]{36}$/, 'must be a Direct Connect gateway id (a UUID)'),
  /** Prefixes advertised to on-prem through the association. @default the VPC CIDR */
  allowedPrefixes: z.array(cidr).optional(),
  /** Associate through an existing transit gateway instead of a virtual private gateway. */
  transitGatewayId: z
    .string()
    .regex(/^tgw-[0-9a-f]{8,17}$/, 'must be a transit gateway id (tgw-...)')
    .optional(),
});

export const NetworkSchema = z
  .object({
    /** @default '10.60.0.0/16' */
    vpcCidr: cidr.default('10.60.0.0/16'),
    /** At least two, so that the DB and replication subnet groups span two AZs. */
    availabilityZones: z
      .array(
        z
          .string()
          .regex(/^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$/, 'must be an availability zone name such as eu-west-1a'),
      )
      .min(2, 'needs at least two availability zones'),
    /** On-prem networks that hold the source and the applications. */
    onPremCidrs: z.array(cidr).min(1, 'needs at least one on-prem CIDR'),
    /** How the VPC reaches on-prem; not needed with `existingVpc`, whose routes to on-prem already exist. */
    connectivity: z
      .discriminatedUnion('type', [VpnConnectivitySchema, DirectConnectConnectivitySchema])
      .optional(),
    /**
     * Land in a VPC the platform team already runs (its routes to on-prem in place) instead of creating
     * one: no VPC, subnets, gateways or interface endpoints are created. `vpcCidr` must be that VPC's CIDR
     * (security group rules use it).
     */
    existingVpc: z
      .object({
        vpcId: z.string().regex(/^vpc-[0-9a-f]{8,17}$/, 'must be a VPC id (vpc-...)'),
        /** Private subnets in two or more availability zones, for Aurora and DMS. */
        privateSubnetIds: z
          .array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, 'must be a subnet id (subnet-...)'))
          .min(2, 'needs private subnets in at least two availability zones'),
      })
      .optional(),
    /** Interface endpoints for Secrets Manager and CloudWatch Logs, so nothing needs a NAT gateway. @default true */
    interfaceEndpoints: z.boolean().default(true),
    /**
     * The on-prem DNS: a Route 53 Resolver outbound endpoint in the private subnets forwards queries for
     * `domain` to `serverIps`, so that DMS in the VPC resolves a source named by an on-prem host name (and
     * `verify-full` checks that name). Needed when `source.host` is a dotted host name.
     */
    onPremDns: z
      .object({
        /** The on-prem domain, e.g. `corp.example`. */
        domain: z
          .string()
          .regex(
            /^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}$/i,
            'must be a DNS domain such as corp.example',
          ),
        /** The on-prem DNS servers (IPv4, inside network.onPremCidrs). */
        serverIps: z
          .array(z.ipv4({ error: 'must be an IPv4 address' }))
          .min(1)
          .max(6),
      })
      .optional(),
  })
  .refine((n) => n?.connectivity !== undefined || n?.existingVpc !== undefined, {
    path: ['connectivity'],
    message:
      'is needed (a VPN or Direct Connect to on-prem) unless network.existingVpc names a VPC that has its routes already',
    // Checked even when other fields are invalid, so the whole list of problems comes at once.
    when: () => true,
  });

export const SourceSchema = z.object({
  /** Host name or IP of the on-prem PostgreSQL server, as the replication instance reaches it. */
  host: z.string().min(1),
  /** @default 5432 */
  port: z.number().int().min(1).max(65535).default(5432),
  database: z.string().min(1),
  user: z.string().min(1),
  /** @default { from: 'env', variable: 'DMSKIT_SOURCE_PASSWORD' } */
  password: PasswordSourceSchema.default({ from: 'env', variable: 'DMSKIT_SOURCE_PASSWORD' }),
  /** libpq `sslmode` the endpoint uses. @default 'verify-full' */
  sslmode: z.enum(SSL_MODES).default('verify-full'),
  /** PEM file of the CA that signed the source's server certificate (needed by verify-ca and verify-full). */
  caCertificateFile: z.string().optional(),
  /** Major version of the source server, if known; checked against the target's. */
  majorVersion: z.number().int().min(10).max(30).optional(),
  /**
   * DMS source endpoint settings (DMS API reference: "PostgreSQLSettings"; DMS: "Endpoint settings when
   * using PostgreSQL as a DMS source"). @default the values below
   */
  dms: z
    .object({
      /** Schema of DMS's heartbeat table on the source. @default DMS's own (public) */
      heartbeatSchema: pgIdentifier.optional(),
      /** Capture DDL in a DMS table on the source (dmskit copies the schema itself). @default false */
      captureDdls: z.boolean().default(false),
      /** jsonb migrated as a CLOB instead of NCLOB. @default false */
      mapJsonbAsClob: z.boolean().default(false),
      /** How varchar without a length (and text) is typed: wstring, clob or nclob. @default 'wstring' */
      mapLongVarcharAs: z.enum(['wstring', 'clob', 'nclob']).default('wstring'),
      /** Client statement timeout on the source, in seconds. @default 60 */
      executeTimeout: z.number().int().min(1).max(86_400).default(60),
    })
    .prefault({}),
});

export const TargetSchema = z.object({
  /** Aurora PostgreSQL engine version. @default '16.4' */
  engineVersion: z
    .string()
    .regex(/^\d+\.\d+$/, 'must be a version such as 16.4')
    .default('16.4'),
  /** @default 'db.r6g.large' */
  instanceClass: z
    .string()
    .regex(/^db\.[a-z0-9]+\.[a-z0-9]+$/, 'must be a DB instance class such as db.r6g.large')
    .default('db.r6g.large'),
  /** Writer plus readers. @default 2 */
  instanceCount: z.number().int().min(1).max(16).default(2),
  /** Database created on the cluster. @default the source database name */
  databaseName: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_]{0,62}$/, 'must be a database name')
    .optional(),
  /** @default 'dmskit_admin' */
  masterUsername: pgIdentifier.default('dmskit_admin'),
  /** CIDRs of applications allowed to reach the cluster on 5432. @default [] */
  appCidrs: z.array(cidr).default([]),
  /** Extra cluster parameters (name -> value), merged over the ones a migration target needs. @default {} */
  parameters: z.record(z.string(), z.string()).default({}),
  /** @default true */
  deletionProtection: z.boolean().default(true),
  /** @default 7 */
  backupRetentionDays: z.number().int().min(1).max(35).default(7),
});

export const ReplicationInstanceSchema = z.object({
  /** @default 'dms.r6i.large' */
  class: z
    .string()
    .regex(/^dms\.[a-z0-9]+\.[a-z0-9]+$/, 'must be a replication instance class such as dms.r6i.large')
    .default('dms.r6i.large'),
  /** Storage for logs and cached changes, in GB. @default 100 */
  allocatedStorageGb: z.number().int().min(5).max(6144).default(100),
  /** @default true */
  multiAz: z.boolean().default(true),
  /** DMS engine version. @default '3.5.4' */
  engineVersion: z
    .string()
    .regex(/^\d+\.\d+\.\d+$/, 'must be a DMS engine version such as 3.5.4')
    .default('3.5.4'),
  /** DMS Serverless (a replication config) instead of a replication instance and task. */
  serverless: z
    .object({
      minCapacityUnits: z.number().int().min(1).max(384),
      maxCapacityUnits: z.number().int().min(2).max(384),
    })
    .optional(),
  /**
   * `PostgreSQLSettings.PluginName` of the source endpoint, with the values the DMS API reference gives:
   * `no-preference` (DMS uses pglogical when the extension is on the source, else test_decoding),
   * `pglogical` (needs the pglogical extension on the source) or `test-decoding`. @default 'no-preference'
   */
  plugin: z.enum(['no-preference', 'pglogical', 'test-decoding']).default('no-preference'),
});

/** A row filter of a selection rule (DMS: "Using source filters"). */
export const SourceFilterSchema = z.object({
  column: z.string().min(1),
  conditions: z
    .array(
      z.discriminatedUnion('operator', [
        z.object({ operator: z.enum(['eq', 'ste', 'lte', 'gte', 'noteq']), value: z.string() }),
        z.object({ operator: z.enum(['between', 'notbetween']), start: z.string(), end: z.string() }),
        z.object({ operator: z.enum(['null', 'notnull']) }),
      ]),
    )
    .min(1),
});

/**
 * A selection rule (DMS: "Selection rules and actions"): `schema` and `table` take DMS's wildcards.
 * A table is migrated when an include (or explicit) rule matches it and no exclude rule does. `explicit`
 * selects exactly the named table, wildcard characters taken literally.
 */
export const SelectionRuleSchema = z.object({
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
export const DmsDataTypeSchema = z.object({
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

/** A transformation rule (DMS: "Transformation rules and actions"), on a schema, table or column. */
export const TransformationRuleSchema = z.object({
  /** Optional explicit name; must be unique across all rules. */
  name: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 characters of A-Z, a-z, 0-9, _ and -')
    .optional(),
  target: z.enum(['schema', 'table', 'column']),
  action: z.enum([
    'rename',
    'convert-lowercase',
    'convert-uppercase',
    'add-prefix',
    'remove-prefix',
    'replace-prefix',
    'add-suffix',
    'remove-suffix',
    'replace-suffix',
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
  primaryKey: z.object({ name: z.string().min(1), columns: z.array(z.string().min(1)).min(1) }).optional(),
});

/** A table-settings rule (DMS: "Table and collection settings rules and operations"). */
export const TableSettingsRuleSchema = z.object({
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
      z.object({ type: z.literal('partitions-auto') }),
      z.object({ type: z.literal('partitions-list'), partitions: z.array(z.string().min(1)).min(1) }),
      z.object({
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
    .object({
      mode: z.enum(['limited', 'full', 'none']),
      maxLobSizeKb: z.number().int().min(1).max(102_400).optional(),
    })
    .optional(),
});

export const TaskSchema = z.object({
  /** @default 'full-load-and-cdc' */
  migrationType: z.enum(['full-load', 'full-load-and-cdc', 'cdc']).default('full-load-and-cdc'),
  /** Selection rules. @default every table of every non-system schema */
  tableMappings: z
    .array(SelectionRuleSchema)
    .min(1, 'needs at least one selection rule')
    .default([{ action: 'include', schema: '%', table: '%' }]),
  lob: z
    .object({
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
    .object({
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
    .object({
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
    .object({
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
        .object({
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
        .object({
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
        .object({
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
    .object({
      enabled: z.boolean().default(false),
      /** Days the bucket keeps the records. @default 7 */
      retentionDays: z.number().int().min(1).max(365).default(7),
    })
    .prefault({}),
});

export const FENCE_METHODS = ['read-only', 'lock-tables', 'revoke-login'] as const;

/** A connection pooler that the cutover pauses, repoints at the target and resumes (PgBouncer). */
export const PoolerSchema = z.object({
  type: z.literal('pgbouncer'),
  /**
   * The admin console, `postgres://admin@host:6432/pgbouncer` (a user in PgBouncer's `admin_users`; a
   * password in the URL is never printed).
   */
  adminUrl: z
    .string()
    .regex(/^postgres(ql)?:\/\/.+\/pgbouncer(\?.*)?$/, 'must be a postgres:// URL of the database pgbouncer'),
  /** The database name clients use, an entry of `[databases]` in the ini file. */
  database: z.string().min(1),
  /** The ini file dmskit repoints (path on the machine running dmskit, relative to the working directory). */
  iniFile: z.string().min(1),
});

export const CutoverSchema = z.object({
  /** Lag (seconds) under which writes may be fenced. @default 5 */
  maxLagSeconds: z.number().min(0).max(3600).default(5),
  /**
   * Lag in bytes (the source's WAL position minus the slot's confirmed LSN) under which writes may be
   * fenced. @default 67108864 (64 MiB)
   */
  maxLagBytes: z
    .number()
    .int()
    .min(0)
    .default(64 * 1024 * 1024),
  /**
   * How writes on the source are stopped (README: "Fence methods"; each keeps the source fenced after
   * dmskit exits). Every method also puts the write guard on each table in scope and its partitioned and
   * inheritance parents: statement triggers that refuse INSERT, UPDATE, DELETE and TRUNCATE by any path
   * and any role; only a superuser (`session_replication_role = replica`) or a table owner who drops the
   * trigger gets past it.
   * - read-only: `default_transaction_read_only = on` on the database and every other session ended; a
   *   session that asks for read-write meets the write guard.
   * - lock-tables: the write guard alone.
   * - revoke-login: the roles in `applicationRoles` lose LOGIN and their sessions are ended; any other
   *   role meets the write guard.
   * @default 'read-only'
   */
  fenceMethod: z.enum(FENCE_METHODS).default('read-only'),
  /** The application's roles, which the revoke-login fence locks out. @default [] */
  applicationRoles: z.array(z.string().min(1)).default([]),
  /** How long to wait for the replication slot to confirm the fence LSN, in seconds. @default 300 */
  lsnWaitTimeoutSeconds: z.number().int().min(1).max(86_400).default(300),
  /**
   * The longest the source may stay fenced before the target is ready, in seconds: past it the fence is
   * released and the cutover fails. @default 30
   */
  maxFenceSeconds: z.number().min(1).max(3600).default(30),
  /**
   * When the final validation runs: after the target is declared ready (out of the write-unavailability
   * window; the fenced source against the target's snapshot taken at ready), or before, inside the window
   * (a difference then cancels the cutover). @default 'after-ready'
   */
  finalValidation: z.enum(['after-ready', 'before-ready']).default('after-ready'),
  /**
   * The pooler clients reach the source through: paused before the fence (clients' queries wait), pointed
   * at the target and resumed at ready, so clients see a pause and no error. Needs transaction pooling.
   */
  pooler: PoolerSchema.optional(),
  /**
   * A shell command run at the switch, right before ready, with DMSKIT_TARGET_HOST, DMSKIT_TARGET_PORT and
   * DMSKIT_TARGET_DATABASE in its environment (another pooler, a DNS record); a non-zero exit cancels the
   * cutover.
   */
  switchCommand: z.string().min(1).optional(),
  /**
   * The DNS name the applications connect to (a CNAME in a Route 53 private hosted zone the stack creates,
   * pointing at `source.host` over the VPN resolver path before the cutover): at the switch, right before
   * ready, it is pointed at the Aurora writer endpoint (ChangeResourceRecordSets, waited for INSYNC), and
   * back at the source by a rollback. Clients see the change after at most `ttlSeconds` more: the window
   * estimate counts it.
   */
  dns: z
    .object({
      /** The private hosted zone, e.g. `db.corp.internal`. */
      zoneName: z
        .string()
        .regex(/^([a-z0-9-]+\.)+[a-z0-9-]+\.?$/, 'must be a DNS zone name such as db.corp.internal'),
      /** The record the applications use, in that zone, e.g. `shop.db.corp.internal`. */
      recordName: z
        .string()
        .regex(/^([a-z0-9-]+\.)+[a-z0-9-]+\.?$/, 'must be a DNS name such as shop.db.corp.internal'),
      /** The record's TTL, seconds. @default 30 */
      ttlSeconds: z.number().int().min(1).max(86_400).default(30),
    })
    .strict()
    .optional(),
  /**
   * Fall back without loss: at ready, PostgreSQL logical replication from the target back to the old
   * source starts (no copy), so `dmskit rollback` after ready loses no write made on the target, until
   * `dmskit finish` ends it. Needs wal_level = logical on the target (Aurora: rds.logical_replication = 1).
   * @default true
   */
  fallback: z.boolean().default(true),
  /** `dmskit status` warns when the fall-back path is older than this (its slot retains WAL). @default 7 */
  fallbackMaxAgeDays: z.number().min(0).default(7),
  /**
   * Tables without a primary key or replica identity that are insert-only on purpose (an audit log): their
   * UPDATE and DELETE cannot be replicated (PostgreSQL: "Logical Replication > Publication"; DMS likewise),
   * so the cutover refuses any other such table. `schema` and `table` take DMS's wildcards (`%`, `_`).
   * @default []
   */
  insertOnlyTables: z
    .array(z.object({ schema: z.string().min(1), table: z.string().min(1) }).strict())
    .default([]),
  /**
   * The validation gate: the cutover fences only after a clean validation of every table in scope at most
   * this many minutes old, recorded by `dmskit validate --config` or by an earlier cutover; without one,
   * the cutover runs it itself before the fence (differing ranges re-checked exactly: the table briefly
   * locked against writes on the source until the target shows a watermark). null turns the gate off.
   * @default 60
   */
  maxValidationAgeMinutes: z.number().min(0).max(525_600).nullable().default(60),
  /**
   * Probes of the application on the target, run by the cutover after the watermark and before ready: each
   * logs in as `role` with the password in the environment variable `passwordVariable` and runs `sql` in a
   * transaction that is rolled back (a read and a write, say); one that fails cancels the cutover (the
   * fence is released, as for any failure before ready), naming the role and the error. @default []
   */
  applicationChecks: z
    .array(
      z
        .object({
          role: z.string().min(1),
          passwordVariable: z
            .string()
            .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'),
          sql: z.string().min(1),
        })
        .strict(),
    )
    .default([]),
});

/**
 * The native engine's full load (`dmskit start --engine native`, the rehearsal): parallel COPY from the
 * replication slot's snapshot, then post-data.
 */
export const FullLoadSchema = z.object({
  /**
   * Workers copying at once, and pg_restore jobs building indexes and constraints (`--jobs` overrides).
   * @default the number of cores of the machine running dmskit, at least 2
   */
  jobs: z.number().int().min(1).max(64).optional(),
  /**
   * Size of the parts (ctid block ranges) a large table is split into, in MiB, so that one table keeps
   * every worker busy. @default a third of one worker's share of the data, at least 32
   */
  chunkMb: z.number().min(0.1).max(1_048_576).optional(),
  /** `maintenance_work_mem` of each session building indexes, in MiB. @default 256 */
  maintenanceWorkMemMb: z.number().int().min(1).max(65_536).default(256),
});

/** Where Terraform keeps this stack's state (S3, locked). */
export const StateSchema = z.object({
  /** S3 bucket of the state; one key per migration and environment. */
  bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name'),
  /** @default 'dmskit' */
  keyPrefix: z.string().default('dmskit'),
  /** @default the migration's region */
  region: z.string().optional(),
  /** DynamoDB table for locking; without it, S3's own lock file is used (Terraform 1.10+). */
  lockTable: z.string().optional(),
});

/** A policy check waived for this migration, with the reason a reviewer reads in the plan summary. */
export const PolicyWaiverSchema = z.object({
  id: z.string().regex(/^DMSKIT-[A-Z]+-\d{3}$/, 'must be a policy id such as DMSKIT-NET-001'),
  reason: z.string().min(10, 'must say why, in at least 10 characters'),
});

export const MigrationConfigSchema = z
  .object({
    /** Lower-case name, used in every resource name and tag. */
    name: z
      .string()
      .regex(
        /^[a-z][a-z0-9-]{1,30}[a-z0-9]$/,
        'must be 3-32 characters of a-z, 0-9 and -, starting with a letter',
      ),
    /** @default 'dev' */
    environment: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,15}$/, 'must be a-z, 0-9 and -, at most 16')
      .default('dev'),
    /** Tags on every AWS resource, after the ones dmskit sets. @default {} */
    tags: z.record(z.string().min(1).max(128), z.string().max(256)).default({}),
    aws: z
      .object({
        /** @default 'us-east-1' */
        region: z
          .string()
          .regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'must be an AWS region such as eu-west-1')
          .default('us-east-1'),
        /**
         * The account the stack deploys into (12 digits): key policies and trust conditions name it.
         * @default the account of the credentials that plan (offline: a placeholder)
         */
        accountId: z
          .string()
          .regex(/^\d{12}$/, 'must be the 12-digit AWS account id')
          .optional(),
      })
      .prefault({}),
    network: NetworkSchema,
    /** Encryption at rest. @default a customer-managed key created for the migration */
    encryption: z
      .object({
        /**
         * Use this KMS key instead of creating one. Its policy must let the account's IAM policies use it
         * and let `cloudwatch.amazonaws.com` and `dms.amazonaws.com` use kms:Decrypt and
         * kms:GenerateDataKey* (they publish to the alarm topic the key encrypts).
         */
        existingKmsKeyArn: z
          .string()
          .regex(
            /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/,
            'must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)',
          )
          .optional(),
      })
      .default({}),
    source: SourceSchema,
    target: TargetSchema.prefault({}),
    replicationInstance: ReplicationInstanceSchema.prefault({}),
    task: TaskSchema.prefault({}),
    cutover: CutoverSchema.prefault({}),
    fullLoad: FullLoadSchema.prefault({}),
    /** Terraform state. @default local state (for trying things out only) */
    state: StateSchema.optional(),
    /** Alarm notifications go to this e-mail address (an SNS subscription), if given. */
    alarmEmail: z.email().optional(),
    /** Policy checks waived, each with a reason. @default [] */
    policyWaivers: z.array(PolicyWaiverSchema).default([]),
  })
  .superRefine((cfg, ctx) => {
    const zones = cfg.network.availabilityZones;
    zones.forEach((zone, i) => {
      if (!zone.startsWith(cfg.aws.region)) {
        ctx.addIssue({
          code: 'custom',
          path: ['network', 'availabilityZones', i],
          message: `is not in region ${cfg.aws.region}`,
        });
      }
      if (zones.indexOf(zone) !== i) {
        ctx.addIssue({
          code: 'custom',
          path: ['network', 'availabilityZones', i],
          message: `repeats ${zone}`,
        });
      }
    });
    if (cfg.network.connectivity && cfg.network.existingVpc) {
      ctx.addIssue({
        code: 'custom',
        path: ['network', 'connectivity'],
        message:
          "cannot be created in network.existingVpc: its routes to on-prem are the VPC owner's; leave connectivity out",
      });
    }
    const appDns = cfg.cutover.dns;
    if (
      appDns &&
      !`.${appDns.recordName.replace(/\.$/, '')}`.endsWith(`.${appDns.zoneName.replace(/\.$/, '')}`)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['cutover', 'dns', 'recordName'],
        message: `is not in the zone ${appDns.zoneName}`,
      });
    }
    const host = cfg.source.host;
    const dns = cfg.network.onPremDns;
    if (/[a-z]/i.test(host) && host.includes('.') && !dns) {
      ctx.addIssue({
        code: 'custom',
        path: ['network', 'onPremDns'],
        message: `is needed: source.host ${host} is a name, which DMS in the VPC resolves only through a forwarding rule to the on-prem DNS servers`,
      });
    }
    if (dns && /[a-z]/i.test(host) && !`.${host.toLowerCase()}`.endsWith(`.${dns.domain.toLowerCase()}`)) {
      ctx.addIssue({
        code: 'custom',
        path: ['network', 'onPremDns', 'domain'],
        message: `does not cover source.host ${host}`,
      });
    }
    dns?.serverIps.forEach((ip, i) => {
      if (!cfg.network.onPremCidrs.some((c) => cidrsOverlap(`${ip}/32`, c))) {
        ctx.addIssue({
          code: 'custom',
          path: ['network', 'onPremDns', 'serverIps', i],
          message: `${ip} is in none of network.onPremCidrs: the VPC has no route to it`,
        });
      }
    });
    cfg.network.onPremCidrs.forEach((c, i) => {
      if (cidrsOverlap(c, cfg.network.vpcCidr)) {
        ctx.addIssue({
          code: 'custom',
          path: ['network', 'onPremCidrs', i],
          message: `overlaps the VPC CIDR ${cfg.network.vpcCidr}`,
        });
      }
    });
    const prefix = Number(cfg.network.vpcCidr.split('/')[1]);
    if (prefix > 24) {
      ctx.addIssue({
        code: 'custom',
        path: ['network', 'vpcCidr'],
        message: 'must be /24 or larger to hold one subnet per availability zone',
      });
    }
    if (cfg.cutover.fenceMethod === 'revoke-login' && cfg.cutover.applicationRoles.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['cutover', 'applicationRoles'],
        message: "must name the application's roles when fenceMethod is 'revoke-login'",
      });
    }
    if (cfg.task.shards > 1 && cfg.replicationInstance.serverless)
      ctx.addIssue({
        code: 'custom',
        path: ['task', 'shards'],
        message:
          'is for replication instances: DMS Serverless scales the capacity of one replication instead',
      });
    if (cfg.task.shards > 1 && cfg.task.migrationType === 'cdc')
      ctx.addIssue({
        code: 'custom',
        path: ['task', 'shards'],
        message:
          'needs a task that loads (full-load-and-cdc or full-load): a CDC-only task starts at one slot of its own',
      });
    if ((cfg.task.shards > 1 || cfg.task.splitLargest.tables > 0) && !cfg.task.sourceCatalogFile)
      ctx.addIssue({
        code: 'custom',
        path: ['task', 'sourceCatalogFile'],
        message:
          "is needed to balance task.shards and split task.splitLargest by the tables' sizes and keys: run dmskit catalog --out <file>",
      });
    const major = Number(cfg.target.engineVersion.split('.')[0]);
    if (cfg.source.majorVersion !== undefined && major < cfg.source.majorVersion) {
      ctx.addIssue({
        code: 'custom',
        path: ['target', 'engineVersion'],
        message: `major ${major} is older than the source's ${cfg.source.majorVersion}; the target must be at least as new`,
      });
    }
  });

/** What a config file holds (defaults not yet applied). */
export type MigrationConfigInput = z.input<typeof MigrationConfigSchema>;
/** A parsed config, every default applied. */
export type MigrationConfig = z.output<typeof MigrationConfigSchema>;
export type SelectionRule = z.output<typeof SelectionRuleSchema>;
export type TransformationRule = z.output<typeof TransformationRuleSchema>;
/** A DMS data type of add-column and change-data-type. */
export type DmsDataType = z.output<typeof DmsDataTypeSchema>;
export type TableSettingsRule = z.output<typeof TableSettingsRuleSchema>;
export type TaskConfig = z.output<typeof TaskSchema>;
export type SourceFilter = z.output<typeof SourceFilterSchema>;
export type PasswordSource = z.output<typeof PasswordSourceSchema>;
export type FenceMethod = (typeof FENCE_METHODS)[number];
export type PoolerConfig = z.output<typeof PoolerSchema>;

/** Whether two IPv4 CIDR blocks share an address. */
export function cidrsOverlap(a: string, b: string): boolean {
  const range = (c: string): [number, number] => {
    const [ip = '0.0.0.0', bits = '32'] = c.split('/');
    const n = ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
    const size = 2 ** (32 - Number(bits));
    const start = Math.floor(n / size) * size;
    return [start, start + size - 1];
  };
  const [a0, a1] = range(a);
  const [b0, b1] = range(b);
  return a0 <= b1 && b0 <= a1;
}
