import { displayName } from '@dmskit/shared';
import type { ComparisonResult } from './compare.js';
import { differenceLine } from './summary.js';

const xml = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * JUnit XML for CI: one test case per table (failure when different or missing, error when it failed,
 * skipped when skipped) and one for the schema.
 */
export function comparisonJUnit(result: ComparisonResult): string {
  const cases: string[] = [];
  const schema = result.schema ?? [];
  cases.push(
    schema.length
      ? `    <testcase classname="schema" name="schema"><failure message="${schema.length} schema difference(s)">${xml(schema.map((d) => `${d.kind} ${d.object}: ${d.difference}`).join('\n'))}</failure></testcase>`
      : '    <testcase classname="schema" name="schema"/>',
  );
  for (const t of result.tables) {
    const name = xml(displayName(t.table));
    const body = xml([...t.reasons, ...(t.differences ?? []).map((d) => differenceLine(t, d))].join('\n'));
    if (t.status === 'equal') cases.push(`    <testcase classname="data" name="${name}"/>`);
    else if (t.status === 'skipped')
      cases.push(
        `    <testcase classname="data" name="${name}"><skipped message="${xml(t.reasons.join('; '))}"/></testcase>`,
      );
    else if (t.status === 'error')
      cases.push(
        `    <testcase classname="data" name="${name}"><error message="${xml(t.reasons.join('; '))}"/></testcase>`,
      );
    else
      cases.push(
        `    <testcase classname="data" name="${name}"><failure message="${t.status}">${body}</failure></testcase>`,
      );
  }
  const failures =
    result.counts.different +
    result.counts['missing-on-source'] +
    result.counts['missing-on-target'] +
    (schema.length ? 1 : 0);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="dmskit validate" tests="${cases.length}" failures="${failures}" errors="${result.counts.error}" time="${(result.durationMs / 1000).toFixed(3)}">`,
    `  <testsuite name="validation" tests="${cases.length}" failures="${failures}" errors="${result.counts.error}" skipped="${result.counts.skipped}">`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}
