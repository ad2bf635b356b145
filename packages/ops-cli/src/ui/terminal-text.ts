import pc from 'picocolors';
import { renderTable } from './table.js';

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
    const [head, ...body] = rows;
    if (head) out.push(...renderTable(head, body, { columns, color: options.color ?? pc.isColorSupported }));
  }
  return out.join('\n');
}

/** The cells of a Markdown table row, `\|` kept inside a cell. */
function splitRow(line: string): string[] {
  const body = line.trim().replace(/^\|/, '').replace(/\|$/, '');
  return body.split(/(?<!\\)\|/).map((x) => x.trim());
}

/** A Markdown report as stdout should get it: plain text with colour on a terminal, Markdown elsewhere. */
export function forStdout(md: string, stream: NodeJS.WriteStream = process.stdout): string {
  if (!stream.isTTY) return md;
  return `${markdownForTerminal(md, { color: pc.isColorSupported, columns: stream.columns ?? 100 })}\n`;
}
