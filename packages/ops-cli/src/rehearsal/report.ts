import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { redact } from '@dmskit/shared';
import { verdictLine } from '@dmskit/validation';
import { stepsMarkdown, tablesMarkdown } from '../ui/closing-summary.js';
import { formatBytes, formatCount, formatDuration } from '../ui/format.js';
import type { RehearsalReport } from './run.js';

/** `150018` -> `15.18` (server_version_num, PostgreSQL 10 and later). */
export function formatServerVersion(num: number): string {
  return `${Math.floor(num / 10_000)}.${num % 10_000}`;
}

/** The rehearsal report in Markdown: verdict first, then the measurements a reviewer asks for. */
export function rehearsalMarkdown(r: RehearsalReport): string {
  const c = r.cutover;
  const w = c.window;
  const lines = [
    `# Rehearsal of ${r.migration} (${r.engine} engine)`,
    '',
    `**Validation: ${verdictLine(r.validation)}**`,
    '',
    `- Started ${r.startedAt}, took ${formatDuration(r.durationMs)}`,
    `- Source ${r.servers.source.address} (PostgreSQL ${formatServerVersion(r.servers.source.version)}${r.servers.source.started ? ', started by dmskit' : ''}); target ${r.servers.target.address} (PostgreSQL ${formatServerVersion(r.servers.target.version)}${r.servers.target.started ? ', started by dmskit' : ''})`,
    r.sampleData
      ? `- Sample data: e-commerce set at scale ${r.sampleData.scale}`
      : '- Sample data: none (the database as it is)',
    `- Schema: ${r.schema.preDataEntries} pre-data entries before the load, ${r.schema.postDataEntries} post-data entries (primary keys, indexes, constraints) after it (${r.schema.pgDump})`,
    `- Full load: ${formatCount(r.fullLoad.rows)} rows, ${formatBytes(r.fullLoad.tables.reduce((n, t) => n + t.bytes, 0))} in ${formatDuration(r.fullLoad.durationMs)} with ${r.fullLoad.jobs} worker(s), from the replication slot's snapshot`,
    `- CDC: ${formatDuration(r.cdc.durationMs)} with live writes before the cutover; ${formatCount(r.cdc.changesAppliedOnTarget)} row changes applied on the target since the full load's snapshot (by any writer on the source, counted once)${r.cdc.writer ? `; the sample writer committed ${formatCount(r.cdc.writesDuringCdc)} transactions after the full load` : ''}`,
    `- Peak lag: ${formatBytes(r.lag.peakBytes)} / ${r.lag.peakSeconds.toFixed(2)} s; ${r.lag.atCutoverSeconds.toFixed(2)} s when the cutover began`,
    '',
    '## Cutover',
    '',
    `Write-unavailability window: **${formatDuration(w.totalMs)}** (fence ${formatDuration(w.fenceMs)}, watermark on the target ${formatDuration(w.watermarkMs)}, stopping replication ${formatDuration(w.stopReplicationMs)}, sequences ${formatDuration(w.sequencesMs)}${c.finalValidation === 'before-ready' ? `, final validation ${formatDuration(w.validationMs)}` : ''})${c.finalValidation === 'after-ready' ? '; the final validation ran after ready, out of the window' : ''}`,
    '',
    `- Fence: ${c.fenceMethod}, ${c.sessionsEnded} session(s) ended; proven: ${c.fenceProof}; watermark committed at ${c.fenceLsn} and seen on the target`,
    `- Sequences copied: ${c.sequences.length}`,
    `- Source unfenced after the rehearsal: ${c.sourceUnfenced ? 'yes' : 'no'}`,
    '',
    '## Steps',
    '',
    ...stepsMarkdown(r.steps),
    '',
    '## Tables',
    '',
    '| table | source rows | target rows | status |',
    '| --- | ---: | ---: | --- |',
    ...r.tables.map(
      (t) =>
        `| ${t.table} | ${t.sourceRows === null ? '' : formatCount(t.sourceRows)} | ${t.targetRows === null ? '' : formatCount(t.targetRows)} | ${t.status} |`,
    ),
    '',
    '## Full load',
    '',
    ...tablesMarkdown({ ms: r.fullLoad.durationMs, rows: r.fullLoad.rows, tables: r.fullLoad.tables }),
  ];
  if (r.cdc.ddl?.length)
    lines.push(
      '',
      '## DDL captured on the source during CDC',
      '',
      ...r.cdc.ddl.map(
        (d) =>
          `- ${d.at} ${d.tag}${d.object ? ` ${d.object}` : ''} by ${d.user}${d.applied === 'both' ? ' (dmskit ddl: on both sides)' : ' (source only)'}: \`${d.query.replace(/\s+/g, ' ').replace(/`/g, "'").slice(0, 200)}\``,
      ),
    );
  if (r.warnings.length) lines.push('', '## Warnings', '', ...r.warnings.map((x) => `- ${x}`));
  return redact(`${lines.join('\n')}\n`);
}

/**
 * Writes `report.json` and `report.md` into `dir` (created if needed).
 * @returns the two file paths
 */
export async function writeRehearsalReport(
  report: RehearsalReport,
  dir: string,
): Promise<{ json: string; markdown: string }> {
  await mkdir(dir, { recursive: true });
  const json = path.join(dir, 'report.json');
  const markdown = path.join(dir, 'report.md');
  await writeFile(json, `${redact(JSON.stringify(report, null, 2))}\n`);
  await writeFile(markdown, rehearsalMarkdown(report));
  return { json, markdown };
}
