import cliTruncate from 'cli-truncate';
import prettyMs from 'pretty-ms';
import stringWidth from 'string-width';
import { formatCount } from './format.js';
import { renderTable } from './table.js';

/**
 * One table's line in `dmskit status`, as the DMS console's "Table statistics" shows it (DMS API
 * `DescribeTableStatistics`: TableState, FullLoadRows, Inserts, Updates, Deletes, LastUpdateTime,
 * ValidationState). Counts are rows; changes are those applied during CDC.
 */
export interface TableStatistics {
  /** `schema.table`. */
  readonly table: string;
  /** "Table completed", "Full load", "Before load", ... (DMS words; the native engine maps to them). */
  readonly state: string;
  readonly fullLoadRows: number;
  readonly inserts: number;
  readonly updates: number;
  readonly deletes: number;
  /** When a change was last applied to it (ISO), when known. */
  readonly lastApply: string | null;
  /** "Validated", "Mismatched records", "Not enabled", "Pending records", ... */
  readonly validation: string;
}

/** The columns the view sorts by (`status --sort`). */
export type StatisticsSort =
  | 'name'
  | 'state'
  | 'rows'
  | 'inserts'
  | 'updates'
  | 'deletes'
  | 'changes'
  | 'last-apply';

const changes = (t: TableStatistics) => t.inserts + t.updates + t.deletes;

/** The rows in `sort` order: names A-Z, numbers and times largest or latest first (ties by name). */
export function sortStatistics(rows: readonly TableStatistics[], sort: StatisticsSort): TableStatistics[] {
  const key: Record<StatisticsSort, (t: TableStatistics) => number | string> = {
    name: (t) => t.table,
    state: (t) => t.state,
    rows: (t) => -t.fullLoadRows,
    inserts: (t) => -t.inserts,
    updates: (t) => -t.updates,
    deletes: (t) => -t.deletes,
    changes: (t) => -changes(t),
    'last-apply': (t) => -(t.lastApply ? Date.parse(t.lastApply) : 0),
  };
  const k = key[sort];
  return [...rows].sort((a, b) => {
    const x = k(a);
    const y = k(b);
    if (x < y) return -1;
    if (x > y) return 1;
    return a.table < b.table ? -1 : a.table > b.table ? 1 : 0;
  });
}

/** How the view fits the terminal. */
export interface StatisticsLayout {
  readonly sort: StatisticsSort;
  /** Terminal width, columns. */
  readonly columns: number;
  /** Lines the view may take (with --watch: the terminal's rows less the lines above it); all when absent. */
  readonly height?: number;
  /** "Now", for the age of the last apply (ms since the epoch). @default Date.now() */
  readonly now?: number;
  readonly color?: boolean;
}

/** Shorter words for a narrow terminal. */
const SHORT_STATES: Record<string, string> = {
  'Table completed': 'completed',
  'Before load': 'queued',
  'Full load': 'loading',
  'Table error': 'error',
  'Table cancelled': 'cancelled',
};
const SHORT_VALIDATION: Record<string, string> = {
  'Not enabled': '-',
  'Pending records': 'pending',
  'Mismatched records': 'mismatch',
  Validated: 'validated',
  'Not validated': '-',
};

function age(iso: string | null, now: number): string {
  if (!iso) return '-';
  const ms = Math.max(0, now - Date.parse(iso));
  return ms < 1000 ? 'now' : `${prettyMs(ms, { compact: true })} ago`;
}

/**
 * The per-table view of `dmskit status`: a totals line, then one row per table (state, full-load rows,
 * inserts, updates, deletes, last apply, validation) in the chosen order, laid out by
 * {@link renderTable} to the terminal's width; with a height, the rows that do not fit are counted on
 * the last line instead of scrolling the view away.
 */
export function statisticsView(rows: readonly TableStatistics[], layout: StatisticsLayout): string[] {
  const now = layout.now ?? Date.now();
  const sorted = sortStatistics(rows, layout.sort);
  const total = (f: (t: TableStatistics) => number) => formatCount(rows.reduce((n, t) => n + f(t), 0));
  const completed = rows.filter((t) => t.state === 'Table completed').length;
  const head = `${rows.length} table(s), ${completed} completed; full load ${total((t) => t.fullLoadRows)} rows; CDC ${total((t) => t.inserts)} inserts, ${total((t) => t.updates)} updates, ${total((t) => t.deletes)} deletes (sorted by ${layout.sort})`;
  // The header line, the table's header, and a line for what did not fit.
  const room = layout.height === undefined ? sorted.length : Math.max(1, layout.height - 3);
  const shown = sorted.length > room ? sorted.slice(0, room) : sorted;
  const narrow = layout.columns < 110;
  const headers = narrow
    ? ['table', 'state', 'loaded', 'ins', 'upd', 'del', 'applied', 'validation']
    : ['table', 'state', 'full-load rows', 'inserts', 'updates', 'deletes', 'last apply', 'validation'];
  const cells = shown.map((t) => [
    t.table,
    narrow ? (SHORT_STATES[t.state] ?? t.state) : t.state,
    formatCount(t.fullLoadRows),
    formatCount(t.inserts),
    formatCount(t.updates),
    formatCount(t.deletes),
    age(t.lastApply, now),
    narrow ? (SHORT_VALIDATION[t.validation] ?? t.validation) : t.validation,
  ]);
  // Every column but the name at its width; the name gets what is left, truncated in the middle.
  const others = headers
    .slice(1)
    .reduce(
      (n, h, k) => n + 2 + Math.max(stringWidth(h), ...cells.map((r) => stringWidth(r[k + 1] ?? ''))),
      0,
    );
  const nameWidth = Math.max(8, layout.columns - others);
  for (const r of cells) r[0] = cliTruncate(r[0] as string, nameWidth, { position: 'middle' });
  const lines = renderTable(headers, cells, {
    columns: layout.columns,
    alignRight: [2, 3, 4, 5],
    ...(layout.color === undefined ? {} : { color: layout.color }),
  });
  const out = [head, ...lines];
  if (shown.length < sorted.length)
    out.push(`... and ${sorted.length - shown.length} more table(s) (--sort chooses which come first)`);
  return layout.height === undefined ? out : out.slice(0, Math.max(layout.height, 2));
}
