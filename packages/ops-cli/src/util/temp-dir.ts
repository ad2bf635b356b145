import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { alive } from './process.js';
import { sleep } from './time.js';

/** The pid of a PostgreSQL server still running on a data directory below `dir` (one level deep). */
function serverIn(dir: string): number | undefined {
  for (const pidFile of [path.join(dir, 'postmaster.pid'), path.join(dir, 'data', 'postmaster.pid')]) {
    if (!existsSync(pidFile)) continue;
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    if (Number.isInteger(pid) && pid > 0 && alive(pid)) return pid;
  }
  return undefined;
}

/**
 * Stops a throw-away server whose dmskit run is gone (it runs in a process group of its own, so nothing
 * else stops it): an immediate shutdown (SIGQUIT, as `pg_ctl -m immediate`), waited for up to 5 s.
 * @returns whether it is gone
 */
async function stopOrphan(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 'SIGQUIT');
  } catch {
    return !alive(pid);
  }
  for (let i = 0; i < 50 && alive(pid); i++) await sleep(100);
  return !alive(pid);
}

/**
 * Creates a temporary folder `<tmp>/dmskit-<kind>-<pid>-XXXXXX` that says which run owns it, and first
 * removes the folders of the same kind whose run is gone (a run killed with SIGKILL cannot remove its
 * own), first stopping a server that still runs on a data directory inside one (dmskit's throw-away
 * servers run in a process group of their own): a folder is left alone while its pid is alive. The caller removes its folder when done.
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
      const server = serverIn(dir);
      if (server && !(await stopOrphan(server))) return;
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }),
  );
  return mkdtemp(path.join(root, `dmskit-${kind}-${process.pid}-`));
}
