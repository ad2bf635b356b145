import { redact, selectTables } from '@dmskit/shared';
import { closeQuietly, listTables } from '@dmskit/validation';
import type { CommandOutcome } from '../outcome.js';
import { applyRoles, configRoles, planRoles, readSourceRoles, schemasOf } from '../schema/roles.js';
import { type ScopeCommandOptions, sessions } from './scope.js';

/**
 * `dmskit roles [--dry-run] [--update-roles]`: the roles the objects in scope need, made on the target as
 * Aurora allows them (schema/roles.ts); `start` does the same as its first step. `--dry-run` prints the
 * SQL, passwords masked, and changes nothing.
 * @returns exit code 0 when the target has them all as on the source, 1 when a role there differs (and
 *   `--update-roles` was not given) or, with `--dry-run`, when something would change
 * @throws UsageError (exit 2) naming roles that cannot be copied (an MD5 password), before any change
 */
export async function roles(
  o: ScopeCommandOptions & { dryRun?: boolean; updateRoles?: boolean },
): Promise<CommandOutcome> {
  const s = await sessions(o);
  try {
    const tables = selectTables(await listTables(s.source), s.config.task.tableMappings);
    const found = await readSourceRoles(s.source, schemasOf(tables), configRoles(s.config));
    const database = ((await s.target.query('SELECT current_database() AS d')).rows[0] as { d: string }).d;
    const plan = await planRoles(found, s.target, { database, updateRoles: Boolean(o.updateRoles) });
    const lines: string[] = [];
    if (o.json) {
      process.stdout.write(
        `${redact(JSON.stringify({ roles: plan.roles, statements: plan.statements.map((x) => x.shown), notes: plan.notes, differences: plan.differences, refused: plan.refused }, null, 2))}\n`,
      );
    }
    if (o.dryRun) {
      lines.push(
        `${plan.roles.length} role(s) in scope on the source: ${plan.roles.join(', ') || 'none'}`,
        ...(plan.statements.length
          ? ['would run on the target, in one transaction:', ...plan.statements.map((x) => `  ${x.shown};`)]
          : ['nothing to change on the target']),
        ...plan.notes.map((n) => `  ${n}`),
        ...plan.differences.map((d) => `warning: ${d}`),
        ...plan.refused.map((r) => `refused: ${r}`),
      );
      if (!o.json) process.stdout.write(`${redact(lines.join('\n'))}\n`);
      return { exitCode: plan.statements.length || plan.differences.length || plan.refused.length ? 1 : 0 };
    }
    await applyRoles(s.target, plan);
    lines.push(
      ...plan.notes,
      ...plan.differences.map((d) => `warning: ${d}`),
      `${plan.roles.length} role(s) in scope: ${plan.notes.length ? `${plan.notes.length} created or updated on the target` : 'the target has them all'}`,
    );
    if (!o.json) process.stdout.write(`${redact(lines.join('\n'))}\n`);
    return { exitCode: plan.differences.length ? 1 : 0 };
  } finally {
    await Promise.all([closeQuietly(s.source), closeQuietly(s.target)]);
  }
}
