import { displayName } from '@dmskit/shared';
import prettyMs from 'pretty-ms';
import type { ComparisonResult, TableComparison } from './compare.js';
import type { RowDifference } from './datadiff.js';

const VERDICT_TEXT = {
  equal: 'EQUAL: schema and every table in scope are the same on both sides',
  different: 'DIFFERENT: the schema or at least one table differs',
  incomplete: 'INCOMPLETE: no difference found, but not everything could be compared',
} as const;

/** One line: the verdict and the table counts. */
export function verdictLine(result: ComparisonResult): string {
  const c = result.counts;
  const parts = [`${c.equal} equal`, `${c.different} different`];
  if (c['missing-on-target']) parts.push(`${c['missing-on-target']} missing on target`);
  if (c['missing-on-source']) parts.push(`${c['missing-on-source']} only on target`);
  if (c.skipped) parts.push(`${c.skipped} skipped`);
  if (c.error) parts.push(`${c.error} failed`);
  if (result.schema?.length) parts.push(`${result.schema.length} schema difference(s)`);
  return `${VERDICT_TEXT[result.verdict]} (${parts.join(', ')}; ${prettyMs(Math.max(0, result.durationMs), { secondsDecimalDigits: 1, millisecondsDecimalDigits: 0 })})`;
}

/** `id=7, line_no=2` */
export function keyText(d: RowDifference): string {
  return Object.entries(d.key)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

/** One line per differing row: kind, key, and the columns that differ. */
export function differenceLine(t: TableComparison, d: RowDifference): string {
  const where = `${displayName(t.table)} (${keyText(d)})`;
  if (d.kind !== 'different') return `${d.kind}: ${where}`;
  const cols = (d.columns ?? [])
    .map((c) => `${c.name}: ${JSON.stringify(c.source)} -> ${JSON.stringify(c.target)}`)
    .join('; ');
  return `different: ${where}: ${cols}`;
}

/** `12 by key-hash (unique index a, b)`: how a table was chunked, and the key that names its rows. */
function chunkText(t: TableComparison): string {
  if (!t.method) return '';
  const key = t.key?.from === 'unique-index' ? ` (unique index ${t.key.columns.join(', ')})` : '';
  return `${t.chunks ?? 1} by ${t.method}${key}`;
}

const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** A Markdown report: verdict, schema differences, one row per table, then the differing rows. */
export function comparisonMarkdown(result: ComparisonResult): string {
  const lines = [`**Validation: ${verdictLine(result)}**`, ''];
  lines.push(
    `Digest: ${result.hashMode} (${result.hashModeReason}), chunk checksums folded by ${result.checksumFold}; received ${result.bytesReceived.source} bytes from the source, ${result.bytesReceived.target} from the target.`,
    '',
  );
  for (const note of result.notes ?? []) lines.push(`Note: ${note}.`, '');
  if (result.schema?.length) {
    lines.push(
      '### Schema differences',
      '',
      '| kind | object | difference | source | target |',
      '| --- | --- | --- | --- | --- |',
    );
    for (const d of result.schema)
      lines.push(
        `| ${d.kind} | ${esc(d.object)} | ${d.difference} | ${esc(d.source ?? '')} | ${esc(d.target ?? '')} |`,
      );
    lines.push('');
  }
  lines.push(
    '### Tables',
    '',
    '| table | status | source rows | target rows | chunks | reason |',
    '| --- | --- | ---: | ---: | --- | --- |',
  );
  for (const t of result.tables) {
    lines.push(
      `| ${displayName(t.table)} | ${t.status} | ${t.source?.rows ?? ''} | ${t.target?.rows ?? ''} | ${chunkText(t)} | ${esc(t.reasons.join('; '))} |`,
    );
  }
  const named = result.tables.flatMap((t) =>
    (t.differences ?? []).map((d) => `- ${esc(differenceLine(t, d))}`),
  );
  if (named.length) lines.push('', '### Differing rows', '', ...named);
  return lines.join('\n');
}
