import type { CheckResult } from './checks.js';
import type { PreflightReport } from './run.js';

/**
 * One SQL script of the fixes the failed checks name (`dmskit preflight --fix-sql`): a section per server
 * (`-- on the source: host:port/db`), each fix under a comment with the check and what was found, to
 * review and run with psql. Failed checks whose fix is not SQL (a restart, a parameter group, a config
 * field) are listed as comments at the end; nothing is run by dmskit.
 */
export function fixSqlScript(report: PreflightReport): string {
  const failed = report.checks.filter((c) => !c.passed);
  const withSql = failed.filter((c): c is CheckResult & { sql: NonNullable<CheckResult['sql']> } => !!c.sql);
  const lines = [
    `-- dmskit preflight --fix-sql: ${failed.length} failed check(s), ${withSql.length} with SQL fixes.`,
    '-- Review before running: ALTER SYSTEM changes marked "after a restart" need one.',
  ];
  if (failed.length === 0) lines.push('-- Nothing to fix.');
  for (const side of ['source', 'target'] as const) {
    const fixes = withSql.filter((c) => c.sql.on === side);
    if (fixes.length === 0) continue;
    const where = side === 'source' ? report.source : (report.target ?? 'the target');
    lines.push('', `-- on the ${side}: ${where}`, `-- psql "postgres://...@${where}" -f this-file.sql`);
    for (const c of fixes) {
      lines.push('', `-- ${c.id} (${c.severity}): ${c.title}; found: ${c.found}`, ...c.sql.statements);
    }
  }
  const other = failed.filter((c) => !c.sql);
  if (other.length) {
    lines.push('', '-- Not SQL, to do by hand:');
    for (const c of other) lines.push(`-- ${c.id} (${c.severity}): ${c.fix.replace(/\n/g, ' ')}`);
  }
  return `${lines.join('\n')}\n`;
}
