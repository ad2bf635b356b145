import pc from 'picocolors';
import stringWidth from 'string-width';

/**
 * dmskit's reports are Markdown (files, `--markdown`, pipes); on a terminal they print as plain text with
 * colour. This turns the subset the reports use into that text: headings and `**bold**` in bold, `code`
 * without its backticks, `:x:`/`:warning:`/`:information_source:`/`:white_check_mark:` as coloured marks,
 * tables aligned in columns (or, when wider than the terminal, one block per row). Colour follows
 * picocolors (`NO_COLOR`, `FORCE_COLOR`, a TTY).
 */
export function markdownForTerminal(md: string, options: { color?: boolean; columns?: number } = {}): string {
  const c = pc.createColors(options.color ?? pc.isColorSupported);
  const columns = options.columns ?? 100;
  const inline = (s: string): string =>
    s
      .replace(/\\\|/g, '|')
      .replace(/\*\*(.+?)\*\*/g, (_, t: string) => c.bold(t))
      .replace(/`([^`]+)`/g, (_, t: string) => c.cyan(t))
      .replace(/:x:/g, c.red('✗'))
      .replace(/:warning:/g, c.yellow('!'))
      .replace(/:information_source:/g, c.blue('i'))
      .replace(/:white_check_mark:/g, c.green('✓'));
  const out: string[] = [];
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      out.push(c.bold(inline(heading[2] as string)));
      continue;
    }
    if (!line.startsWith('|')) {
      out.push(inline(line));
      continue;
    }
    const rows: string[][] = [];
    while (i < lines.length && (lines[i] as string).startsWith('|')) {
      const cells = splitRow(lines[i] as string);
      if (!cells.every((x) => /^:?-{3,}:?$/.test(x))) rows.push(cells.map(inline));
      i++;
    }
    i--;
    out.push(...table(rows, columns, c));
  }
  return out.join('\n');
}

/** The cells of a Markdown table row, `\|` kept inside a cell. */
function splitRow(line: string): string[] {
  const body = line.trim().replace(/^\|/, '').replace(/\|$/, '');
  return body.split(/(?<!\\)\|/).map((x) => x.trim());
}

function table(rows: string[][], columns: number, c: ReturnType<typeof pc.createColors>): string[] {
  const [head, ...body] = rows;
  if (!head) return [];
  const widths = head.map((_, k) => Math.max(...rows.map((r) => stringWidth(r[k] ?? ''))));
  const total = widths.reduce((n, w) => n + w + 2, 0);
  if (total <= columns) {
    const pad = (s: string, w: number) => s + ' '.repeat(Math.max(0, w - stringWidth(s)));
    return [
      c.bold(
        head
          .map((h, k) => pad(h, widths[k] as number))
          .join('  ')
          .trimEnd(),
      ),
      ...body.map((r) =>
        r
          .map((x, k) => pad(x, widths[k] as number))
          .join('  ')
          .trimEnd(),
      ),
    ];
  }
  // Too wide: the first two cells on a line, then each other cell under its header.
  return body.flatMap((r) => [
    r.slice(0, 2).filter(Boolean).join(' '),
    ...r.slice(2).map((x, k) => `    ${c.dim(head[k + 2] || '')}${head[k + 2] ? ': ' : ''}${x}`),
  ]);
}

/** A Markdown report as stdout should get it: plain text with colour on a terminal, Markdown elsewhere. */
export function forStdout(md: string, stream: NodeJS.WriteStream = process.stdout): string {
  if (!stream.isTTY) return md;
  return `${markdownForTerminal(md, { color: pc.isColorSupported, columns: stream.columns ?? 100 })}\n`;
}
