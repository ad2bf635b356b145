import { spawn } from 'node:child_process';
import { copyFile } from 'node:fs/promises';
import path from 'node:path';
import { ExternalError } from '@dmskit/shared';
import {
  type ComparisonResult,
  closeQuietly,
  compareDatabases,
  describeConnection,
  openConnection,
} from '@dmskit/validation';
import type pg from 'pg';
import { subscriptionConninfo } from '../pg/url.js';
import {
  type PoolerAdmin,
  pausePooler,
  poolerAdmin,
  reloadPooler,
  repointIniFile,
  resumePooler,
  type SwitchTarget,
} from '../pooler/pgbouncer.js';
import { refreshMaterializedViews } from '../schema/matviews.js';
import { schemasOf } from '../schema/roles.js';
import { formatDuration } from '../ui/format.js';
import { sleep } from '../util/time.js';
import { assertCheckPasswords, checkToken, runApplicationChecks } from './app-checks.js';
import type { CutoverOptions, CutoverResult, CutoverWindow } from './cutover-types.js';
import { currentTarget, findPrivateZone, pointRecord } from './dns.js';
import {
  dropFallbackObjects,
  markFallbackStart,
  prepareFallback,
  startFallback,
  waitForFallback,
} from './fallback.js';
import { faultPoint } from './faults.js';
import {
  applyFence,
  assertNoPreparedTransactions,
  enforceFence,
  guardedTables,
  planFence,
  preparedTransactions,
  proveFence,
} from './fence.js';
import { checkScope, validationRecord } from './scope.js';
import { copySequences, type SequenceCopy } from './sequences.js';
import { slotHealth } from './slot-health.js';
import type { CutoverState, CutoverStep } from './state.js';
import { commitWatermark, dropWatermarkTable, waitForWatermark } from './watermark.js';

/** What the steps of one run share: the options, the state (saved by `save`), and what they found. */
export interface StepContext {
  readonly options: CutoverOptions;
  readonly state: CutoverState;
  readonly save: () => Promise<void>;
  readonly resumed: boolean;
  sessionsEnded?: number;
  fenceProof?: string;
  sequences?: SequenceCopy[];
  validation?: ComparisonResult;
  /**
   * A target session opened before the window; at ready it exports the snapshot the final validation
   * reads, and holds it until the comparison ends.
   */
  targetSnapshot?: pg.Client;
  /**
   * The same on the source: at ready it is fenced, but the fall-back path then applies the application's
   * writes on the target into it, so the comparison reads it as it was at ready too.
   */
  sourceSnapshot?: pg.Client;
  /** Its backend pid: the fence must not end it. */
  sourceSnapshotPid?: number;
  sourceSnapshotId?: string;
  /** The pooler's admin session, opened before the window. */
  poolerAdmin?: PoolerAdmin;
  snapshotId?: string;
  /** Builds the result once every step is done. */
  result?: () => CutoverResult;
}

/** One step: does its work (idempotent), reads its effect back, returns a line for the operator. */
type Step = (ctx: StepContext) => Promise<string>;

async function controlPid(ctx: StepContext): Promise<number[]> {
  const { pid } = (await ctx.options.sourceControl.query('SELECT pg_backend_pid() AS pid')).rows[0] as {
    pid: number;
  };
  return [pid, ...(ctx.sourceSnapshotPid ? [ctx.sourceSnapshotPid] : []), ...(ctx.options.exemptPids ?? [])];
}

/** When writes stopped: the pooler's PAUSE, else the fence (ISO), or undefined before either. */
function windowStart(state: CutoverState): string | undefined {
  return state.pooler?.pausedAt ?? state.fenceStartedAt;
}

/** Time left (ms) before writes have been stopped for `maxFenceMs`. @throws ExternalError when none is left */
function fenceTimeLeft(ctx: StepContext): number {
  const start = windowStart(ctx.state);
  const started = start ? Date.parse(start) : Date.now();
  const left = ctx.options.maxFenceMs - (Date.now() - started);
  if (left <= 0)
    throw new ExternalError(
      `the source has been fenced for longer than cutover.maxFenceSeconds (${ctx.options.maxFenceMs / 1000} s)`,
    );
  return left;
}

const preconditions: Step = async (ctx) => {
  const { options } = ctx;
  const r = await options.engine.readiness();
  const problems = [...r.problems];
  if (!r.fullLoadComplete) problems.push('the full load is not complete');
  if (r.lagSeconds === null) problems.push('the lag in seconds is unknown (no walsender reads the slot)');
  else if (r.lagSeconds > options.maxLagSeconds)
    problems.push(
      `lag is ${r.lagSeconds.toFixed(1)} s, over cutover.maxLagSeconds = ${options.maxLagSeconds}`,
    );
  if (r.slot.lagBytes > options.maxLagBytes)
    problems.push(`lag is ${r.slot.lagBytes} bytes, over cutover.maxLagBytes = ${options.maxLagBytes}`);
  if (r.validationFailures.length) problems.push(`validation failed for ${r.validationFailures.join(', ')}`);
  // What the watermark cannot prove: scope, schema, replica identity, nothing skipped (scope.ts). With
  // replication broken, what the catalogs say is often why (a column added on the source only).
  const scopeOptions = {
    source: options.source,
    target: options.target,
    sourceControl: options.sourceControl,
    targetControl: options.targetControl,
    engine: options.engine,
    selection: options.selection,
    insertOnly: options.insertOnlyTables ?? [],
    ...(options.transformations ? { transformations: options.transformations } : {}),
    maxValidationAgeMs: options.maxValidationAgeMs ?? null,
    ...(options.validationRecords ? { validationRecords: options.validationRecords } : {}),
    where: { source: describeConnection(options.source), target: describeConnection(options.target) },
    ...(options.signal ? { signal: options.signal } : {}),
  };
  if (problems.length) {
    const found = await checkScope(scopeOptions, true).catch(() => ({ problems: [] as string[] }));
    throw new ExternalError([...problems, ...found.problems].join('; '));
  }
  assertCheckPasswords(options.applicationChecks ?? []);
  if (options.dns && !ctx.state.dns) {
    // The zone is found (by name) and what the record points at read before anything changes.
    const zoneId = await findPrivateZone(options.dns.client, options.dns.zoneName);
    ctx.state.dns = { zoneId, before: await currentTarget(options.dns.client, zoneId, options.dns) };
    await ctx.save();
  }
  await assertNoPreparedTransactions(options.sourceControl, 'cannot fence');
  await options.engine.prepareWatermark();
  const scope = await checkScope(scopeOptions);
  if (scope.problems.length) throw new ExternalError(scope.problems.join('; '));
  // The fence's write guard needs the TRIGGER privilege on every table and parent: known before it.
  await guardedTables(options.sourceControl, { tables: options.tables, trigger: options.fenceTrigger });
  if (options.fallback) {
    ctx.state.fallback ??= { publications: [] };
    await prepareFallback(
      options.targetControl,
      options.fallback,
      options.tables.map((t) => ({ ...t, hasReplicaIdentity: t.hasReplicaIdentity ?? true })),
      ctx.state.fallback,
      ctx.save,
      {
        server: options.target,
        signal: options.signal,
        say: (line) => options.onStep?.('preconditions', line),
      },
    );
  }
  await openBeforeWindow(ctx);
  const caughtUp = await catchUp(
    options.sourceControl,
    options.engine.slots ?? [options.engine.slot],
    options.signal,
  );
  const warn = r.warnings.length ? `; warning: ${r.warnings.join('; ')}` : '';
  return `full load complete, lag ${r.lagSeconds!.toFixed(2)} s and ${caughtUp} bytes, slot ${r.slot.slot} ${r.slot.walStatus}, no validation failure; ${scope.lines.join('; ')}${warn}`;
};

/** The byte lag under which writes are stopped at once: the watermark then arrives in a few ms. */
const CAUGHT_UP_BYTES = 64 * 1024;

/**
 * Right before writes stop: waits (at most `maxMs`, polling every 20 ms) for a moment when the slot is
 * nearly caught up, so the fence does not fall in a burst of lag that the watermark would then wait out
 * while writes are unavailable. Changes nothing; the lag limits were checked already.
 * @returns the byte lag when it stopped waiting
 */
async function catchUp(
  source: pg.Client,
  slots: readonly string[],
  signal?: AbortSignal,
  maxMs = 3000,
): Promise<number> {
  const deadline = Date.now() + maxMs;
  for (;;) {
    let lagBytes = 0;
    for (const slot of slots) lagBytes = Math.max(lagBytes, (await slotHealth(source, slot)).lagBytes);
    if (lagBytes <= CAUGHT_UP_BYTES || Date.now() > deadline) return lagBytes;
    await sleep(20, signal);
  }
}

/**
 * Opens, before writes stop, the sessions the window will need (the target session that exports the
 * snapshot at ready, PgBouncer's admin console), so the window does not pay for their logins; a pooler
 * that cannot be reached stops the cutover here, before anything changed.
 */
export async function openBeforeWindow(ctx: StepContext): Promise<void> {
  const { options } = ctx;
  if (options.pooler && !ctx.poolerAdmin) {
    ctx.poolerAdmin = poolerAdmin(options.pooler.adminUrl);
    await ctx.poolerAdmin.run('SHOW VERSION');
  }
  if (options.finalValidation === 'after-ready' && !ctx.targetSnapshot)
    ctx.targetSnapshot = await openConnection(options.target, 'target', {
      applicationName: 'dmskit-snapshot',
    });
  if (options.finalValidation === 'after-ready' && !ctx.sourceSnapshot) {
    ctx.sourceSnapshot = await openConnection(options.source, 'source', {
      applicationName: 'dmskit-snapshot',
    });
    ctx.sourceSnapshotPid = (
      (await ctx.sourceSnapshot.query('SELECT pg_backend_pid() AS pid')).rows[0] as { pid: number }
    ).pid;
  }
}

const fence: Step = async (ctx) => {
  const { options, state } = ctx;
  if (!state.fence) {
    // Write-ahead: what the fence replaces is read once and saved before the source changes.
    state.fence = await planFence(options.sourceControl, {
      method: options.fenceMethod,
      tables: options.tables,
      roles: options.applicationRoles,
      trigger: options.fenceTrigger,
    });
    state.fenceStartedAt = new Date().toISOString();
    await ctx.save();
    await faultPoint('fence:planned', options.signal);
  }
  const { sessionsEnded } = await applyFence(options.sourceControl, state.fence, await controlPid(ctx));
  const gids = await preparedTransactions(options.sourceControl);
  if (gids.length)
    throw new ExternalError(
      `prepared transaction(s) ${gids.join(', ')} appeared while fencing; they could commit past the fence`,
    );
  ctx.sessionsEnded = sessionsEnded;
  ctx.fenceProof = await proveFence(options.source, state.fence);
  return `writes fenced (${state.fence.method}), ${sessionsEnded} session(s) ended; proven in a new session: ${ctx.fenceProof}`;
};

const watermark: Step = async (ctx) => {
  const { options, state } = ctx;
  const exempt = await controlPid(ctx);
  const before = await options.engine.health();
  if (before.problems.length) throw new ExternalError(`replication is broken: ${before.problems.join('; ')}`);
  if (!state.watermark) {
    state.watermark = await commitWatermark(
      options.sourceControl,
      options.engine.watermarkTables ?? options.engine.watermarkTable,
      `cutover of ${options.migration} at ${new Date().toISOString()}`,
    );
    await ctx.save();
    await faultPoint('watermark:committed', options.signal);
  }
  const { token, lsn } = state.watermark;
  const check = async () => {
    const h = await options.engine.health();
    if (h.problems.length)
      throw new ExternalError(`replication broke while the source was fenced: ${h.problems.join('; ')}`);
    if (h.applyErrors > before.applyErrors)
      throw new ExternalError(
        `the target failed to apply a change while the source was fenced (apply errors ${before.applyErrors} -> ${h.applyErrors}; the target's log has the error)`,
      );
    const ended = await enforceFence(options.sourceControl, state.fence!, exempt);
    if (ended) ctx.sessionsEnded = (ctx.sessionsEnded ?? 0) + ended;
  };
  const tables = options.engine.watermarkTables ?? options.engine.watermarkTable;
  const seenMs = await waitForWatermark(options.targetControl, tables, token, {
    timeoutMs: Math.min(options.lsnWaitTimeoutMs, fenceTimeLeft(ctx)),
    check,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  // A session that wrote through the fence after the watermark would be lost: none may be left.
  await check();
  state.watermark = { token, lsn, seenMs };
  return `watermark committed at ${lsn} reached the target in ${formatDuration(seenMs)}: every write before the fence is on the target`;
};

const stopReplication: Step = async (ctx) => {
  fenceTimeLeft(ctx);
  await ctx.options.engine.stopReplication();
  return `replication stopped (${ctx.options.engine.name})`;
};

const sequences: Step = async (ctx) => {
  fenceTimeLeft(ctx);
  ctx.sequences = await copySequences(
    ctx.options.sourceControl,
    ctx.options.targetControl,
    ctx.options.selection,
    ctx.options.transformations,
  );
  ctx.state.sequences = ctx.sequences.length;
  return `${ctx.sequences.length} sequence value(s) copied`;
};

function windowOf(state: CutoverState, validationInside: boolean): CutoverWindow {
  const ms = (s: CutoverStep) => state.steps[s]?.ms ?? 0;
  return {
    totalMs: Date.parse(state.readyAt!) - Date.parse(windowStart(state)!),
    pauseMs: ms('pause'),
    fenceMs: ms('fence'),
    watermarkMs: state.watermark?.seenMs ?? ms('watermark'),
    stopReplicationMs: ms('stop-replication'),
    sequencesMs: ms('sequences'),
    switchMs: ms('switch'),
    validationMs: validationInside ? ms('validation') : 0,
  };
}

const ready: Step = async (ctx) => {
  const { options, state } = ctx;
  fenceTimeLeft(ctx);
  if (options.finalValidation === 'after-ready') {
    // The target as it is at ready, held for the final validation: later application writes do not count.
    ctx.targetSnapshot ??= await openConnection(options.target, 'target', {
      applicationName: 'dmskit-snapshot',
    });
    const c = ctx.targetSnapshot;
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    ctx.snapshotId = ((await c.query('SELECT pg_export_snapshot() AS id')).rows[0] as { id: string }).id;
    // The source as it is at ready: fenced, and not yet written by the fall-back path (it starts after).
    const s = ctx.sourceSnapshot;
    if (s) {
      await s.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      ctx.sourceSnapshotId = (
        (await s.query('SELECT pg_export_snapshot() AS id')).rows[0] as { id: string }
      ).id;
    }
  }
  if (options.fallback && state.fallback && !state.fallback.startLsn) {
    // Clients are still held: no application write has reached the target yet.
    state.fallback.startLsn = await markFallbackStart(options.targetControl, options.fallback.slot);
  }
  // The target takes the application's writes from here: its guard lets them through (no table lock).
  await options.engine.openTarget?.();
  const released = options.beforeResume ? await options.beforeResume() : undefined;
  state.status = 'ready';
  await ctx.save();
  let resumeError: unknown;
  if (options.pooler) {
    // Clients' held queries now run on the target.
    await resumePooler(ctx.poolerAdmin!, options.pooler.database).then(
      () => {
        state.pooler = { ...state.pooler, resumed: true };
      },
      (error) => {
        resumeError = error;
      },
    );
  }
  state.readyAt = new Date().toISOString();
  const w = windowOf(state, options.finalValidation === 'before-ready');
  state.window = { ...w };
  await ctx.save();
  if (resumeError)
    throw new ExternalError(
      `the target is ready, but PgBouncer did not resume ${options.pooler!.database} (${(resumeError as Error).message}): run RESUME ${options.pooler!.database} on its admin console`,
    );
  return `target ready${options.pooler ? ', PgBouncer resumed on it' : ''}${released ? `; ${released}` : ''}; writes were unavailable for ${formatDuration(w.totalMs)}`;
};

const pause: Step = async (ctx) => {
  const { options, state } = ctx;
  const pooler = options.pooler!;
  state.pooler = { ...state.pooler, pausedAt: state.pooler?.pausedAt ?? new Date().toISOString() };
  await ctx.save();
  await pausePooler(ctx.poolerAdmin!, pooler.database);
  return `PgBouncer paused ${pooler.database}: clients' queries wait, none fails`;
};

function switchTarget(options: CutoverOptions): SwitchTarget {
  const t = options.target;
  if (typeof t === 'string') {
    const u = new URL(t);
    return {
      host: u.hostname,
      port: Number(u.port || 5432),
      database: decodeURIComponent(u.pathname.slice(1)),
    };
  }
  return { host: t.host ?? 'localhost', port: t.port ?? 5432, database: t.database ?? '' };
}

const switchStep: Step = async (ctx) => {
  const { options, state } = ctx;
  fenceTimeLeft(ctx);
  const target = switchTarget(options);
  const done: string[] = [];
  if (options.applicationChecks?.length) {
    // Before clients reach the target: the application's own roles, logged in with their own passwords.
    const token = checkToken();
    await options.engine.probeTarget?.(token);
    try {
      const passed = await runApplicationChecks(options.target, options.applicationChecks, {
        token,
        timeoutMs: Math.min(5000, fenceTimeLeft(ctx)),
      });
      done.push(`application checks passed: ${passed.join(', ')}`);
    } finally {
      await options.engine.closeTarget?.();
    }
  }
  if (options.dns && state.dns) {
    // Write-ahead: a change submitted but not yet INSYNC when the fence runs out is pointed back too.
    state.dns.switched = true;
    await ctx.save();
    const moved = await pointRecord(options.dns.client, state.dns.zoneId, options.dns, target.host, {
      timeoutMs: fenceTimeLeft(ctx),
      comment: `dmskit cutover of ${options.migration}`,
    });
    done.push(
      `${options.dns.recordName} points at ${target.host} (INSYNC in ${formatDuration(moved.ms)}; resolvers follow within its TTL of ${options.dns.ttlSeconds} s)`,
    );
  }
  if (options.pooler) {
    const ini = path.resolve(options.pooler.iniFile);
    if (!state.pooler?.iniBackup) {
      const backup = `${ini}.dmskit-before`;
      await copyFile(ini, backup);
      state.pooler = { ...state.pooler, iniBackup: backup };
      await ctx.save();
    }
    await repointIniFile(ini, options.pooler.database, target);
    state.pooler = { ...state.pooler, switched: true };
    await ctx.save();
    await reloadPooler(ctx.poolerAdmin!);
    done.push(
      `PgBouncer's ${options.pooler.database} points at ${target.host}:${target.port}/${target.database} (still paused)`,
    );
  }
  if (options.switchCommand) {
    await runSwitchCommand(options.switchCommand, target, fenceTimeLeft(ctx));
    done.push('the switch command succeeded');
  }
  return done.join('; ');
};

/** Runs the switch command with the target in its environment. @throws ExternalError on a non-zero exit */
function runSwitchCommand(command: string, target: SwitchTarget, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], {
      env: {
        ...process.env,
        DMSKIT_TARGET_HOST: target.host,
        DMSKIT_TARGET_PORT: String(target.port),
        DMSKIT_TARGET_DATABASE: target.database,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: timeoutMs,
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr = `${stderr}${d}`.slice(-500);
    });
    child.on('error', (e) => reject(new ExternalError(`cutover.switchCommand: ${e.message}`)));
    child.on('close', (code, signal) =>
      code === 0
        ? resolve()
        : reject(
            new ExternalError(
              `cutover.switchCommand exited ${code ?? signal}${stderr.trim() ? `: ${stderr.trim().split('\n').at(-1)}` : ''}`,
            ),
          ),
    );
  });
}

/**
 * Before ready: drops what the preconditions created of the fall-back path (the slot would retain the
 * target's WAL). @returns what was done, for the failure's message
 */
export async function undoFallback(ctx: StepContext): Promise<string> {
  const record = ctx.state.fallback;
  if (!record || (!record.slot && !record.publications.length)) return '';
  try {
    await dropFallbackObjects(ctx.options.target, record);
    return '';
  } catch (error) {
    return `; the fall-back path's slot ${record.slot ?? ''} on the target could not be dropped (${(error as Error).message}): run dmskit abandon`;
  }
}

/**
 * Before ready, after the fence was released: puts the pooler's ini back and resumes it on the source.
 * @returns what was done, to add to the failure's message
 */
/** A failure before ready after the DNS switch: the record points at what it did before, INSYNC. */
export async function undoDns(ctx: StepContext): Promise<string> {
  const { options, state } = ctx;
  if (!options.dns || !state.dns?.switched) return '';
  const back = state.dns.before ?? switchTarget({ ...options, target: options.source }).host;
  try {
    await pointRecord(options.dns.client, state.dns.zoneId, options.dns, back, {
      timeoutMs: 120_000,
      comment: `dmskit: cutover of ${options.migration} undone`,
    });
    state.dns.switched = false;
    return `; ${options.dns.recordName} points at ${back} again`;
  } catch (error) {
    return `; ${options.dns.recordName} could not be pointed back at ${back} (${(error as Error).message}): change it by hand`;
  }
}

export async function undoPooler(ctx: StepContext): Promise<string> {
  const { options, state } = ctx;
  if (!options.pooler || !state.pooler?.pausedAt || state.pooler.resumed) return '';
  const out: string[] = [];
  try {
    if (state.pooler.switched && state.pooler.iniBackup) {
      await copyFile(state.pooler.iniBackup, path.resolve(options.pooler.iniFile));
      await reloadPooler(ctx.poolerAdmin!);
      state.pooler.switched = false;
      out.push('PgBouncer points at the source again');
    }
    await resumePooler(ctx.poolerAdmin!, options.pooler.database);
    state.pooler.resumed = true;
    out.push(`PgBouncer resumed ${options.pooler.database} on the source`);
  } catch (error) {
    out.push(
      `PgBouncer could not be resumed on the source (${(error as Error).message}): restore ${state.pooler.iniBackup ?? options.pooler.iniFile}, RELOAD and RESUME ${options.pooler.database} by hand`,
    );
  }
  return `; ${out.join('; ')}`;
}

function validationSummary(v: ComparisonResult): string {
  const bad = v.tables
    .filter((x) => x.status !== 'equal')
    .map((x) => `${x.table.schema}.${x.table.table}: ${x.reasons.join('; ')}`);
  const schema = (v.schema ?? []).map((d) => `${d.kind} ${d.object} ${d.difference}`);
  return [...bad, ...schema].slice(0, 5).join(' | ');
}

const validation: Step = async (ctx) => {
  const { options, state } = ctx;
  const afterReady = options.finalValidation === 'after-ready';
  if (!afterReady) fenceTimeLeft(ctx);
  const v = await compareDatabases({
    source: options.source,
    target: options.target,
    selection: options.selection,
    ...(options.transformations?.length ? { transformations: options.transformations } : {}),
    ...(ctx.snapshotId ? { targetSnapshot: ctx.snapshotId } : {}),
    ...(ctx.sourceSnapshotId ? { sourceSnapshot: ctx.sourceSnapshotId } : {}),
  });
  await Promise.all([closeQuietly(ctx.targetSnapshot), closeQuietly(ctx.sourceSnapshot)]);
  ctx.targetSnapshot = undefined;
  ctx.sourceSnapshot = undefined;
  ctx.validation = v;
  const where = afterReady
    ? ctx.snapshotId
      ? 'both sides as they were at ready (snapshots taken then)'
      : 'the fenced source against the live target (the snapshot at ready was lost with the interrupted run)'
    : 'inside the window';
  state.validation = { verdict: v.verdict, at: new Date().toISOString(), summary: validationSummary(v) };
  await options.validationRecords
    ?.save(
      validationRecord(v, 'cutover', {
        source: describeConnection(options.source),
        target: describeConnection(options.target),
      }),
    )
    .catch(() => undefined);
  if (v.verdict !== 'equal' && !afterReady)
    throw new ExternalError(`final validation is ${v.verdict}: ${validationSummary(v)}`);
  return v.verdict === 'equal'
    ? `final validation equal over ${v.tables.length} table(s) (${where})`
    : `final validation is ${v.verdict} (${where}): ${validationSummary(v)}`;
};

/**
 * After ready: the subscription on the old source that follows the target from the ready moment (the
 * fall-back path), until `dmskit finish` or a rollback.
 */
const fallback: Step = async (ctx) => {
  const { options, state } = ctx;
  const names = options.fallback!;
  const record = state.fallback!;
  record.subscription = names.subscription;
  await ctx.save();
  await startFallback(options.sourceControl, names, {
    conninfo: await conninfoOf(options.target),
    publications: record.publications,
    startLsn: record.startLsn!,
  });
  // Said only once read back: the old source's apply worker runs and a walsender reads the slot.
  const health = await waitForFallback(options.sourceControl, options.targetControl, names, 30_000);
  record.applyErrorsAtStart = health.subscription.applyErrors;
  if (health.problems.length)
    return `fall-back path: ${names.subscription} created on the old source from ${record.startLsn}, but not streaming yet (${health.problems.join('; ')}): dmskit status --engine native shows it`;
  return `fall-back path: ${names.subscription} on the old source follows the target from ${record.startLsn}; dmskit rollback falls back without loss, dmskit finish ends it`;
};

async function conninfoOf(input: CutoverOptions['target']): Promise<string> {
  if (typeof input === 'string') return subscriptionConninfo(input, '--target-url');
  throw new ExternalError('the fall-back path needs the target as a URL');
}

const finish: Step = async (ctx) => {
  const { options, state } = ctx;
  await options.engine.finish();
  // The fall-back path proves with the same watermark table, the other way: it stays until dmskit finish.
  if (!options.fallback) {
    for (const table of options.engine.watermarkTables ?? [options.engine.watermarkTable]) {
      await dropWatermarkTable(options.sourceControl, table);
      await dropWatermarkTable(options.targetControl, table);
    }
  }
  // The materialized views the start filled hold the rows of the full load; the application, on the
  // target since ready, reads them refreshed from the final data (concurrently where a unique index allows,
  // so its readers are not blocked). One the server refuses is said, not a failed cutover.
  const views = await refreshMaterializedViews(
    options.sourceControl,
    options.targetControl,
    schemasOf(options.tables),
    {
      concurrently: true,
    },
  );
  ctx.result = () => ({
    window: windowOf(state, options.finalValidation === 'before-ready'),
    fenceMethod: state.fence!.method,
    fenceProof: ctx.fenceProof ?? 'proven by the run that fenced',
    fenceLsn: state.watermark!.lsn,
    sessionsEnded: ctx.sessionsEnded ?? 0,
    sequences: ctx.sequences ?? [],
    finalValidation: options.finalValidation,
    ...(ctx.validation ? { validation: ctx.validation } : {}),
    resumed: ctx.resumed,
    fence: state.fence!,
  });
  const refreshed = [
    ...(views.refreshed.length
      ? [
          `${views.refreshed.length} materialized view(s) refreshed from the final data in ${formatDuration(views.ms)}`,
        ]
      : []),
    ...views.failed.map((f) => `materialized view ${f} not refreshed: refresh it on the target`),
  ];
  return [
    options.fallback
      ? 'forward replication objects removed'
      : 'replication objects and the watermark removed',
    ...refreshed,
  ].join('; ');
};

/**
 * A resumed cutover whose fence was applied by an interrupted run: applies the same record again (ending
 * sessions opened since) and proves it, before any later step relies on it.
 */
export async function refence(ctx: StepContext): Promise<string> {
  const { sessionsEnded } = await applyFence(
    ctx.options.sourceControl,
    ctx.state.fence!,
    await controlPid(ctx),
  );
  ctx.sessionsEnded = sessionsEnded;
  ctx.fenceProof = await proveFence(ctx.options.source, ctx.state.fence!);
  return `the fence of the interrupted run holds (${ctx.state.fence!.method}): ${ctx.fenceProof}`;
}

/** The cutover's steps by name; the runbook loop runs them in {@link cutoverOrder}. */
export const STEPS: Record<CutoverStep, Step> = {
  preconditions,
  pause,
  fence,
  watermark,
  'stop-replication': stopReplication,
  sequences,
  switch: switchStep,
  ready,
  fallback,
  validation,
  finish,
};
