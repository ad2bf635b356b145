import { readFileSync } from 'node:fs';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import {
  dmsSlotName,
  dmsTaskIds,
  type MigrationConfig,
  nativeObjectNames,
  selectTables,
  shardWatermarkTables,
  UsageError,
} from '@dmskit/shared';
import { closeQuietly, describeConnection, listTables, openConnection } from '@dmskit/validation';
import type pg from 'pg';
import { dmsCutoverEngine } from '../dms/engine.js';
import { resolveDmsSlots, usesNamedSlot } from '../dms/slot.js';
import { createDmsClient } from '../dms/task.js';
import { nativeCutoverEngine } from '../native/engine.js';
import type { NativeStartState } from '../native/start-state.js';
import type { CommandOutcome } from '../outcome.js';
import { parseConnectionUrl } from '../pg/url.js';
import {
  type CutoverResult,
  cutoverOrder,
  cutoverSettings,
  rollbackCutover,
  runCutover,
} from '../runbook/cutover.js';
import { createRoute53Client } from '../runbook/dns.js';
import type { CutoverEngine } from '../runbook/engine.js';
import { endFallback, fallbackEngine, fallbackNames, waitForFallback } from '../runbook/fallback.js';
import { fenceGap, fenceLimits, releaseFence, releaseSql } from '../runbook/fence.js';
import { assertSameServers, type MigrationServers, serverIdentity } from '../runbook/identity.js';
import { lockMigration } from '../runbook/lock.js';
import { validationRecordFile } from '../runbook/scope.js';
import { type CutoverState, fileStateStore } from '../runbook/state.js';
import { watermarkTableName } from '../runbook/watermark.js';
import { formatBytes, formatDuration } from '../ui/format.js';
import { loadConfigOption } from './config.js';
import { type EngineName, sourceUrlOf, statePaths, targetUrlOf } from './context.js';
import { withInterrupts } from './interrupts.js';
import { startStateStore } from './native.js';

export interface CutoverCommandOptions {
  readonly cwd: string;
  readonly config: string;
  readonly engine: EngineName;
  readonly sourceUrl?: string;
  readonly targetUrl?: string;
  readonly state?: string;
  readonly stateDir?: string;
  readonly dryRun?: boolean;
  readonly json?: boolean;
}

async function engineFor(
  name: EngineName,
  config: MigrationConfig,
  source: pg.Client,
  target: pg.Client | undefined,
  owned: NativeStartState['created'] | undefined,
): Promise<CutoverEngine> {
  if (name === 'native') return nativeCutoverEngine(source, target!, nativeObjectNames(config), owned);
  return dmsCutoverEngine({
    client: createDmsClient(config.aws.region),
    cloudwatch: new CloudWatchClient({ region: config.aws.region, retryMode: 'adaptive', maxAttempts: 8 }),
    config,
    source,
    ...(target ? { target } : {}),
    // The slots the tasks read: the stack's name for a CDC-only task, else the ones DMS created.
    slots: await resolveDmsSlots(source, config),
  });
}

/** The fence's SQL, as the dry run shows it. */
function fenceActions(config: MigrationConfig, database: string): string[] {
  const db = `"${database.replace(/"/g, '""')}"`;
  const c = config.cutover;
  const trigger = nativeObjectNames(config).fenceTrigger;
  const guard = [
    `source: the write guard: BEGIN; LOCK TABLE <every migrated table and its partitioned and inheritance parents> IN EXCLUSIVE MODE; CREATE TRIGGER ${trigger} ... BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE FOR EACH STATEMENT on each (refuses writes by any path: through a parent, COPY, TRUNCATE, ON CONFLICT, MERGE, functions); COMMIT`,
    'proof (new session): a write on every guarded table, in a read-write transaction rolled back, must be refused',
    `limits: it ${fenceLimits(c.fenceMethod)}`,
  ];
  if (c.fenceMethod === 'read-only')
    return [
      `source: ALTER DATABASE ${db} SET default_transaction_read_only = on`,
      'source: pg_terminate_backend() for every other client session of the database; wait until they are gone',
      ...guard,
      `release: ${releaseSql({ method: 'read-only', database, since: '', prior: null }).join(' ')} (or the prior value, read before the fence); DROP TRIGGER ${trigger} on each guarded table`,
    ];
  if (c.fenceMethod === 'revoke-login')
    return [
      `source: ALTER ROLE ... NOLOGIN for ${c.applicationRoles.join(', ')}; their sessions ended`,
      ...guard,
      `release: ALTER ROLE ... LOGIN for the roles that had it; DROP TRIGGER ${trigger} on each guarded table`,
    ];
  return [...guard, `release: DROP TRIGGER ${trigger} on each guarded table`];
}

/** The runbook with what each step would run, without connecting anywhere (`--dry-run`). */
export function cutoverDryRun(
  config: MigrationConfig,
  engine: EngineName,
  stateFile: string,
  sourceDatabase = config.source.database,
  /** Bytes of the tables in scope on the source, for the window estimate; unknown without a connection. */
  tableBytes?: number,
): string {
  const n = nativeObjectNames(config);
  const taskIds = dmsTaskIds(config).join(', ');
  const slot =
    engine === 'native'
      ? `slot ${n.slot}`
      : usesNamedSlot(config)
        ? `slot ${dmsSlotName(config)}`
        : 'the slot DMS created for the task';
  const many = engine === 'dms' && config.task.shards > 1;
  const watermark =
    engine === 'native'
      ? watermarkTableName(n.watermarkTable)
      : shardWatermarkTables(config).map(watermarkTableName).join(', ');
  const c = config.cutover;
  const actions: Record<string, string[]> = {
    preconditions: [
      ...(engine === 'native'
        ? [
            `target: pg_subscription_rel of ${n.subscription}: every table ready; subscription enabled, apply worker running`,
          ]
        : [
            `DMS: DescribeReplicationTasks ${taskIds}: running`,
            'DMS: DescribeTableStatistics: every table loaded, no validation failure',
            `CloudWatch: CDCLatencySource + CDCLatencyTarget <= ${c.maxLagSeconds} s`,
          ]),
      many
        ? `source: each of the ${config.task.shards} slots DMS created for the tasks: a walsender reads it, wal_status reserved or extended, lag <= ${c.maxLagSeconds} s and ${c.maxLagBytes} bytes`
        : `source: ${slot}: a walsender reads it, wal_status reserved or extended, lag <= ${c.maxLagSeconds} s and ${c.maxLagBytes} bytes`,
      'source: no prepared transaction (pg_prepared_xacts)',
      ...(engine === 'native'
        ? [
            `scope: every table the selection rules match on the source now is in ${n.publication} (tables created during CDC: dmskit scope --join), and every published table is still in scope`,
            `target: writes on every table in scope refused for everyone but the apply (trigger ${n.targetGuard}; put back when missing)`,
          ]
        : []),
      'schema: columns, types, keys, constraints, indexes and replica identity of every table in scope equal on both sides, and no table in scope on the target only (DDL during CDC: dmskit ddl)',
      ...(engine === 'dms'
        ? [
            "DDL: DMS captures the source's DDL itself (the endpoint's CaptureDdls event trigger and awsdms_ddl_audit table) and applies it as the task settings' ChangeProcessingDdlHandlingPolicy says (HandleSourceTableAltered, ...Dropped, ...Truncated); the schema check above still compares both sides, unless transformation rules rename them",
          ]
        : []),
      `replica identity: every table in scope has one, or is listed in cutover.insertOnlyTables${c.insertOnlyTables.length ? ` (${c.insertOnlyTables.map((t) => `${t.schema}.${t.table}`).join(', ')})` : ''}`,
      c.maxValidationAgeMinutes === null
        ? 'validation gate: off (cutover.maxValidationAgeMinutes: null)'
        : `validation gate: a clean validation of every table in scope at most ${c.maxValidationAgeMinutes} min old (dmskit validate --config, recorded in the state folder), else one run now; ranges still differing are re-checked with the table held still on the source until the target shows a watermark`,
      many
        ? `both: the watermark tables ${watermark} (one per task) exist and replicate`
        : `both: the watermark table ${watermark} exists and replicates`,
    ],
    fence: [
      'state file: the fence record (what it replaces) is saved before the source changes',
      ...fenceActions(config, sourceDatabase),
      'source: no prepared transaction; the fence proven in a new session',
    ],
    watermark: [
      `source: INSERT INTO ${watermark} (one token, one transaction); the WAL position after the commit`,
      `target: poll until ${many ? 'every table shows the row' : 'the row is there'} (at most ${c.lsnWaitTimeoutSeconds} s and within cutover.maxFenceSeconds = ${c.maxFenceSeconds} s); replication health checked meanwhile, a break releases the fence at once`,
    ],
    pause: c.pooler
      ? [
          `PgBouncer ${c.pooler.adminUrl.replace(/\/\/[^@]*@/, '//')}: PAUSE ${c.pooler.database} (clients' queries wait)`,
        ]
      : [],
    switch: [
      ...(c.applicationChecks.length
        ? [
            `target: as ${c.applicationChecks.map((x) => x.role).join(', ')}, each with its own password: its probe in a transaction rolled back (the target guard lets exactly that through); one failing cancels the cutover`,
          ]
        : []),
      ...(c.dns
        ? [
            `Route 53: ${c.dns.recordName} (private zone ${c.dns.zoneName}) CNAME -> the target's host, TTL ${c.dns.ttlSeconds} s; wait until INSYNC (pointed back at what it was by a failure before ready)`,
          ]
        : []),
      ...(c.pooler
        ? [
            `${c.pooler.iniFile}: [databases] ${c.pooler.database} = host, port and dbname of the target (a copy kept as .dmskit-before); RELOAD`,
          ]
        : []),
      ...(c.switchCommand
        ? [`sh -c ${JSON.stringify(c.switchCommand)} with DMSKIT_TARGET_HOST, _PORT, _DATABASE`]
        : []),
    ],
    fallback: c.fallback
      ? [
          `target (before the window): publication ${fallbackNames(n).publication} of the migrated tables and the watermark, slot ${fallbackNames(n).slot}`,
          "at ready (clients still held): the slot advanced to the target's current LSN",
          `old source (after ready): CREATE SUBSCRIPTION ${fallbackNames(n).subscription} on that slot, no copy, its origin at that LSN; dmskit rollback falls back, dmskit finish ends it`,
        ]
      : [],
    'stop-replication': [
      engine === 'native'
        ? `target: ALTER SUBSCRIPTION ${n.subscription} DISABLE`
        : `DMS: StopReplicationTask ${taskIds}; wait until stopped`,
    ],
    sequences: [
      'source: last_value, is_called of every sequence in scope',
      'target: SELECT setval(...) for each, in one transaction',
    ],
    ready: [
      ...(engine === 'native'
        ? [`target: the guard lets writes through (its function ${n.targetGuard} replaced: no table lock)`]
        : []),
      ...(c.pooler ? [`PgBouncer: RESUME ${c.pooler.database}: the held queries run on the target`] : []),
      'print the connection switch and the write-unavailability window; the source stays fenced',
      ...(c.finalValidation === 'after-ready'
        ? ['target: a snapshot exported at this moment, held for the final validation']
        : []),
    ],
    validation: [
      c.finalValidation === 'after-ready'
        ? 'both: schema and data by key ranges, source and target as they were at ready, from snapshots taken then (out of the window)'
        : 'both: schema diff and data by key ranges (dmskit validate); must be equal, inside the window',
    ],
    finish: [
      engine === 'native'
        ? `target: DROP SUBSCRIPTION ${n.subscription}, DROP TRIGGER ${n.targetGuard} on each table (the guard); source: DROP PUBLICATION ${n.publication}, ${n.insertOnlyPublication}, DROP EVENT TRIGGER ${n.ddlCapture}_end, ${n.ddlCapture}_drop and the DDL log; both: DROP TABLE ${watermark}`
        : `source: drop ${many ? `each of the ${config.task.shards} slots DMS created for the tasks` : slot}; both: DROP TABLE ${watermark}`,
    ],
  };
  const lines = [
    `Cutover runbook of ${config.name} (${config.environment}), engine ${engine}, fence ${c.fenceMethod}, final validation ${c.finalValidation}; state in ${stateFile}`,
    '',
  ];
  cutoverOrder({ ...c, fallback: c.fallback ? fallbackNames(nativeObjectNames(config)) : undefined }).forEach(
    (step, i) => {
      lines.push(`${i + 1}. ${step}`);
      for (const a of actions[step] ?? []) lines.push(`     ${a}`);
    },
  );
  lines.push('', ...windowEstimate(config, tableBytes));
  lines.push(
    '',
    'One run per migration at a time (an advisory lock on the source and a lock file). On any failure before ready: the fence is released, read back, and replication resumed. `dmskit rollback` does the same by hand.',
  );
  return `${lines.join('\n')}\n`;
}

/** The state file of the native start, whose record says which objects the migration created. */
async function ownedObjects(file: string): Promise<NativeStartState['created'] | undefined> {
  return (await startStateStore(file).load())?.created;
}

/**
 * Validation reads each side at about this many bytes of table per second on 2 cores (BENCHMARKS.md:
 * 10M rows in 5 s narrow, 24 s wide; the slower of the two, rounded down).
 */
const VALIDATION_BYTES_PER_SECOND = 90 * 1024 * 1024;
/** The window without validation, as `pnpm bench:cutover` measures it (p95 of both sizes, rounded up). */
const WINDOW_WITHOUT_VALIDATION_MS = 150;

/** The estimated window of each `cutover.finalValidation` choice, from the size of the tables in scope. */
export function windowEstimate(config: MigrationConfig, tableBytes?: number): string[] {
  const chosen = config.cutover.finalValidation;
  const head = 'Estimated write-unavailability window:';
  const after = `  after-ready${chosen === 'after-ready' ? ' (configured)' : ''}: about ${formatDuration(WINDOW_WITHOUT_VALIDATION_MS)} whatever the size (the final validation runs after ready)`;
  if (tableBytes === undefined)
    return [
      head,
      after,
      `  before-ready${chosen === 'before-ready' ? ' (configured)' : ''}: that plus the final validation; pass --source-url to estimate it from the size of the tables`,
      ...dnsEstimate(config),
    ];
  const validationMs = Math.round((tableBytes / VALIDATION_BYTES_PER_SECOND) * 1000);
  return [
    head,
    after,
    `  before-ready${chosen === 'before-ready' ? ' (configured)' : ''}: about ${formatDuration(WINDOW_WITHOUT_VALIDATION_MS + validationMs)} (validating ${formatBytes(tableBytes)} of tables at about ${formatBytes(VALIDATION_BYTES_PER_SECOND)}/s)`,
    ...dnsEstimate(config),
  ];
}

/**
 * What the DNS switch adds: Route 53 reports a change INSYNC in about 60 s or less (inside the window:
 * cutover.maxFenceSeconds must allow it), and clients follow within the record's TTL (after ready).
 */
function dnsEstimate(config: MigrationConfig): string[] {
  const dns = config.cutover.dns;
  if (!dns) return [];
  return [
    `  plus the DNS switch of ${dns.recordName}: up to about 60 s until Route 53 reports it INSYNC (inside the window; cutover.maxFenceSeconds is ${config.cutover.maxFenceSeconds}), then up to its TTL of ${dns.ttlSeconds} s until clients resolve the target`,
  ];
}

/** `cutover.dns` with a Route 53 client, for the runbook; nothing without it. */
function dnsOption(config: MigrationConfig) {
  return config.cutover.dns ? { dns: { ...config.cutover.dns, client: createRoute53Client() } } : {};
}

/** The bytes of the tables in scope, read from the source; undefined when it cannot be reached. */
async function scopeBytes(url: string, config: MigrationConfig): Promise<number | undefined> {
  const c = await openConnection(url, 'source', {
    applicationName: 'dmskit-dry-run',
    connectTimeoutMs: 5000,
  }).catch(() => undefined);
  if (!c) return undefined;
  try {
    const tables = selectTables(await listTables(c), config.task.tableMappings);
    return tables.reduce((sum, t) => sum + t.bytes, 0);
  } finally {
    await closeQuietly(c);
  }
}

/** The sessions and lock a cutover or rollback runs with, closed by `close`. */
async function session(o: Omit<CutoverCommandOptions, 'dryRun'>, needTarget: boolean) {
  const { config } = await loadConfigOption(o.config, o.cwd);
  const paths = statePaths(o, config);
  const stateFile = paths.cutover;
  const sourceUrl = sourceUrlOf(config, o.sourceUrl);
  const targetUrl = needTarget || o.engine === 'native' ? targetUrlOf(o.targetUrl) : undefined;
  const lock = await lockMigration({
    source: sourceUrl,
    migration: `${config.name}/${config.environment}`,
    file: `${stateFile}.lock`,
  });
  let source: pg.Client | undefined;
  let target: pg.Client | undefined;
  const close = async () => {
    await Promise.all([closeQuietly(source), closeQuietly(target)]);
    await lock.release();
  };
  try {
    source = await openConnection(sourceUrl, 'source', { applicationName: 'dmskit-control' });
    await source.query('SET default_transaction_read_only = off');
    if (targetUrl) target = await openConnection(targetUrl, 'target', { applicationName: 'dmskit-control' });
    const servers = target
      ? { source: await serverIdentity(source), target: await serverIdentity(target) }
      : undefined;
    if (servers && targetUrl) {
      // Records of servers since recreated at the same address are refused, never applied to these.
      const where = { source: describeConnection(sourceUrl), target: describeConnection(targetUrl) };
      const records: [string, { servers?: MigrationServers } | undefined][] = [
        [`the cutover state ${paths.cutover}`, await fileStateStore(paths.cutover).load()],
        [`the fall-back state ${paths.fallback}`, await fileStateStore(paths.fallback).load()],
        [
          `the start state ${paths.start}`,
          o.engine === 'native' ? await startStateStore(paths.start).load() : undefined,
        ],
      ];
      for (const [what, record] of records) assertSameServers(what, record?.servers, servers, where);
    }
    const owned = o.engine === 'native' ? await ownedObjects(paths.start) : undefined;
    const engine = await engineFor(o.engine, config, source, target, owned);
    return { config, stateFile, sourceUrl, targetUrl, source, target, engine, lock, close, servers };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * What a cutover quit at once (a second Ctrl-C) leaves, from its state file as last saved (write-ahead:
 * the fence's record is saved before the source changes): fenced, or not.
 */
function fenceLeftBehind(stateFile: string): string {
  let state: CutoverState | undefined;
  try {
    state = JSON.parse(readFileSync(stateFile, 'utf8')) as CutoverState;
  } catch {
    state = undefined;
  }
  if (!state?.fence || state.fenceReleased)
    return `the source was not fenced by this run; dmskit status shows the rest (state in ${stateFile})`;
  return `the source may be fenced (${state.fence.method}, planned ${state.fence.since}): dmskit status reads it back, dmskit rollback releases it (state in ${stateFile})`;
}

/**
 * `dmskit cutover`: the cutover runbook against the real servers, locked to one run per migration and
 * resumable from its state file; or, with `--dry-run`, the steps it would run.
 * @returns exit code 0 when the target is ready and the final validation equal, 1 when it is ready but
 *   the final validation (after ready) found differences
 */
export async function cutover(
  o: CutoverCommandOptions,
): Promise<CommandOutcome & { result?: CutoverResult }> {
  const { config } = await loadConfigOption(o.config, o.cwd);
  const stateFile = statePaths(o, config).cutover;
  if (o.dryRun) {
    const sourceDatabase = o.sourceUrl ? parseConnectionUrl(o.sourceUrl, '--source-url').database : undefined;
    const bytes = o.sourceUrl ? await scopeBytes(o.sourceUrl, config) : undefined;
    const text = cutoverDryRun(config, o.engine, stateFile, sourceDatabase, bytes);
    if (o.json) {
      const steps = text
        .split(/\n(?=\d+\. )/)
        .slice(1)
        .map((block) => {
          const [head = '', ...actions] = block.split('\n');
          return { step: head.replace(/^\d+\. /, ''), actions: actions.map((a) => a.trim()).filter(Boolean) };
        });
      process.stdout.write(`${JSON.stringify({ stateFile, tableBytes: bytes ?? null, steps }, null, 2)}\n`);
    } else process.stdout.write(text);
    return { exitCode: 0 };
  }
  const s = await session(o, true);
  try {
    const tables = selectTables(await listTables(s.source), config.task.tableMappings);
    const state = fileStateStore(stateFile);
    const result = await withInterrupts(
      (signal) =>
        runCutover({
          ...(s.servers ? { servers: s.servers } : {}),
          ...dnsOption(config),
          source: s.sourceUrl,
          target: s.targetUrl!,
          sourceControl: s.source,
          targetControl: s.target!,
          engine: s.engine,
          ...cutoverSettings(config),
          // DMS applied the task's transformation rules; the native engine refuses them.
          ...(o.engine === 'dms' ? { transformations: config.task.transformations } : {}),
          tables,
          exemptPids: [s.lock.pid],
          validationRecords: validationRecordFile(statePaths(o, config).validation),
          state,
          onStep: (step, detail) => process.stderr.write(`  ${step}: ${detail}\n`),
          signal,
        }),
      {
        what: 'the cutover was stopped',
        leftBehind: () => fenceLeftBehind(stateFile),
      },
    );
    const w = result.window;
    const { fence: _fence, ...printable } = result;
    const equal = !result.validation || result.validation.verdict === 'equal';
    // What is said about the source is read back now, not remembered from the fence step.
    const gap = await fenceGap(s.sourceUrl, result.fence);
    if (o.json) process.stdout.write(`${JSON.stringify(printable, null, 2)}\n`);
    else {
      process.stdout.write(
        [
          `Target ready${result.resumed ? ' (resumed cutover)' : ''}. ${
            config.cutover.pooler
              ? `PgBouncer's ${config.cutover.pooler.database} now points at ${describeConnection(s.targetUrl!)}: clients were paused, not disconnected.`
              : config.cutover.switchCommand
                ? `The switch command pointed clients at ${describeConnection(s.targetUrl!)}.`
                : `Switch the applications' connection strings from ${describeConnection(s.sourceUrl)} to ${describeConnection(s.targetUrl!)}.`
          }`,
          `Writes were unavailable for ${formatDuration(w.totalMs)}: ${config.cutover.pooler ? `pause ${formatDuration(w.pauseMs)}, ` : ''}fence ${formatDuration(w.fenceMs)}, watermark on the target ${formatDuration(w.watermarkMs)} (committed at ${result.fenceLsn}), stopping replication ${formatDuration(w.stopReplicationMs)}, sequences ${formatDuration(w.sequencesMs)} (${result.sequences.length})${config.cutover.pooler || config.cutover.switchCommand ? `, switch ${formatDuration(w.switchMs)}` : ''}${result.finalValidation === 'before-ready' ? `, final validation ${formatDuration(w.validationMs)}` : ''}.`,
          result.validation
            ? `Final validation (${result.finalValidation}): ${result.validation.verdict}${equal ? '' : ': dmskit validate names the rows'}.`
            : 'Final validation: run by the interrupted cutover.',
          gap
            ? `WARNING: the source is no longer fenced (${result.fenceMethod}): ${gap}; state in ${stateFile}.`
            : `The source stays fenced (${result.fenceMethod}: ${result.fenceProof}); state in ${stateFile}.`,
          '',
        ].join('\n'),
      );
    }
    return { exitCode: gap ? 2 : equal ? 0 : 1, result };
  } finally {
    await s.close();
  }
}

/**
 * A rollback after ready over a healthy fall-back path: the cutover runbook run the other way (PgBouncer
 * paused, the target fenced, a watermark from the target seen on the old source, the reverse
 * subscription stopped, sequences copied back, PgBouncer switched back, the old source unfenced, PgBouncer
 * resumed), resumable from its own state file.
 */
async function fallBack(
  o: Omit<CutoverCommandOptions, 'dryRun'>,
  s: Awaited<ReturnType<typeof session>>,
  forward: CutoverState,
): Promise<CommandOutcome> {
  const { config } = s;
  const names = fallbackNames(nativeObjectNames(config));
  const record = forward.fallback!;
  const forwardStore = fileStateStore(s.stateFile);
  const engine = fallbackEngine(s.source, s.target!, names, {
    sourceUrl: s.sourceUrl,
    targetUrl: s.targetUrl!,
    record,
  });
  const tables = selectTables(await listTables(s.target!), config.task.tableMappings);
  // Falling back is what an operator does under pressure: the scope and schema are checked, the
  // validation gate is not (its record is of the forward direction).
  const { fallback: _none, ...settings } = { ...cutoverSettings(config), maxValidationAgeMs: null };
  const result = await withInterrupts(
    (signal) =>
      runCutover({
        ...settings,
        ...(s.servers ? { servers: s.servers } : {}),
        ...dnsOption(config),
        source: s.targetUrl!,
        target: s.sourceUrl,
        sourceControl: s.target!,
        targetControl: s.source,
        engine,
        tables,
        state: fileStateStore(statePaths(o, config).fallback),
        beforeResume: async () => {
          if (forward.fence && !forward.fenceReleased) {
            const readBack = await releaseFence(s.sourceUrl, forward.fence);
            forward.fenceReleased = { at: new Date().toISOString(), readBack };
          }
          forward.status = 'rolled-back';
          await forwardStore.save(forward);
          return `the old source is unfenced (${forward.fenceReleased?.readBack ?? 'it was'})`;
        },
        onStep: (step, detail) => process.stderr.write(`  fall back, ${step}: ${detail}\n`),
        signal,
      }),
    {
      what: 'the fall back was stopped',
      leftBehind: () => 'run dmskit rollback again to finish falling back',
    },
  );
  await forwardStore.save({ ...forward, fallback: record });
  const w = result.window;
  process.stdout.write(
    [
      `Fell back to ${describeConnection(s.sourceUrl)}: every write made on the target reached it (watermark ${result.fenceLsn}); ${config.cutover.pooler ? 'PgBouncer points at it again' : `switch the applications' connection strings back to ${describeConnection(s.sourceUrl)}`}.`,
      `Writes were unavailable for ${formatDuration(w.totalMs)}. The target stays fenced (${result.fenceMethod}); the fall-back path is ended.`,
      result.validation ? `Final validation: ${result.validation.verdict}.` : '',
      '',
    ]
      .filter((l, i, a) => l || i === a.length - 1)
      .join('\n'),
  );
  return { exitCode: !result.validation || result.validation.verdict === 'equal' ? 0 : 1 };
}

/**
 * `dmskit rollback`: before ready, releases the fence of a cutover and resumes replication, read back;
 * after ready, falls back over the fall-back path, or with `--force` only unfences the old source.
 */
export async function rollback(
  o: Omit<CutoverCommandOptions, 'dryRun'> & { force?: boolean },
): Promise<CommandOutcome> {
  const { config } = await loadConfigOption(o.config, o.cwd);
  const forward = await fileStateStore(statePaths(o, config).cutover).load();
  const afterReady = Boolean(forward?.readyAt);
  const path = forward?.fallback && !forward.fallback.endedAt && forward.fallback.subscription;
  // The fall-back path's slot made before the fence lives on the target: dropping it needs the target.
  const s = await session(o, afterReady || Boolean(forward?.fallback?.slot));
  try {
    if (afterReady && path) {
      // A path just enabled (or reconnecting) may need a moment before it streams.
      const health = await waitForFallback(
        s.source,
        s.target!,
        fallbackNames(nativeObjectNames(config)),
        10_000,
      );
      const failedApplies = health.subscription.applyErrors - (forward!.fallback!.applyErrorsAtStart ?? 0);
      const problems = [
        ...health.problems,
        ...(failedApplies > 0
          ? [
              `the old source failed to apply ${failedApplies} change(s) from the target (its server log has the error)`,
            ]
          : []),
      ];
      if (!problems.length || !o.force) {
        if (problems.length)
          throw new UsageError(
            `the fall-back path is broken (${problems.join('; ')}): falling back would lose the writes made on the target since ${forward!.readyAt}; rollback --force unfences the old source anyway`,
          );
        return await fallBack(o, s, forward!);
      }
      await endFallback(
        s.sourceUrl,
        s.targetUrl!,
        fallbackNames(nativeObjectNames(config)),
        forward!.fallback!,
      );
    }
    const done = await rollbackCutover({
      source: s.sourceUrl,
      ...(s.targetUrl ? { target: s.targetUrl } : {}),
      engine: s.engine,
      state: fileStateStore(s.stateFile),
      ...(o.force ? { force: true } : {}),
    });
    for (const line of done.lines) process.stdout.write(`${line}\n`);
    return { exitCode: 0 };
  } finally {
    await s.close();
  }
}
