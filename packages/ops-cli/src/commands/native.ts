import { displayName, nativeObjectNames, UsageError } from '@dmskit/shared';
import { closeQuietly, openConnection } from '@dmskit/validation';
import type { FullLoadResult } from '../fullload/run.js';
import { startNativeMigration } from '../native/engine.js';
import { transformationsNotReplicated } from '../native/not-replicated.js';
import type { NativeStartState } from '../native/start-state.js';
import { applyErrorFix, lastApplyError, replicationStatus } from '../native/status.js';
import { nativeTableStatistics } from '../native/table-statistics.js';
import type { CommandOutcome } from '../outcome.js';
import { isConnectionLost, reconnect } from '../pg/reconnect.js';
import { secondAttemptAdvice } from '../runbook/cutover.js';
import { fallbackHealth, fallbackNames } from '../runbook/fallback.js';
import { lockMigration } from '../runbook/lock.js';
import { validationRecordFile } from '../runbook/scope.js';
import { fileStateStore, type StateStore } from '../runbook/state.js';
import { startStepTimings, stepsMarkdown, tablesMarkdown } from '../ui/closing-summary.js';
import { formatBytes, formatCount, formatDuration } from '../ui/format.js';
import { loadSummaryLine, tableLoadLine } from '../ui/load-view.js';
import { createProgress } from '../ui/progress.js';
import { type StatisticsSort, statisticsView } from '../ui/table-statistics.js';
import { forStdout } from '../ui/terminal-text.js';
import { sleep } from '../util/time.js';
import { loadConfigOption } from './config.js';
import { sourceUrlOf, statePaths, targetUrlOf } from './context.js';
import { withInterrupts } from './interrupts.js';
import { ddlLines, readScope } from './scope.js';
import { cutoverRunLines, objectsLines, type RunLines, startRunLines } from './status-runs.js';

interface NativeOptions {
  readonly cwd: string;
  readonly config: string;
  readonly sourceUrl?: string;
  readonly targetUrl?: string;
  readonly json?: boolean;
  readonly stateDir?: string;
  readonly jobs?: number;
  /** `start --reload-target`: empty the target's earlier copy of the tables in scope and load them again. */
  readonly reloadTarget?: boolean;
}

/** The start state file of a migration (`<state dir>/start-<name>-<environment>.json`). */
export function startStateStore(file: string): StateStore<NativeStartState> {
  return fileStateStore<NativeStartState>(file, { name: 'start', version: 1 });
}

async function sessions(o: NativeOptions) {
  const { config } = await loadConfigOption(o.config, o.cwd);
  const sourceUrl = sourceUrlOf(config, o.sourceUrl);
  const targetUrl = targetUrlOf(o.targetUrl);
  const source = await openConnection(sourceUrl, 'source', { applicationName: 'dmskit-control' });
  try {
    const target = await openConnection(targetUrl, 'target', { applicationName: 'dmskit-control' });
    return { config, sourceUrl, targetUrl, source, target };
  } catch (error) {
    await closeQuietly(source);
    throw error;
  }
}

/**
 * `dmskit start --engine native`: schema, watermark, publication and subscription, full load and
 * post-data; returns with CDC running on the servers (the subscription keeps applying changes after
 * dmskit exits). Locked to one run per migration; killed, it continues when run again; failed or
 * interrupted, it removes what it created.
 */
export async function nativeStart(o: NativeOptions): Promise<CommandOutcome> {
  const { config } = await loadConfigOption(o.config, o.cwd);
  const skipped = transformationsNotReplicated(config);
  if (skipped.length)
    throw new UsageError(
      `the native engine replicates tables under their source names, so ${skipped.join(', ')} would not take effect: use --engine dms, or remove the rule(s)`,
    );
  if (o.config === 'migrations/ecommerce.ts')
    process.stderr.write(
      `no --config: using ${o.config} (${config.name}), whose selection rules migrate ${config.task.tableMappings.map((r) => `${r.action} ${r.schema}.${r.table}`).join(', ')}\n`,
    );
  const store = startStateStore(statePaths(o, config).start);
  const forward = await fileStateStore(statePaths(o, config).cutover).load();
  if (forward?.status === 'rolled-back' && forward.readyAt)
    throw new UsageError(secondAttemptAdvice(forward));
  const sourceUrl = sourceUrlOf(config, o.sourceUrl);
  const lock = await lockMigration({
    source: sourceUrl,
    migration: `${config.name}/${config.environment}`,
    file: `${store.location}.lock`,
  });
  let s: Awaited<ReturnType<typeof sessions>> | undefined;
  const progress = createProgress(process.stderr);
  try {
    s = await sessions(o);
    const open = s;
    const started = await withInterrupts(
      (signal) =>
        startNativeMigration({
          config: open.config,
          sourceUrl: open.sourceUrl,
          targetUrl: open.targetUrl,
          source: open.source,
          target: open.target,
          progress,
          store,
          signal,
          ...(o.jobs ? { jobs: o.jobs } : {}),
          ...(o.reloadTarget ? { reloadTarget: true } : {}),
        }),
      {
        what: 'the start was stopped and what it created removed',
        leftBehind: () => `the publication, subscription and slot of ${config.name}; run dmskit abandon`,
        say: (line) => progress.info(line),
      },
    );
    process.stdout.write(
      `full load done: ${formatCount(started.fullLoadRows)} rows of ${started.tables.length} table(s) in ${formatDuration(started.fullLoadMs)} with ${started.jobs} worker(s)${started.resumed ? ' (continued an interrupted start)' : ''}; indexes and constraints in place; subscription ${started.names.subscription} is applying changes\n`,
    );
    // The closing summary: each step's wall time, then each table's rows, bytes and time.
    const summary = [
      '',
      '## Steps',
      '',
      ...stepsMarkdown(
        startStepTimings(started.state, {
          preDataEntries: started.schema.preDataEntries,
          postDataEntries: started.schema.postDataEntries,
          jobs: started.jobs,
        }),
      ),
      '',
      '## Tables',
      '',
      ...tablesMarkdown(started.fullLoad),
    ];
    process.stdout.write(forStdout(`${summary.join('\n')}\n`));
    return { exitCode: 0 };
  } finally {
    progress.stop();
    await Promise.all([closeQuietly(s?.source), closeQuietly(s?.target)]);
    await lock.release();
  }
}

/** The full load as the start state recorded it: the whole, then each table. */
function fullLoadLines(f: FullLoadResult): string[] {
  return [
    `full load: ${formatCount(f.rows)} rows, ${formatBytes(f.tables.reduce((n, t) => n + t.bytes, 0))} in ${formatDuration(f.ms)}`,
    ...f.tables.map(
      (t) =>
        `  ${t.schema}.${t.table}: ${formatCount(t.rows)} rows, ${formatBytes(t.bytes)} in ${formatDuration(t.ms)}${t.chunks > 1 ? ` (${t.chunks} parts)` : ''}`,
    ),
  ];
}

/** A start not yet replicating: its steps, and the full load's last saved figures (no ETA once stopped). */
function startLines(start: NativeStartState, stopped: boolean): string[] {
  const done = Object.keys(start.steps);
  const lines = [
    `start of ${start.migration} (begun ${start.startedAt}): done ${done.length ? done.join(', ') : 'nothing yet'}${start.intent ? `; at ${start.intent}` : ''}`,
  ];
  if (start.fullLoad) lines.push(...fullLoadLines(start.fullLoad));
  else if (start.loading) {
    lines.push(`${loadSummaryLine(start.loading.figures, stopped)} (as of ${start.loading.at})`);
    for (const t of start.loading.figures.tables) lines.push(`  ${tableLoadLine(t, undefined, stopped)}`);
  }
  return lines;
}

function statusLines(status: Awaited<ReturnType<typeof replicationStatus>>): string[] {
  const lines = status.tables.map(
    (t) =>
      `${t.schema}.${t.table}: ${t.state} (${t.state === 'copying' ? '' : '~'}${formatCount(t.rows)} rows)`,
  );
  const seconds = status.lagSeconds === null ? 'unknown' : status.lagSeconds.toFixed(2);
  const safe = status.slot.safeWalSizeBytes === null ? 'no limit' : formatBytes(status.slot.safeWalSizeBytes);
  lines.push(
    `lag: ${formatBytes(status.lagBytes)} / ${seconds} s; full load ${status.fullLoadDone ? 'done' : 'in progress'}`,
    `slot ${status.slot.slot}: wal_status ${status.slot.walStatus ?? '-'}, ${status.slot.walsenderConnected ? 'walsender connected' : 'no walsender'}, WAL before invalidation ${safe}`,
    `subscription: ${status.subscription.enabled ? 'enabled' : 'disabled'}, apply worker ${status.subscription.applyWorker ? 'running' : 'not running'}, ${status.subscription.applyErrors} apply error(s), ${status.subscription.syncErrors} copy error(s)`,
  );
  for (const p of [...status.slot.problems, ...status.subscription.problems]) lines.push(`problem: ${p}`);
  for (const w of status.slot.warnings) lines.push(`warning: ${w}`);
  return lines;
}

/**
 * `dmskit status --engine native [--watch]`: per-table state, lag in bytes and seconds, the slot's health
 * (`wal_status`, walsender, WAL left before invalidation) and the subscription's (apply worker, errors).
 * @returns exit code 1 when replication has a problem
 */
export async function nativeStatus(
  o: NativeOptions & { watch?: boolean /** ms */; interval?: number; state?: string; sort?: string },
): Promise<CommandOutcome> {
  const { config } = await loadConfigOption(o.config, o.cwd);
  const paths = statePaths(o, config);
  const cutover = await fileStateStore(paths.cutover).load();
  // A cutover under way or stopped before ready: its run and its fence, read back on the source.
  let runLines: RunLines | undefined;
  if (cutover && !cutover.readyAt && cutover.status !== 'rolled-back')
    runLines = await cutoverRunLines(sourceUrlOf(config, o.sourceUrl), cutover, `${paths.cutover}.lock`);
  if (cutover && (cutover.status === 'ready' || cutover.readyAt)) {
    // After the cutover the replication objects are gone: the cutover's own record is the status.
    const v = cutover.validation;
    const lines = [
      `cutover of ${cutover.migration}: target ready at ${cutover.readyAt}; writes were unavailable for ${cutover.window?.totalMs === undefined ? '?' : formatDuration(cutover.window?.totalMs)}`,
      v
        ? `final validation (${v.at}): ${v.verdict}${v.verdict === 'equal' ? '' : `: ${v.summary}`}`
        : 'final validation: not run yet (run dmskit cutover again to finish it)',
      cutover.steps.finish
        ? 'replication objects removed'
        : 'replication objects not yet removed (run dmskit cutover again)',
      cutover.fenceReleased
        ? `source unfenced at ${cutover.fenceReleased.at}`
        : `the source stays fenced (${cutover.fence?.method})`,
    ];
    let problems = v && v.verdict !== 'equal' ? 1 : 0;
    let fallback: Awaited<ReturnType<typeof fallbackHealth>> | undefined;
    if (cutover.fallback?.subscription && !cutover.fallback.endedAt) {
      const sess = await sessions(o);
      try {
        fallback = await fallbackHealth(sess.source, sess.target, fallbackNames(nativeObjectNames(config)));
      } finally {
        await Promise.all([closeQuietly(sess.source), closeQuietly(sess.target)]);
      }
      const seconds = fallback.slot.lagSeconds === null ? 'unknown' : fallback.slot.lagSeconds.toFixed(2);
      const ageDays = (Date.now() - Date.parse(cutover.readyAt!)) / 86_400_000;
      lines.push(
        `fall-back path (target -> old source): lag ${formatBytes(fallback.slot.lagBytes)} / ${seconds} s; slot ${fallback.slot.slot} on the target: wal_status ${fallback.slot.walStatus ?? '-'}; subscription on the old source: ${fallback.subscription.enabled ? 'enabled' : 'disabled'}, ${fallback.subscription.applyErrors} apply error(s)`,
      );
      for (const p of fallback.problems) lines.push(`problem: ${p}`);
      const failedApplies = fallback.subscription.applyErrors - (cutover.fallback.applyErrorsAtStart ?? 0);
      if (failedApplies > 0)
        lines.push(
          `problem: the old source failed to apply ${failedApplies} change(s) from the target (its server log has the error): a rollback would miss them`,
        );
      for (const w of fallback.slot.warnings) lines.push(`warning: fall-back path: ${w}`);
      if (ageDays > config.cutover.fallbackMaxAgeDays)
        lines.push(
          `warning: the fall-back path is ${ageDays.toFixed(1)} days old (cutover.fallbackMaxAgeDays = ${config.cutover.fallbackMaxAgeDays}): its slot retains WAL on the target; run dmskit finish once you are sure`,
        );
      problems += fallback.problems.length + (failedApplies > 0 ? 1 : 0);
    } else if (cutover.fallback?.endedAt) lines.push(`fall-back path ended at ${cutover.fallback.endedAt}`);
    if (o.json) process.stdout.write(`${JSON.stringify({ cutover, fallback })}\n`);
    else process.stdout.write(`${lines.join('\n')}\n`);
    return { exitCode: problems ? 1 : 0 };
  }
  const start = await startStateStore(paths.start).load();
  if (start && !start.steps.subscription) {
    // The start is under way (or stopped): no subscription yet, so its state file is the status.
    const run = await startRunLines(sourceUrlOf(config, o.sourceUrl), start, `${paths.start}.lock`);
    const lines = [
      ...startLines(start, !run.running),
      ...run.lines,
      ...(await objectsLines(config, sourceUrlOf(config, o.sourceUrl), o.targetUrl)),
    ];
    if (o.json) process.stdout.write(`${JSON.stringify({ start, running: run.running })}\n`);
    else process.stdout.write(`${lines.join('\n')}\n`);
    return { exitCode: run.problems ? 1 : 0 };
  }
  if (runLines && !o.watch && !o.json)
    process.stdout.write(
      `${[...runLines.lines, ...(await objectsLines(config, sourceUrlOf(config, o.sourceUrl), o.targetUrl))].join('\n')}\n`,
    );
  const loaded = start?.fullLoad ? fullLoadLines(start.fullLoad) : [];
  const s = await sessions(o);
  const validation = await validationRecordFile(paths.validation).load();
  const statisticsInputs = {
    subscription: nativeObjectNames(s.config).subscription,
    baseline: start?.cdcBaseline ?? {},
    fullLoadRows: Object.fromEntries((start?.fullLoad?.tables ?? []).map((t) => [displayName(t), t.rows])),
    validation,
    lastSeen: new Map<string, { total: number; at: string | null }>(),
  };
  const sort = (o.sort ?? 'name') as StatisticsSort;
  const progress = createProgress(process.stderr, { plainIntervalMs: 0 });
  try {
    for (;;) {
      let status: Awaited<ReturnType<typeof replicationStatus>>;
      try {
        status = await replicationStatus(s.source, s.target, nativeObjectNames(s.config));
      } catch (error) {
        // --watch outlives a server's restart: it reconnects, says so, and goes on.
        if (!o.watch || !isConnectionLost(error)) throw error;
        progress.stop();
        const { value } = await reconnect(() => sessions(o), {
          why: error,
          say: (line) => progress.info(line),
        });
        await Promise.all([closeQuietly(s.source), closeQuietly(s.target)]);
        s.source = value.source;
        s.target = value.target;
        continue;
      }
      const statistics = await nativeTableStatistics(s.target, statisticsInputs);
      // The catalogs of both servers, read on every run: what the watermark cannot see (runbook/scope.ts).
      const scope = o.watch ? undefined : await readScope(s.source, s.target, s.config);
      const applyError =
        status.subscription.applyErrors || !status.subscription.applyWorker
          ? await lastApplyError(s.target)
          : null;
      const problems =
        status.slot.problems.length +
        status.subscription.problems.length +
        (scope?.problems.length ?? 0) +
        (runLines?.problems ?? 0);
      if (o.json) {
        const { inScopeInfo: _info, ...printable } = scope ?? { inScopeInfo: [] };
        process.stdout.write(
          `${JSON.stringify({ ...status, statistics, scope: scope ? printable : undefined, applyError, cutover: runLines })}\n`,
        );
      } else if (o.watch)
        progress.frame({
          ...status,
          problems: [...status.slot.problems, ...status.subscription.problems, ...status.slot.warnings],
          statistics: { rows: statistics, sort },
        });
      else
        process.stdout.write(
          `${[
            ...loaded,
            ...statusLines(status),
            ...statisticsView(statistics, { sort, columns: process.stdout.columns ?? 120 }),
            ...(applyError
              ? [`last apply error (target's log): ${applyError}`, ...applyErrorFix(applyError)]
              : []),
            ...(scope
              ? [
                  `${scope.inScope.length} table(s) in scope on the source${scope.notReplicated.length ? `; not replicated: ${scope.notReplicated.map(displayName).join(', ')}` : ', every one replicated'}`,
                  ...scope.problems.map((p) => `problem: ${p}`),
                  ...ddlLines(scope.ddl),
                ]
              : []),
          ].join('\n')}\n`,
        );
      if (!o.watch) return { exitCode: problems ? 1 : 0 };
      await sleep(o.interval ?? 2000);
    }
  } finally {
    progress.stop();
    await Promise.all([closeQuietly(s.source), closeQuietly(s.target)]);
  }
}
