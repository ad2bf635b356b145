import pc from 'picocolors';
import stringWidth from 'string-width';
import wrapAnsi from 'wrap-ansi';

/** How {@link renderTable} lays a table out. */
export interface TableLayout {
  /** Terminal width in columns. @default process.stdout.columns, else 100 */
  readonly columns?: number;
  /** Bold header, dim labels. @default on a terminal that takes colour (picocolors: NO_COLOR, FORCE_COLOR) */
  readonly color?: boolean;
  /** Columns right-aligned (numbers), by index. */
  readonly alignRight?: readonly number[];
}

/**
 * One row as a block: its first two cells on a line, then its other non-empty cells as `header: value`,
 * several to a line while they fit, indented by four.
 */
function blockRow(
  row: readonly string[],
  head: readonly string[],
  columns: number,
  c: ReturnType<typeof pc.createColors>,
): string[] {
  const lines = [row.slice(0, 2).filter(Boolean).join('  ')];
  let line = '';
  for (let k = 2; k < row.length; k++) {
    const value = row[k] ?? '';
    if (!value) continue;
    const cell = `${c.dim(head[k] ?? '')}: ${value}`;
    if (line && stringWidth(`    ${line}  ${cell}`) > columns) {
      lines.push(`    ${line}`);
      line = cell;
    } else line = line ? `${line}  ${cell}` : cell;
  }
  if (line) lines.push(`    ${line}`);
  return lines;
}

/** A column narrower than this is not wrapped: the table prints as one block per row instead. */
const MIN_WRAPPED = 16;

/**
 * The one table layout of every dmskit command (validate, catalog, status, the reports on a terminal):
 * columns two spaces apart, sized to their widest cell. When that is wider than the terminal, the widest
 * column is wrapped to what is left (when at least 16 columns are); otherwise each row becomes a block,
 * its first two cells on a line, then its other non-empty cells as `header: value`. Cells may carry ANSI colour.
 * @returns the lines, none wider than `columns` except a single word longer than the wrap width
 */
export function renderTable(
  head: readonly string[],
  rows: readonly (readonly (string | number)[])[],
  layout: TableLayout = {},
): string[] {
  // Colour on a terminal only: piped or redirected output stays plain text whatever CI says.
  const c = pc.createColors(layout.color ?? (pc.isColorSupported && Boolean(process.stdout.isTTY)));
  const columns = layout.columns ?? process.stdout.columns ?? 100;
  const body = rows.map((r) => head.map((_, k) => String(r[k] ?? '')));
  const widths = head.map((h, k) => Math.max(stringWidth(h), ...body.map((r) => stringWidth(r[k] ?? ''))));
  const total = () => widths.reduce((n, w) => n + w, 0) + 2 * (widths.length - 1);
  let wrapped = -1;
  if (total() > columns) {
    const widest = widths.indexOf(Math.max(...widths));
    const room = columns - (total() - (widths[widest] as number));
    if (room >= MIN_WRAPPED) {
      widths[widest] = room;
      wrapped = widest;
    } else {
      return body.flatMap((r) => blockRow(r, head, columns, c));
    }
  }
  const right = new Set(layout.alignRight ?? []);
  const pad = (s: string, k: number) => {
    const gap = ' '.repeat(Math.max(0, (widths[k] as number) - stringWidth(s)));
    return right.has(k) ? gap + s : s + gap;
  };
  const line = (cells: readonly string[]) => {
    const parts = cells.map((x, k) =>
      k === wrapped ? wrapAnsi(x, widths[k] as number, { hard: true }).split('\n') : [x],
    );
    const height = Math.max(...parts.map((p) => p.length));
    return Array.from({ length: height }, (_, i) =>
      parts
        .map((p, k) => pad(p[i] ?? '', k))
        .join('  ')
        .trimEnd(),
    );
  };
  return [...line(head).map((l) => c.bold(l)), ...body.flatMap(line)];
}
