import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { dropCreatedObjects } from '../native/objects.js';
import type { NativeStartState } from '../native/start-state.js';
import { dropFallbackObjects, endFallback, fallbackNames } from '../runbook/fallback.js';
import { releaseFence } from '../runbook/fence.js';
import { type CutoverState, fileStateStore, type StateStore } from '../runbook/state.js';

/** Where a rehearsal on servers passed in keeps its state while it runs (removed when it ends). */
export interface RehearsalStores {
  readonly start: StateStore<NativeStartState>;
  readonly cutover: StateStore<CutoverState>;
  /** Removes both files. */
  remove(): Promise<void>;
}

/**
 * The state files of a rehearsal of `migration` (`name-environment`) between two servers (`host:port/db`
 * each) in `dir`: one pair per pair of servers, so rehearsals on other servers never share them.
 */
export function rehearsalStores(dir: string, migration: string, servers: string): RehearsalStores {
  const id = createHash('sha256').update(servers).digest('hex').slice(0, 10);
  const start = path.join(dir, `rehearsal-start-${migration}-${id}.json`);
  const cutover = path.join(dir, `rehearsal-cutover-${migration}-${id}.json`);
  return {
    start: fileStateStore<NativeStartState>(start, { name: 'start', version: 1 }),
    cutover: fileStateStore<CutoverState>(cutover),
    remove: async () => {
      await Promise.all([rm(start, { force: true }), rm(cutover, { force: true })]);
    },
  };
}

/**
 * What a rehearsal killed before it could clean up (SIGKILL, a power cut) left on the same servers, removed
 * before a new one starts, as its state files record it (never guessed from a name): the fence released,
 * the fall-back path, the subscription, slot, publications and watermark tables dropped.
 * @returns one line per thing removed; empty when nothing was left
 * @throws the error of a removal that failed (the files are kept, so a later run tries again)
 */
export async function cleanLeftovers(
  stores: RehearsalStores,
  servers: { sourceUrl: string; targetUrl: string; source: string; target: string },
): Promise<string[]> {
  const [start, cutover] = await Promise.all([stores.start.load(), stores.cutover.load()]);
  if (!start && !cutover) return [];
  if (start && (start.source !== servers.source || start.target !== servers.target)) return [];
  const done: string[] = [];
  if (cutover?.fallback && !cutover.fallback.endedAt && start) {
    const names = fallbackNames({ ...start.names, publication: start.names.publications[0] ?? '' });
    if (cutover.fallback.subscription)
      await endFallback(servers.sourceUrl, servers.targetUrl, names, cutover.fallback);
    else await dropFallbackObjects(servers.targetUrl, cutover.fallback);
    done.push('the fall-back path');
  }
  if (cutover?.fence && !cutover.fenceReleased) {
    done.push(`the fence: ${await releaseFence(servers.sourceUrl, cutover.fence)}`);
  }
  if (start) {
    const cleanup = await dropCreatedObjects({
      source: servers.sourceUrl,
      target: servers.targetUrl,
      state: start,
    });
    if (cleanup.left.length)
      throw new Error(`could not remove what an interrupted rehearsal left: ${cleanup.left.join(' ')}`);
    done.push(...cleanup.removed);
  }
  await stores.remove();
  return done;
}
