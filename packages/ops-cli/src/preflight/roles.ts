import { selectTables } from '@dmskit/shared';
import type { TableInfo } from '@dmskit/validation';
import type pg from 'pg';
import { type ApplicationCheck, runApplicationChecks } from '../runbook/app-checks.js';
import { readSourceRoles, schemasOf } from '../schema/roles.js';
import type { CheckResult, PreflightFacts } from './checks.js';

function check(
  id: string,
  title: string,
  severity: CheckResult['severity'],
  failedOn: string[],
  found: string,
  fix: string,
): CheckResult {
  return { id, title, severity, passed: failedOn.length === 0, found, fix: failedOn.length ? fix : '' };
}

/**
 * What the application's roles need on Aurora (schema/roles.ts copies them at start): passwords that can
 * be copied (a SCRAM-SHA-256 verifier; MD5 is refused by Aurora PostgreSQL 14 and later; unreadable
 * without a superuser on the source), attributes Aurora does not allow (SUPERUSER, REPLICATION, BYPASSRLS:
 * mapped to rds_superuser / rds_replication or dropped), and the application checks of the config run
 * read-only on the target as their roles.
 */
export async function roleChecks(
  source: pg.Client,
  target: pg.Client | undefined,
  targetUrl: string | undefined,
  facts: PreflightFacts,
  applicationChecks: readonly ApplicationCheck[],
): Promise<CheckResult[]> {
  const tables = selectTables(facts.sourceTables as TableInfo[], facts.config.task.tableMappings);
  const roles = await readSourceRoles(source, schemasOf(tables), [
    ...new Set(applicationChecks.map((c) => c.role)),
  ]);
  const md5 = roles.filter((r) => r.password?.startsWith('md5')).map((r) => r.name);
  const unreadable = roles.filter((r) => r.login && r.password === undefined).map((r) => r.name);
  const mapped = roles
    .filter((r) => r.superuser || r.replication || r.bypassRls)
    .map(
      (r) =>
        `${r.name} (${[r.superuser && 'SUPERUSER', r.replication && 'REPLICATION', r.bypassRls && 'BYPASSRLS'].filter(Boolean).join(', ')})`,
    );
  const out: CheckResult[] = [
    check(
      'role-passwords',
      "The application's passwords can be copied to Aurora",
      'error',
      md5,
      md5.length
        ? `${md5.length} role(s) in scope with an MD5 password: ${md5.join(', ')}`
        : `${roles.length} role(s) in scope, no MD5 password`,
      "Aurora PostgreSQL 14 and later store SCRAM-SHA-256 (password_encryption): set each password again on the source after SET password_encryption = 'scram-sha-256' (\\password role in psql), or create the role on the target yourself",
    ),
    check(
      'role-passwords-readable',
      'The source lets dmskit read the password verifiers',
      'warning',
      unreadable,
      unreadable.length
        ? `pg_authid is not readable by this user: the passwords of ${unreadable.join(', ')} cannot be copied`
        : 'password verifiers readable (or no login role in scope)',
      'run start as a superuser of the source, or set those passwords on the target after dmskit roles',
    ),
    check(
      'role-attributes',
      'Role attributes Aurora allows',
      'info',
      mapped,
      mapped.length
        ? `roles with attributes Aurora has not: ${mapped.join('; ')}`
        : 'none of SUPERUSER, REPLICATION, BYPASSRLS in scope',
      'SUPERUSER becomes membership of rds_superuser and REPLICATION of rds_replication (dropped where the target has neither), BYPASSRLS is dropped: check the application does not need them',
    ),
  ];
  if (target && targetUrl && applicationChecks.length) {
    let failed = '';
    let passed: string[] = [];
    try {
      passed = await runApplicationChecks(targetUrl, applicationChecks, { readOnly: true });
    } catch (error) {
      failed = (error as Error).message;
    }
    out.push(
      check(
        'application-checks',
        'cutover.applicationChecks log in and run on the target (read-only)',
        'error',
        failed ? [failed] : [],
        failed || `passed: ${passed.join(', ')}`,
        'run dmskit roles (the roles and their passwords), check the grants on the target, or fix the probe',
      ),
    );
  }
  return out;
}
