import { rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { selectTables } from '@dmskit/shared';
import { closeQuietly, compareDatabases, listTables, openConnection, verdictLine } from '@dmskit/validation';
import type { CommandOutcome } from '../outcome.js';
import { parseConnectionUrl, urlWithoutPassword } from '../pg/url.js';
import { assertTargetEmpty, serverFacts } from '../rehearsal/checks.js';
import { findPgTool, runPgTool } from '../schema/pgtools.js';
import { formatBytes, formatDuration } from '../ui/format.js';
import { ownedTempDir } from '../util/temp-dir.js';
import { since } from '../util/time.js';
import { validationExitCode } from './validate.js';

/** Timings of a proof-of-concept migration, per phase, in ms. */
export interface PocReport {
  readonly dumpMs: number;
  readonly dumpBytes: number;
  readonly restoreMs: number;
  readonly analyzeMs: number;
  readonly validationMs: number;
  readonly verdict: string;
  readonly downtimeMs: number;
}

const pw = (url: string): Record<string, string> => {
  const p = decodeURIComponent(new URL(url).password);
  return p ? { PGPASSWORD: p } : {};
};

/**
 * `dmskit poc`: the proof-of-concept migration of a small database with `pg_dump -Fc -Z <level>` and
 * `pg_restore -j <jobs>`, timed per phase, then ANALYZE and validation. It needs downtime: writes made
 * on the source after the dump begins are not copied.
 */
export async function poc(o: {
  cwd: string;
  source: string;
  target: string;
  compress: number;
  jobs: number;
  json?: boolean;
}): Promise<CommandOutcome & { report: PocReport }> {
  parseConnectionUrl(o.source, '--source-url');
  parseConnectionUrl(o.target, '--target-url');
  process.stderr.write(
    'dmskit poc needs downtime: stop writes to the source for its whole run; writes made after the dump begins are not copied.\n',
  );
  const [source, target] = await Promise.all([
    openConnection(o.source, 'source'),
    openConnection(o.target, 'target'),
  ]);
  const dir = await ownedTempDir('poc');
  const started = performance.now();
  try {
    const facts = await serverFacts(source);
    const tables = selectTables(await listTables(source), [{ action: 'include', schema: '%', table: '%' }]);
    await assertTargetEmpty(target, tables, o.target.replace(/:[^:@/]*@/, ':***@'));
    const pgDump = await findPgTool('pg_dump', facts.major);
    const pgRestore = await findPgTool('pg_restore', pgDump.major);
    const file = path.join(dir, 'poc.dump');
    let t = performance.now();
    process.stderr.write(`  dump: ${pgDump.path} -Fc -Z ${o.compress}\n`);
    await runPgTool(
      pgDump,
      [
        '--format=custom',
        `--compress=${o.compress}`,
        '--no-publications',
        '--no-subscriptions',
        `--file=${file}`,
        `--dbname=${urlWithoutPassword(o.source)}`,
      ],
      pw(o.source),
    );
    const dumpMs = since(t);
    const dumpBytes = (await stat(file)).size;
    t = performance.now();
    process.stderr.write(`  restore: ${pgRestore.path} -j ${o.jobs}\n`);
    await runPgTool(
      pgRestore,
      [
        `--jobs=${o.jobs}`,
        '--no-owner',
        '--no-privileges',
        '--exit-on-error',
        `--dbname=${urlWithoutPassword(o.target)}`,
        file,
      ],
      pw(o.target),
    );
    const restoreMs = since(t);
    t = performance.now();
    await target.query('ANALYZE');
    const analyzeMs = since(t);
    t = performance.now();
    const result = await compareDatabases({ source: o.source, target: o.target });
    const validationMs = since(t);
    const report: PocReport = {
      dumpMs,
      dumpBytes,
      restoreMs,
      analyzeMs,
      validationMs,
      verdict: result.verdict,
      downtimeMs: since(started),
    };
    if (o.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else {
      process.stdout.write(
        [
          `dump     ${formatDuration(dumpMs)} (${formatBytes(dumpBytes)}, -Z ${o.compress})`,
          `restore  ${formatDuration(restoreMs)} (-j ${o.jobs})`,
          `analyze  ${formatDuration(analyzeMs)}`,
          `validate ${formatDuration(validationMs)}: ${verdictLine(result)}`,
          `downtime needed: at least ${formatDuration(report.downtimeMs)} (the whole run)`,
          '',
        ].join('\n'),
      );
    }
    return { exitCode: validationExitCode(result), report };
  } finally {
    await Promise.all([closeQuietly(source), closeQuietly(target)]);
    await rm(dir, { recursive: true, force: true });
  }
}
