import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type pg from 'pg';
import { alive } from '../util/process.js';
import { type LockHolder, lockHolder } from './lock.js';

/** Whether the dmskit run that wrote a state file still runs, and one line that says so. */
export interface RunSeen {
  readonly running: boolean;
  /** `dmskit pid 4242 on ops-1 since 2026-12-06T10:00:00Z`, or what is known of the run that is gone. */
  readonly who: string;
}

async function fileHolder(file: string): Promise<LockHolder | undefined> {
  try {
    const holder = JSON.parse(await readFile(file, 'utf8')) as LockHolder;
    return typeof holder.pid === 'number' ? holder : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a run of `migration` is alive, read from what outlives a run that died: the migration's
 * advisory lock on the source (runbook/lock.ts; the server lets it go with the run's session, whatever
 * killed it) when `source` is given, else the lock file next to the state (its pid, on this host).
 * A lock file whose process is gone, or whose run no longer holds the advisory lock, is a dead run.
 * @param lockFile - `<state file>.lock`
 */
export async function runOf(options: {
  migration: string;
  lockFile: string;
  source?: pg.Client | undefined;
}): Promise<RunSeen> {
  const file = await fileHolder(options.lockFile);
  const fileWho = file ? `dmskit pid ${file.pid} on ${file.host} since ${file.since}` : undefined;
  if (options.source) {
    const held = await lockHolder(options.source, options.migration).catch(() => undefined);
    if (held) return { running: true, who: `${held.who} since ${held.since}` };
    return { running: false, who: fileWho ?? 'the run that wrote it' };
  }
  if (file && (file.host !== hostname() || alive(file.pid))) return { running: true, who: fileWho! };
  return { running: false, who: fileWho ?? 'the run that wrote it' };
}
