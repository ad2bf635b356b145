import { displayName } from '@dmskit/shared';
import Table from 'cli-table3';
import { createLogUpdate } from 'log-update';
import type { LoadFigures } from '../fullload/copy.js';
import type { TableProgress } from '../native/status.js';
import { formatBytes, formatCount } from './format.js';
import { loadSummaryLine, renderLoad, tableLoadLine } from './load-view.js';

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
  const writes = f.writes === undefined ? '' : `  writes committed on source: ${formatCount(f.writes)}`;
  const seconds = f.lagSeconds === null ? 'unknown s (no walsender)' : `${f.lagSeconds.toFixed(2)} s`;
  const problems = f.problems?.length ? `\n  ${f.problems.join('\n  ')}` : '';
  return `lag: ${formatBytes(f.lagBytes)} / ${seconds}${writes}${problems}`;
}

/** A planner estimate (`reltuples`): `~` before it, `?` for a table never analysed (-1). */
function estimate(n: number): string {
  return n < 0 ? '?' : `~${formatCount(n)}`;
}

function renderTable(f: ProgressFrame): string {
  const table = new Table({
    head: ['table', 'state', 'rows on target', 'rows on source'],
    style: { head: [], border: [] },
  });
  for (const t of f.tables) {
    const key = `${t.schema}.${t.table}`;
    table.push([
      displayName(t),
      t.state,
      // While copying, pg_stat_progress_copy counts exactly; otherwise the statistics estimate.
      t.state === 'copying' ? formatCount(t.rows) : `~${formatCount(t.rows)}`,
      f.sourceRows?.has(key) ? estimate(f.sourceRows.get(key)!) : '',
    ]);
  }
  return `${table.toString()}\n${lagLine(f)}`;
}

/**
 * The live display: on a terminal, a table of per-table copy state and rows and a lag line, redrawn in
 * place (log-update, cli-table3); elsewhere (CI, a pipe), plain lines: one per table state change and a
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
        last = renderTable(f);
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
