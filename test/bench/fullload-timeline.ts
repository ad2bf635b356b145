/**
 * Where a load's wall time goes: the target's active sessions sampled every 100 ms (what each runs and
 * whether it waits on a lock) and the machine's CPU from `/proc/stat`, reduced to spans (ms):
 * - before the copy: from the start to the first `COPY ... FROM` (schema, slot, snapshot)
 * - copy: from the first to the last sample with a `COPY ... FROM`
 * - builds after the last row: from the last copy to the last index build or key
 * - foreign keys: from the first to the last sample adding or validating one, and their session time
 * - lock waits: session time (ms) spent waiting on a heavyweight lock
 * - after the builds: to the end (the rest of post-data, privileges, the subscription)
 * - idle cores: core-ms no process used over the whole load, and in the part after the last row
 */
import { appendFile, readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import pg from 'pg';

/** Jiffies of all CPUs: busy and idle (idle + iowait). */
export async function cpu(): Promise<{ busy: number; idle: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, idle };
}

interface Sample {
  at: number;
  /** Each active session: its wait (if a lock) and the start of its statement. */
  active: string[];
  copy: number;
  build: number;
  fk: number;
  lockWaits: number;
  cpu: { busy: number; idle: number };
}

/** The spans of one load (ms, from its start). */
export interface Breakdown {
  wallMs: number;
  beforeCopyMs: number;
  copyMs: number;
  buildsAfterLastRowMs: number;
  foreignKeySpanMs: number;
  foreignKeySessionMs: number;
  lockWaitSessionMs: number;
  afterBuildsMs: number;
  idleCoreMs: number;
  idleCoreMsAfterLastRow: number;
}

/**
 * Starts sampling the server at `serverUrl` (any database) for sessions on `database`.
 * @returns stop(): the breakdown from now until the call
 */
export async function sampleLoad(serverUrl: string, database: string): Promise<() => Promise<Breakdown>> {
  const c = new pg.Client({ connectionString: serverUrl });
  await c.connect();
  const t0 = performance.now();
  const cpu0 = await cpu();
  const samples: Sample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const { rows } = await c.query(
        `SELECT query, wait_event_type FROM pg_stat_activity
          WHERE datname = $1 AND state = 'active' AND pid <> pg_backend_pid()`,
        [database],
      );
      const s: Sample = {
        at: performance.now() - t0,
        active: (rows as { query: string; wait_event_type: string | null }[]).map(
          (r) =>
            `${r.wait_event_type === 'Lock' ? '[lock] ' : ''}${r.query.replace(/\s+/g, ' ').slice(0, 90)}`,
        ),
        copy: 0,
        build: 0,
        fk: 0,
        lockWaits: 0,
        cpu: await cpu(),
      };
      for (const r of rows as { query: string; wait_event_type: string | null }[]) {
        if (r.wait_event_type === 'Lock') s.lockWaits++;
        else if (/^\s*COPY\b[\s\S]*\bFROM\s+STDIN/i.test(r.query)) s.copy++;
        else if (/FOREIGN KEY|VALIDATE CONSTRAINT/i.test(r.query)) s.fk++;
        else if (/CREATE\s+(UNIQUE\s+)?INDEX|ADD CONSTRAINT/i.test(r.query)) s.build++;
      }
      samples.push(s);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return async () => {
    running = false;
    await loop.catch(() => undefined);
    await c.end();
    const wallMs = performance.now() - t0;
    const cpu1 = await cpu();
    // DMSKIT_BENCH_TIMELINE=file: every sample, for a look at what ran when.
    if (process.env.DMSKIT_BENCH_TIMELINE)
      await appendFile(
        process.env.DMSKIT_BENCH_TIMELINE,
        `${samples.map((s, i) => `${(s.at / 1000).toFixed(1)} cpu ${i ? ((100 * (s.cpu.busy - (samples[i - 1] as Sample).cpu.busy)) / Math.max(1, s.cpu.busy - (samples[i - 1] as Sample).cpu.busy + s.cpu.idle - (samples[i - 1] as Sample).cpu.idle)).toFixed(0) : '-'}% | ${s.active.join(' | ')}`).join('\n')}\n---\n`,
      );
    const cores = availableParallelism();
    const idleShare = (a: { busy: number; idle: number }, b: { busy: number; idle: number }) =>
      (b.idle - a.idle) / Math.max(1, b.idle - a.idle + b.busy - a.busy);
    const first = (f: (s: Sample) => boolean) => samples.find(f)?.at;
    const last = (f: (s: Sample) => boolean) => samples.findLast(f)?.at;
    const copyStart = first((s) => s.copy > 0) ?? 0;
    const copyEnd = last((s) => s.copy > 0) ?? copyStart;
    const buildsEnd = Math.max(copyEnd, last((s) => s.build > 0 || s.fk > 0) ?? copyEnd);
    const fkStart = first((s) => s.fk > 0);
    const fkEnd = last((s) => s.fk > 0);
    const sum = (f: (s: Sample) => number) => samples.reduce((n, s) => n + f(s), 0) * 100;
    const atCopyEnd = samples.find((s) => s.at >= copyEnd)?.cpu ?? cpu1;
    return {
      wallMs,
      beforeCopyMs: copyStart,
      copyMs: copyEnd - copyStart,
      buildsAfterLastRowMs: buildsEnd - copyEnd,
      foreignKeySpanMs: fkStart === undefined || fkEnd === undefined ? 0 : fkEnd - fkStart,
      foreignKeySessionMs: sum((s) => s.fk),
      lockWaitSessionMs: sum((s) => s.lockWaits),
      afterBuildsMs: wallMs - buildsEnd,
      idleCoreMs: idleShare(cpu0, cpu1) * cores * wallMs,
      idleCoreMsAfterLastRow: idleShare(atCopyEnd, cpu1) * cores * (wallMs - copyEnd),
    };
  };
}
