import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '@dmskit/shared';
import type { FallbackRecord } from './fallback.js';
import type { FenceRecord } from './fence.js';
import type { MigrationServers } from './identity.js';

/**
 * The steps of the cutover runbook, in the order of `cutover.finalValidation: 'before-ready'`; with
 * `after-ready` (the default) `validation` runs after `ready`, out of the write-unavailability window.
 */
export const CUTOVER_STEPS = [
  'preconditions',
  'pause',
  'fence',
  'watermark',
  'stop-replication',
  'sequences',
  'switch',
  'validation',
  'ready',
  'fallback',
  'finish',
] as const;
export type CutoverStep = (typeof CUTOVER_STEPS)[number];

/**
 * What a cutover has done so far, saved before and after every step (write-ahead) so that an interrupted
 * cutover resumes where it stopped, and a rollback knows what to undo (the fence's record, a stopped
 * replication).
 */
export interface CutoverState {
  readonly version: 2;
  readonly migration: string;
  readonly engine: 'native' | 'dms';
  status: 'in-progress' | 'ready' | 'failed' | 'rolled-back';
  startedAt: string;
  /** Which servers and databases, beyond their address (a server recreated at the same address differs). */
  servers?: MigrationServers;
  /** The step begun last (saved before it changes anything). */
  current?: CutoverStep;
  /** When writes first stopped (ISO); the window runs from here, across a resume too. */
  fenceStartedAt?: string;
  /** The fence, saved before the source changes; it stays until `fenceReleased` is set. */
  fence?: FenceRecord;
  /** When the fence was released and what was read back then. */
  fenceReleased?: { at: string; readBack: string };
  /** The watermark committed on the source after the fence; `seenMs`: how long until the target showed it. */
  watermark?: { token: string; lsn: string; seenMs?: number };
  /** The pooler: when it was paused, the copy of its ini file before the switch, whether it was switched. */
  pooler?: { pausedAt?: string; iniBackup?: string; switched?: boolean; resumed?: boolean };
  /**
   * The applications' DNS record: its zone, what it pointed at before the switch, and whether the switch
   * was begun (set before the change is sent, so a change in flight is pointed back too).
   */
  dns?: { zoneId: string; before?: string | undefined; switched?: boolean };
  /** The fall-back path (reverse replication from the target to the old source), as created. */
  fallback?: FallbackRecord;
  /** When the target was declared ready (ISO), and the window then, in ms. */
  readyAt?: string;
  window?: Record<string, number>;
  sequences?: number;
  /** The final validation's verdict (after ready it does not undo the cutover). */
  validation?: { verdict: string; at: string; summary: string };
  steps: Partial<Record<CutoverStep, { at: string; ms: number; detail: string }>>;
  error?: string;
}

/** Where a state lives. */
export interface StateStore<T = CutoverState> {
  load(): Promise<T | undefined>;
  save(state: T): Promise<void>;
  readonly location: string;
}

/**
 * A JSON state file, replaced atomically (write to a temporary file, then rename) so a kill leaves
 * either the old or the new state, never half of one.
 * @param kind - what the file holds ("cutover"), and the version this dmskit writes
 * @throws UsageError when the file exists but is not such a state
 */
export function fileStateStore<T extends { version: number } = CutoverState>(
  file: string,
  kind: { name: string; version: number } = { name: 'cutover', version: 2 },
): StateStore<T> {
  let pending: Promise<void> = Promise.resolve();
  return {
    location: file,
    load: async () => {
      const text = await readFile(file, 'utf8').catch(() => undefined);
      if (text === undefined) return undefined;
      try {
        const state = JSON.parse(text) as T;
        if (typeof state !== 'object' || state === null || !('steps' in state))
          throw new Error(`not a dmskit ${kind.name} state`);
        if (state.version !== kind.version)
          throw new Error(`a ${kind.name} state of version ${String(state.version)}, from another dmskit`);
        return state;
      } catch (error) {
        throw new UsageError(`${file}: ${(error as Error).message}; move it away to start anew`);
      }
    },
    save: (state) => {
      // The state as it is now, written after any save still under way: saves never interleave.
      const text = `${JSON.stringify(state, null, 2)}\n`;
      const write = async () => {
        await mkdir(path.dirname(file), { recursive: true });
        const tmp = `${file}.${process.pid}.tmp`;
        await writeFile(tmp, text);
        await rename(tmp, file);
      };
      const next = pending.then(write, write);
      pending = next.catch(() => undefined);
      return next;
    },
  };
}

/** A state kept in memory (the rehearsal: one process, nothing to resume). */
export function memoryStateStore<T = CutoverState>(): StateStore<T> {
  let current: T | undefined;
  return {
    location: 'memory',
    load: async () => (current ? structuredClone(current) : undefined),
    save: async (s) => {
      current = structuredClone(s);
    },
  };
}

/** A migration's state file in a state folder: `<dir>/<kind>-<name>-<environment>.json`. */
export function defaultStateFile(dir: string, name: string, environment: string, kind = 'cutover'): string {
  return path.join(dir, `${kind}-${name}-${environment}.json`);
}
