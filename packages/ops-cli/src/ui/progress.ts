import { displayName } from '@dmskit/shared';
import cliTruncate from 'cli-truncate';
import { createLogUpdate } from 'log-update';
import type { LoadFigures } from '../fullload/copy.js';
import type { TableProgress } from '../native/status.js';
import { formatBytes, formatCount } from './format.js';
import { loadSummaryLine, renderLoad, tableLoadLine } from './load-view.js';
import { type StatisticsSort, statisticsView, type TableStatistics } from './table-statistics.js';

/** What the live display shows at one moment of a migration. */
export interface ProgressFrame {
  readonly tables: readonly TableProgress[];
  /** Source rows per `schema.table`, when known. */
  readonly sourceRows?: ReadonlyMap<string, number>;
  readonly lagBytes: number;
  /** null: unknown (no walsender reads the slot). */
  readonly lagSeconds: number | null;
  /** Problems of the replication's health, shown under the lag. */
  readonly problems?: readonly string[];
  /** Transactions committed on the source by the sample writer, if one runs. */
  readonly writes?: number;
  /** `status --watch`: the per-table statistics, shown instead of the table states, in this order. */
  readonly statistics?: { readonly rows: readonly TableStatistics[]; readonly sort: StatisticsSort };
}

/** A sink for progress: phases (kept), frames (replaced), and plain messages. */
export interface Progress {
  phase(text: string): void;
  frame(frame: ProgressFrame): void;
  /** The full load's figures (replaced on a terminal; a line per finished table elsewhere). */
  load(figures: LoadFigures): void;
  info(text: string): void;
  /** Clears the live part; later output starts on a clean line. */
  stop(): void;
}

function lagLine(f: ProgressFrame): string {
  const writes = f.writes === undefined ? '' : `  sample writer: ${formatCount(f.writes)} transactions`;
  const seconds = f.lagSeconds === null ? 'unknown s (no walsender)' : `${f.lagSeconds.toFixed(2)} s`;
  const problems = f.problems?.length ? `\n  ${f.problems.join('\n  ')}` : '';
  return `lag: ${formatBytes(f.lagBytes)} / ${seconds}${writes}${problems}`;
}

/** A planner estimate (`reltuples`): `~` before it, `?` for a table never analysed (-1). */
function estimate(n: number): string {
  return n < 0 ? '?' : `~${formatCount(n)}`;
}

/**
 * The live replication view fitted to a terminal of `columns` x `rows`: the lag line (and problems)
 * first, then one aligned line per table, tables still copying first; what does not fit is counted on the
 * last line. Lines are cut to the width, so nothing wraps and the view never scrolls.
 */
export function renderReplication(f: ProgressFrame, size: { columns: number; rows: number }): string {
  const head = lagLine(f).split('\n');
  if (f.statistics) {
    const width = Math.max(20, size.columns - 1);
    const view = statisticsView(f.statistics.rows, {
      sort: f.statistics.sort,
      columns: width,
      height: Math.max(3, size.rows - 1 - head.length),
    });
    return [...head, ...view].map((l) => cliTruncate(l, width)).join('\n');
  }
  const order: Record<string, number> = { copying: 0, queued: 1, copied: 1, synchronized: 1, ready: 2 };
  const tables = [...f.tables].sort((a, b) => (order[a.state] ?? 1) - (order[b.state] ?? 1));
  const cells = tables.map((t) => {
    const key = `${t.schema}.${t.table}`;
    const source = f.sourceRows?.has(key) ? ` of ${estimate(f.sourceRows.get(key) as number)}` : '';
    // While copying, pg_stat_progress_copy counts exactly; otherwise the statistics estimate.
    const rows = t.state === 'copying' ? formatCount(t.rows) : `~${formatCount(t.rows)}`;
    return [displayName(t), t.state, `${rows}${source} rows`];
  });
  const width = Math.max(20, size.columns - 1);
  // Names take what the state and rows leave; a long one is shortened in its middle.
  const rest = Math.max(0, ...cells.map((c) => (c[1] as string).length + (c[2] as string).length + 6));
  for (const c of cells)
    if ((c[0] as string).length > width - rest)
      c[0] = cliTruncate(c[0] as string, Math.max(12, width - rest), { position: 'middle' });
  const widths = [0, 1].map((i) => Math.max(0, ...cells.map((c) => (c[i] as string).length)));
  const lines = cells.map(
    (c) =>
      `  ${(c[0] as string).padEnd(widths[0] as number)}  ${(c[1] as string).padEnd(widths[1] as number)}  ${c[2]}`,
  );
  const room = Math.max(2, size.rows - 1 - head.length);
  let shown = lines;
  if (lines.length > room) {
    shown = lines.slice(0, room - 1);
    const hidden = tables.slice(room - 1);
    const counts = new Map<string, number>();
    for (const t of hidden) counts.set(t.state, (counts.get(t.state) ?? 0) + 1);
    shown.push(`  … ${[...counts].map(([state, n]) => `${n} ${state}`).join(', ')}`);
  }
  return [...head, ...shown].map((l) => cliTruncate(l, width)).join('\n');
}

/**
 * The live display: on a terminal, the lag and a line per table (or the full load's figures), fitted to
 * the terminal and redrawn in place (log-update); elsewhere (CI, a pipe), plain lines: one per table state change and a
 * lag line at most every `plainIntervalMs`.
 */
export function createProgress(
  stream: NodeJS.WriteStream = process.stderr,
  options: { interactive?: boolean; plainIntervalMs?: number } = {},
): Progress {
  const interactive = options.interactive ?? Boolean(stream.isTTY);
  const plainInterval = options.plainIntervalMs ?? 5000;
  if (interactive) {
    const live = createLogUpdate(stream);
    let last = '';
    const keep = (text: string) => {
      live.clear();
      stream.write(`${text}\n`);
      if (last) live(last);
    };
    return {
      phase: (text) => keep(`» ${text}`),
      info: (text) => keep(`  ${text}`),
      frame: (f) => {
        last = renderReplication(f, { columns: stream.columns ?? 80, rows: stream.rows ?? 24 });
        live(last);
      },
      load: (f) => {
        last = renderLoad(f, { columns: stream.columns ?? 80, rows: stream.rows ?? 24 });
        live(last);
      },
      stop: () => {
        live.clear();
        last = '';
      },
    };
  }
  const states = new Map<string, string>();
  let lastLag = 0;
  let lastLoad = 0;
  const finished = new Set<string>();
  return {
    phase: (text) => stream.write(`» ${text}\n`),
    info: (text) => stream.write(`  ${text}\n`),
    frame: (f) => {
      for (const t of f.tables) {
        const key = `${t.schema}.${t.table}`;
        if (states.get(key) !== t.state) {
          states.set(key, t.state);
          stream.write(`  ${displayName(t)}: ${t.state} (${formatCount(t.rows)} rows)\n`);
        }
      }
      if (Date.now() - lastLag >= plainInterval) {
        lastLag = Date.now();
        stream.write(`  ${lagLine(f)}\n`);
        if (f.statistics)
          stream.write(
            `${statisticsView(f.statistics.rows, { sort: f.statistics.sort, columns: stream.columns ?? 120 }).join('\n')}\n`,
          );
      }
    },
    load: (f) => {
      for (const t of f.tables) {
        const key = `${t.schema}.${t.table}`;
        if (t.state === 'done' && !finished.has(key)) {
          finished.add(key);
          stream.write(`  ${tableLoadLine(t)}\n`);
        }
      }
      if (Date.now() - lastLoad >= plainInterval || f.fraction >= 1) {
        lastLoad = Date.now();
        stream.write(`  ${loadSummaryLine(f)}\n`);
      }
    },
    stop: () => undefined,
  };
}

/** A progress sink that prints nothing (for --json and tests). */
export const silentProgress: Progress = {
  phase: () => undefined,
  frame: () => undefined,
  load: () => undefined,
  info: () => undefined,
  stop: () => undefined,
};
