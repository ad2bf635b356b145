import { displayName } from '@dmskit/shared';
import type { ComparisonResult } from './compare.js';

const VERDICT_TEXT = {
  equal: 'EQUAL: every table in scope has the same rows on both sides',
  different: 'DIFFERENT: at least one table differs',
  incomplete: 'INCOMPLETE: no difference found, but not every table could be compared',
} as const;

/** One line: the verdict and the table counts. */
export function verdictLine(result: ComparisonResult): string {
  const c = result.counts;
  const parts = [`${c.equal} equal`, `${c.different} different`];
  if (c['missing-on-target']) parts.push(`${c['missing-on-target']} missing on target`);
  if (c['missing-on-source']) parts.push(`${c['missing-on-source']} only on target`);
  if (c.skipped) parts.push(`${c.skipped} skipped`);
  if (c.error) parts.push(`${c.error} failed`);
  return `${VERDICT_TEXT[result.verdict]} (${parts.join(', ')}; ${result.durationMs} ms)`;
}

/** A Markdown report of a comparison: the verdict, then one row per table with counts and reasons. */
export function comparisonMarkdown(result: ComparisonResult): string {
  const lines = [
    `**Validation: ${verdictLine(result)}**`,
    '',
    '| table | status | source rows | target rows | reason |',
    '| --- | --- | ---: | ---: | --- |',
  ];
  for (const t of result.tables) {
    const reason = t.reasons.join('; ').replace(/\|/g, '\\|');
    lines.push(
      `| ${displayName(t.table)} | ${t.status} | ${t.source?.rows ?? ''} | ${t.target?.rows ?? ''} | ${reason} |`,
    );
  }
  return lines.join('\n');
}
