import { rm } from 'node:fs/promises';
import { ExternalError, nativeObjectNames } from '@dmskit/shared';
import { closeQuietly, describeConnection, openConnection } from '@dmskit/validation';
import { dmsSlotStore, dmsWatermarkStore, dropRecordedSlot } from '../dms/slot.js';
import { dropCreatedObjects } from '../native/objects.js';
import { migrationObjectNames, sweepServer } from '../native/sweep.js';
import type { CommandOutcome } from '../outcome.js';
import { endFallback, fallbackNames } from '../runbook/fallback.js';
import { releaseFence, releaseSql } from '../runbook/fence.js';
import { type MigrationServers, serverIdentity, serversChanged } from '../runbook/identity.js';
import { lockMigration } from '../runbook/lock.js';
import { fileStateStore } from '../runbook/state.js';
import { dropWatermarkTable } from '../runbook/watermark.js';
import { loadConfigOption } from './config.js';
import { sourceUrlOf, statePaths, targetUrlOf } from './context.js';
import { startStateStore } from './native.js';

export interface AbandonOptions {
  readonly cwd: string;
  readonly config: string;
  readonly sourceUrl?: string;
  readonly targetUrl?: string;
  readonly state?: string;
  readonly stateDir?: string;
  readonly dryRun?: boolean;
}

/**
 * `dmskit abandon`: removes everything a migration created on both servers: first as its state files record
 * it (the cutover's fence and a fall back's fence on the target, released and read back; the subscription,
 * slot, publications, watermark tables, the fall-back path), then by name on both servers
 * ({@link sweepServer}: what lost or stale records, or servers recreated since, left). The target's tables
 * and rows are kept. With `--dry-run`, it prints what it would remove and connects nowhere.
 * @returns exit code 0 when everything is gone
 * @throws ExternalError (exit 2) listing the SQL of what could not be removed
 */
/**
 * The records (cutover, start, fall back) made on other servers than those reached now, one line each.
 */
async function staleRecords(
  sourceUrl: string,
  targetUrl: string,
  records: Record<string, { servers?: MigrationServers | undefined } | undefined>,
): Promise<string[]> {
  const [source, target] = await Promise.all([
    openConnection(sourceUrl, 'source', { applicationName: 'dmskit-abandon' }),
    openConnection(targetUrl, 'target', { applicationName: 'dmskit-abandon' }),
  ]);
  try {
    const now = { source: await serverIdentity(source), target: await serverIdentity(target) };
    const where = { source: describeConnection(sourceUrl), target: describeConnection(targetUrl) };
    return Object.entries(records).flatMap(([name, record]) => {
      const changed = serversChanged(record?.servers, now, where);
      return changed.length
        ? [`the ${name} record is of other servers (${changed.join('; ')}): dropped, not applied`]
        : [];
    });
  } finally {
    await Promise.all([closeQuietly(source), closeQuietly(target)]);
  }
}

export async function abandon(o: AbandonOptions): Promise<CommandOutcome> {
  const { config } = await loadConfigOption(o.config, o.cwd);
  const paths = statePaths(o, config);
  const cutoverFile = paths.cutover;
  const cutoverStore = fileStateStore(cutoverFile);
  const startStore = startStateStore(paths.start);
  const slotStore = dmsSlotStore(paths.dmsSlot);
  const watermarkStore = dmsWatermarkStore(paths.dmsWatermarks);
  let [cutover, start, dmsSlot, dmsWatermarks] = await Promise.all([
    cutoverStore.load(),
    startStore.load(),
    slotStore.load(),
    watermarkStore.load(),
  ]);
  const fallbackStore = fileStateStore(paths.fallback);
  let back = await fallbackStore.load();
  if (!o.dryRun && o.targetUrl && [cutover, start, back].some((r) => r?.servers)) {
    // Records of servers recreated since at the same address are dropped, not applied to these.
    const stale = await staleRecords(sourceUrlOf(config, o.sourceUrl), targetUrlOf(o.targetUrl), {
      cutover,
      start,
      back,
    });
    if (stale.length) {
      process.stdout.write(`${stale.join('\n')}\n`);
      cutover = undefined;
      start = undefined;
      back = undefined;
    }
  }
  const fence = cutover?.fence && !cutover.fenceReleased ? cutover.fence : undefined;
  // A fall back (rollback after ready) fenced the target: its own record says how to release it.
  const backFence = back?.fence && !back.fenceReleased ? back.fence : undefined;
  const created = start?.created;
  const path = cutover?.fallback && !cutover.fallback.endedAt ? cutover.fallback : undefined;
  const names = fallbackNames(nativeObjectNames(config));
  const plan = [
    ...(fence ? [`source: release the ${fence.method} fence: ${releaseSql(fence).join(' ')}`] : []),
    ...(backFence
      ? [`target: release the fall back's ${backFence.method} fence: ${releaseSql(backFence).join(' ')}`]
      : []),
    ...(created?.subscription || start?.intent === 'subscription'
      ? [`target: DROP SUBSCRIPTION ${start!.names.subscription}`]
      : []),
    ...(created?.slot || start?.intent === 'subscription'
      ? [`source: drop replication slot ${start!.names.slot}`]
      : []),
    ...(created?.publications.length ? [`source: DROP PUBLICATION ${created.publications.join(', ')}`] : []),
    ...(created?.watermark ? [`source and target: DROP TABLE dmskit.${created.watermark.table}`] : []),
    ...(dmsSlot
      ? [
          `source: drop replication slot ${dmsSlot.slot} (made by dmskit start for the DMS task${dmsSlot.steps.started ? ', which must be stopped first' : ', which never started'})`,
        ]
      : []),
    ...(dmsWatermarks
      ? [
          `source, and the target when --target-url is given: DROP TABLE ${dmsWatermarks.tables.map((t) => `dmskit.${t}`).join(', ')} (the DMS tasks' watermark tables, made by dmskit start)`,
        ]
      : []),
    ...(path
      ? [
          `the fall-back path: old source: DROP SUBSCRIPTION ${names.subscription} if made; target: drop slot ${names.slot}, DROP PUBLICATION ${path.publications.join(', ')}`,
        ]
      : []),
  ];
  const sweep = `on both servers, whatever the records say: every object named ${migrationObjectNames(config).prefix}* (subscriptions, slots, publications, event triggers, fence and guard triggers, dmskit tables and functions), and a read-only fence where its trigger is found`;
  if (o.dryRun) {
    process.stdout.write(
      `dmskit abandon of ${config.name} (${config.environment}) would:\n${[...plan, sweep].map((p) => `  ${p}`).join('\n')}\n`,
    );
    return { exitCode: 0 };
  }
  if (plan.length === 0)
    process.stdout.write(
      `nothing recorded for ${config.name} (${config.environment}) in ${paths.dir}: looking for its objects on the servers by name\n`,
    );
  const sourceUrl = sourceUrlOf(config, o.sourceUrl);
  const lock = await lockMigration({
    source: sourceUrl,
    migration: `${config.name}/${config.environment}`,
    file: `${startStore.location}.lock`,
  });
  try {
    const left: string[] = [];
    if (fence && cutover) {
      const readBack = await releaseFence(sourceUrl, fence).catch((e: Error) => {
        left.push(e.message);
        return undefined;
      });
      if (readBack) {
        cutover.fenceReleased = { at: new Date().toISOString(), readBack };
        cutover.status = 'rolled-back';
        await cutoverStore.save(cutover);
        process.stdout.write(`fence released: ${readBack}\n`);
      }
    }
    if (backFence && back) {
      if (!o.targetUrl)
        left.push(`the target is fenced by a fall back (${backFence.method}): run abandon with --target-url`);
      else {
        const readBack = await releaseFence(targetUrlOf(o.targetUrl), backFence).catch((e: Error) => {
          left.push(e.message);
          return undefined;
        });
        if (readBack) {
          back.fenceReleased = { at: new Date().toISOString(), readBack };
          back.status = 'rolled-back';
          await fallbackStore.save(back);
          process.stdout.write(`the target's fence released: ${readBack}\n`);
        }
      }
    }
    if (path && cutover) {
      const removed = await endFallback(sourceUrl, targetUrlOf(o.targetUrl), names, path).catch(
        (e: Error) => {
          left.push(`the fall-back path: ${e.message}`);
          return [];
        },
      );
      for (const r of removed) process.stdout.write(`removed ${r}\n`);
      await cutoverStore.save(cutover);
    }
    if (dmsSlot) {
      const source = await openConnection(sourceUrl, 'source', { applicationName: 'dmskit-abandon' });
      try {
        const outcome = await dropRecordedSlot(source, dmsSlot.slot);
        if (outcome === 'active')
          left.push(
            `replication slot ${dmsSlot.slot} is in use by the DMS task: dmskit stop, then run abandon again`,
          );
        else {
          if (outcome === 'dropped') process.stdout.write(`removed replication slot ${dmsSlot.slot}\n`);
          await rm(slotStore.location, { force: true });
        }
      } finally {
        await closeQuietly(source);
      }
    }
    if (dmsWatermarks) {
      const sides: [string, string][] = [['source', sourceUrl]];
      if (o.targetUrl) sides.push(['target', targetUrlOf(o.targetUrl)]);
      let dropped = true;
      for (const [side, url] of sides) {
        const c = await openConnection(url, side, { applicationName: 'dmskit-abandon' });
        try {
          for (const table of dmsWatermarks.tables) await dropWatermarkTable(c, table);
          process.stdout.write(
            `removed ${dmsWatermarks.tables.map((t) => `dmskit.${t}`).join(', ')} on the ${side}\n`,
          );
        } catch (error) {
          dropped = false;
          left.push(
            `${side}: DROP TABLE ${dmsWatermarks.tables.map((t) => `dmskit.${t}`).join(', ')} (${(error as Error).message})`,
          );
        } finally {
          await closeQuietly(c);
        }
      }
      if (!o.targetUrl)
        process.stdout.write(
          "the target's copies of the watermark tables, if DMS made them, are left: run abandon with --target-url to remove them too\n",
        );
      if (dropped) await rm(watermarkStore.location, { force: true });
    }
    if (start) {
      const cleanup = await dropCreatedObjects({
        source: sourceUrl,
        target: targetUrlOf(o.targetUrl),
        state: start,
      });
      for (const r of cleanup.removed) process.stdout.write(`removed ${r}\n`);
      left.push(...cleanup.left);
      await startStore.save(start);
    }
    // Then by name, on both servers: what records lost, or records of servers since recreated, left.
    const sides: ['source' | 'target', string][] = [
      ...(o.targetUrl ? ([['target', targetUrlOf(o.targetUrl)]] as ['target', string][]) : []),
      ['source', sourceUrl],
    ];
    for (const [side, url] of sides) {
      const swept = await sweepServer(url, side, config).catch((e: Error) => ({
        removed: [] as string[],
        left: [`${side}: not reachable (${e.message}); run abandon again`],
      }));
      for (const r of swept.removed) process.stdout.write(`removed ${r}\n`);
      left.push(...swept.left);
    }
    if (left.length)
      throw new ExternalError(`abandon could not remove everything; run by hand: ${left.join(' ')}`);
    await Promise.all(
      [cutoverFile, startStore.location, fallbackStore.location].map((f) => rm(f, { force: true })),
    );
    process.stdout.write(
      `${config.name} (${config.environment}) abandoned: nothing of it is left on the ${o.targetUrl ? 'servers' : 'source (give --target-url to look on the target too)'}; the target's tables and rows are kept (dmskit start --reload-target loads them again)\n`,
    );
    return { exitCode: 0 };
  } finally {
    await lock.release();
  }
}
