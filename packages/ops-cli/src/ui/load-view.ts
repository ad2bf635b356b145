import { displayName } from '@dmskit/shared';
import cliTruncate from 'cli-truncate';
import type { LoadFigures, TableLoad } from '../fullload/copy.js';
import { formatBytes, formatCount, formatDuration } from './format.js';

/** Rows per second of a table or the whole load, from its rows and ms. */
function rate(rows: number, ms: number): string {
  return ms > 0 ? `${formatCount(Math.round((rows * 1000) / ms))} rows/s` : '';
}

function eta(ms: number | null): string {
  return ms === null ? 'ETA ?' : `ETA ${formatDuration(ms)}`;
}

/** What a table line says after its name: state, rows against the estimate, percent, rate, ETA. */
function tableLoadDetail(t: TableLoad, stopped: boolean): string {
  if (t.state === 'waiting')
    return `waiting (${t.estimatedRows < 0 ? '?' : `~${formatCount(t.estimatedRows)}`} rows, ${formatBytes(t.relationBytes)})`;
  if (t.state === 'done')
    return `${formatCount(t.rows)} rows, ${formatBytes(t.bytes)} in ${formatDuration(t.ms)} (${rate(t.rows, t.ms)})`;
  const of = t.estimatedRows > 0 ? ` of ~${formatCount(t.estimatedRows)}` : '';
  const pct = t.estimatedRows > 0 ? ` ${Math.min(99, Math.floor((100 * t.rows) / t.estimatedRows))}%` : '';
  return `${formatCount(t.rows)}${of} rows${pct}, ${stopped ? 'stopped' : `${rate(t.rows, t.ms)}, ${eta(t.etaMs)}`}`;
}

/**
 * One line of a table: its name, then state, rows against the estimate, percent, rate, ETA or time
 * taken. With `width`, a long name is shortened in its middle so that the figures stay whole. `stopped`:
 * the load's run is gone (an ETA would be a lie): rows as saved, no rate, no ETA.
 */
export function tableLoadLine(t: TableLoad, width?: number, stopped = false): string {
  const detail = tableLoadDetail(t, stopped);
  let name = displayName(t);
  if (width !== undefined && name.length + 2 + detail.length > width)
    name = cliTruncate(name, Math.max(12, width - 2 - detail.length), { position: 'middle' });
  return `${name}: ${detail}`;
}

/**
 * The load's first line: percent, rows, bytes, rate, ETA, tables done, workers (fits 100 columns).
 * `stopped`: the load's run is gone: no rate, no ETA.
 */
export function loadSummaryLine(f: LoadFigures, stopped = false): string {
  const pct = Math.floor(f.fraction * 100);
  const mbps = f.elapsedMs > 0 && !stopped ? ` at ${formatBytes((f.bytes * 1000) / f.elapsedMs)}/s` : '';
  const done = f.tables.filter((t) => t.state === 'done').length;
  return `full load ${pct}%: ${formatCount(f.rows)} rows, ${formatBytes(f.bytes)}${mbps}, ${
    f.fraction >= 1 ? `done in ${formatDuration(f.elapsedMs)}` : stopped ? 'stopped' : eta(f.etaMs)
  }; ${done}/${f.tables.length} tables, ${f.jobs} workers`;
}

/**
 * The live view of a full load, fitted to a terminal of `columns` x `rows`: the summary line, then the
 * tables being copied, then those waiting (largest first) and those done, as many as fit; the rest is
 * counted on the last line. Every line is cut to the width, so nothing wraps and the view never scrolls.
 */
export function renderLoad(f: LoadFigures, size: { columns: number; rows: number }): string {
  const room = Math.max(3, size.rows - 1);
  const copying = f.tables.filter((t) => t.state === 'copying');
  const waiting = f.tables
    .filter((t) => t.state === 'waiting')
    .sort((a, b) => b.relationBytes - a.relationBytes);
  const done = f.tables.filter((t) => t.state === 'done');
  const ordered = [...copying, ...waiting, ...done];
  const lines = [loadSummaryLine(f)];
  const fits = ordered.length <= room - 1 ? ordered.length : room - 2;
  const width = Math.max(20, size.columns - 1);
  for (const t of ordered.slice(0, fits)) lines.push(`  ${tableLoadLine(t, width - 2)}`);
  const hidden = ordered.slice(fits);
  if (hidden.length) {
    const w = hidden.filter((t) => t.state === 'waiting').length;
    const d = hidden.filter((t) => t.state === 'done').length;
    const c = hidden.length - w - d;
    lines.push(
      `  … ${[c ? `${c} copying` : '', w ? `${w} waiting` : '', d ? `${d} done` : ''].filter(Boolean).join(', ')}`,
    );
  }
  return lines.map((l) => cliTruncate(l, width)).join('\n');
}
