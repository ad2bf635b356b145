import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '@dmskit/shared';
import type { FenceRecord } from './fence.js';

/** The steps of the cutover runbook, in order. */
export const CUTOVER_STEPS = [
  'preconditions',
  'fence',
  'read-lsn',
  'wait-for-lsn',
  'stop-replication',
  'sequences',
  'validation',
  'ready',
  'finish',
] as const;
export type CutoverStep = (typeof CUTOVER_STEPS)[number];

/**
 * What a cutover has done so far, saved after every step so that an interrupted cutover resumes where
 * it stopped, and a rollback knows what to undo (the fence's prior setting, a stopped task).
 */
export interface CutoverState {
  readonly version: 1;
  readonly migration: string;
  readonly engine: 'native' | 'dms';
  status: 'in-progress' | 'ready' | 'failed' | 'rolled-back';
  startedAt: string;
  /** When writes first stopped (ISO); the window runs from here, across a resume too. */
  fenceStartedAt?: string;
  fence?: FenceRecord;
  fenceLsn?: string;
  confirmedLsn?: string;
  steps: Partial<Record<CutoverStep, { at: string; ms: number; detail: string }>>;
  error?: string;
}

/** Where the state lives. */
export interface StateStore {
  load(): Promise<CutoverState | undefined>;
  save(state: CutoverState): Promise<void>;
  readonly location: string;
}

/**
 * A JSON state file, replaced atomically (write to a temporary file, then rename) so a kill leaves
 * either the old or the new state, never half of one.
 * @throws UsageError when the file exists but is not a cutover state
 */
export function fileStateStore(file: string): StateStore {
  return {
    location: file,
    load: async () => {
      const text = await readFile(file, 'utf8').catch(() => undefined);
      if (text === undefined) return undefined;
      try {
        const state = JSON.parse(text) as CutoverState;
        if (state.version !== 1 || !state.steps) throw new Error('not a dmskit cutover state');
        return state;
      } catch (error) {
        throw new UsageError(`${file}: ${(error as Error).message}; move it away to start a new cutover`);
      }
    },
    save: async (state) => {
      await mkdir(path.dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`);
      await rename(tmp, file);
    },
  };
}

/** A state kept in memory (the rehearsal: one process, nothing to resume). */
export function memoryStateStore(): StateStore {
  let current: CutoverState | undefined;
  return {
    location: 'memory',
    load: async () => (current ? structuredClone(current) : undefined),
    save: async (s) => {
      current = structuredClone(s);
    },
  };
}

/** The default state file of a migration: `.dmskit/cutover-<name>-<environment>.json` under `cwd`. */
export function defaultStateFile(cwd: string, name: string, environment: string): string {
  return path.join(cwd, '.dmskit', `cutover-${name}-${environment}.json`);
}
