import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const made: string[] = [];

/** A new directory `<tmp>/dmskit-<name>-XXXXXX`, removed after the test file (helpers/setup.ts). */
export async function scratchDir(name: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), `dmskit-${name}-`));
  made.push(dir);
  return dir;
}

/** Removes every directory {@link scratchDir} made. */
export async function removeScratchDirs(): Promise<void> {
  await Promise.all(made.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}
