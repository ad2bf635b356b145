import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { buildProgram } from '@dmskit/ops-cli';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.js';

/** The cells of a GFM table row: split on every pipe not escaped as `\|` (code spans included, as GFM does). */
function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\|/, '')
    .replace(/(?<!\\)\|$/, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

/** Every table of a Markdown text: its line number, header cells and rows of cells (outside code fences). */
function tables(md: string): { line: number; head: string[]; rows: { line: number; cells: string[] }[] }[] {
  const out: { line: number; head: string[]; rows: { line: number; cells: string[] }[] }[] = [];
  const lines = md.split('\n');
  let fenced = false;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] as string;
    if (l.startsWith('```')) fenced = !fenced;
    if (fenced || !l.startsWith('|')) continue;
    const head = cells(l);
    const rows: { line: number; cells: string[] }[] = [];
    let j = i + 1;
    for (; j < lines.length && (lines[j] as string).startsWith('|'); j++)
      rows.push({ line: j + 1, cells: cells(lines[j] as string) });
    out.push({ line: i + 1, head, rows });
    i = j;
  }
  return out;
}

describe('the README as GitHub renders it', async () => {
  const md = await readFile(path.join(REPO_ROOT, 'README.md'), 'utf8');

  it('every table row has as many cells as its header, under a delimiter row', () => {
    const all = tables(md);
    expect(all.length).toBeGreaterThanOrEqual(5);
    for (const t of all) {
      expect(
        t.rows[0]?.cells.every((c) => /^:?-{3,}:?$/.test(c)),
        `table at line ${t.line}`,
      ).toBe(true);
      for (const r of t.rows) expect(r.cells.length, `README.md:${r.line}`).toBe(t.head.length);
    }
  });

  it('the command table names commands that exist, each in its command cell', () => {
    const known = new Set(buildProgram(() => undefined).commands.map((c) => c.name()));
    const commands = tables(md).find((t) => t.head[0] === 'command');
    expect(commands).toBeDefined();
    for (const r of commands?.rows.slice(1) ?? []) {
      const named = [...(r.cells[0] ?? '').matchAll(/`dmskit ([a-z-]+)/g)].map((m) => m[1] as string);
      for (const n of named) expect(known.has(n), `README.md:${r.line}: dmskit ${n}`).toBe(true);
      // A command cell holds commands and flags, not the description.
      expect((r.cells[0] ?? '').length, `README.md:${r.line}`).toBeLessThan(200);
    }
    for (const name of known) expect(md, name).toContain(`dmskit ${name}`);
  });

  it('the quick start has exactly two commands: the rehearsal and the whole test suite', () => {
    const quick = /## Quick start\n\n```\n([\s\S]*?)```/.exec(md)?.[1];
    expect(quick?.trim().split('\n')).toEqual(['npm run rehearse', 'npm test']);
  });
});
