import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { alive } from './process.js';

/** True when a PostgreSQL server still runs on a data directory somewhere below `dir` (one level deep). */
function serverRunsIn(dir: string): boolean {
  for (const pidFile of [path.join(dir, 'postmaster.pid'), path.join(dir, 'data', 'postmaster.pid')]) {
    if (!existsSync(pidFile)) continue;
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (Number.isInteger(pid) && pid > 0 && alive(pid)) return true;
  }
  return false;
}

/**
 * Creates a temporary folder `<tmp>/dmskit-<kind>-<pid>-XXXXXX` that says which run owns it, and first
 * removes the folders of the same kind whose run is gone (a run killed with SIGKILL cannot remove its
 * own): a folder is left alone while its pid is alive or a PostgreSQL server still runs on a data
 * directory inside it. The caller removes its folder when done.
 * @param kind a short word: `schema`, `poc`, `source`, `target`
 * @returns the absolute path of the new folder
 */
export async function ownedTempDir(kind: string): Promise<string> {
  const root = tmpdir();
  const owned = new RegExp(`^dmskit-${kind}-(\\d+)-[A-Za-z0-9]{6}$`);
  const names = await readdir(root).catch(() => [] as string[]);
  await Promise.all(
    names.map(async (name) => {
      const pid = Number(owned.exec(name)?.[1] ?? Number.NaN);
      if (!Number.isInteger(pid) || pid === process.pid || alive(pid)) return;
      const dir = path.join(root, name);
      if (serverRunsIn(dir)) return;
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }),
  );
  return mkdtemp(path.join(root, `dmskit-${kind}-${process.pid}-`));
}
