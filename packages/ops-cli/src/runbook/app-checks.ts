import { randomBytes } from 'node:crypto';
import { ExternalError, registerSecret, UsageError } from '@dmskit/shared';
import { type ConnectionInput, closeQuietly, openConnection } from '@dmskit/validation';
import type pg from 'pg';
import { formatDuration } from '../ui/format.js';

/** A probe of the application (`cutover.applicationChecks`). */
export interface ApplicationCheck {
  readonly role: string;
  /** The environment variable that holds the role's password. */
  readonly passwordVariable: string;
  readonly sql: string;
}

/**
 * The setting a probe sets in its own transaction so that the target guard lets its writes through while
 * the checks run (native/target-guard.ts); its value is a token made for one cutover.
 */
export const CHECK_SETTING = 'dmskit.application_check';

/** A token for one run of the checks (hex, 32 characters). */
export function checkToken(): string {
  const token = randomBytes(16).toString('hex');
  registerSecret(token);
  return token;
}

/**
 * Refuses checks whose password variable is not set, before anything changes.
 * @throws UsageError naming the role and the variable
 */
export function assertCheckPasswords(checks: readonly ApplicationCheck[], env = process.env): void {
  const missing = checks.filter((c) => !env[c.passwordVariable]);
  if (missing.length)
    throw new UsageError(
      `cutover.applicationChecks: ${missing.map((c) => `the password of ${c.role} is not in $${c.passwordVariable}`).join('; ')}`,
    );
}

/**
 * Runs each check on the target as its role, with its password from the environment (given to the driver,
 * never on a command line): `BEGIN`, the token setting when given, a statement timeout, the SQL, then
 * `ROLLBACK` whatever happened. With `readOnly` (preflight), the transaction is READ ONLY: a write then
 * fails with `read_only_sql_transaction` (SQLSTATE 25006) before any privilege is checked, which counts
 * as passed as far as a read-only run can tell.
 * @returns one line per check that passed
 * @throws ExternalError (exit 2) naming each role that failed and its error
 */
export async function runApplicationChecks(
  target: ConnectionInput,
  checks: readonly ApplicationCheck[],
  options: { token?: string; readOnly?: boolean; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<string[]> {
  const env = options.env ?? process.env;
  assertCheckPasswords(checks, env);
  const passed: string[] = [];
  const failed: string[] = [];
  for (const check of checks) {
    const password = env[check.passwordVariable]!;
    registerSecret(password);
    const as = asRole(target, check.role, password);
    const t = performance.now();
    let c: pg.Client | undefined;
    try {
      c = await openConnection(as, 'target', {
        applicationName: 'dmskit-application-check',
        connectTimeoutMs: 5000,
      });
      await c.query(options.readOnly ? 'BEGIN READ ONLY' : 'BEGIN');
      await c.query(`SET LOCAL statement_timeout = ${Math.round(options.timeoutMs ?? 5000)}`);
      if (options.token) await c.query(`SELECT set_config('${CHECK_SETTING}', $1, true)`, [options.token]);
      try {
        await c.query(check.sql);
      } catch (error) {
        if (!(options.readOnly && (error as { code?: string }).code === '25006')) throw error;
      }
      passed.push(`${check.role} (${formatDuration(Math.round(performance.now() - t))})`);
    } catch (error) {
      failed.push(`${check.role}: ${(error as Error).message}`);
    } finally {
      await c?.query('ROLLBACK').catch(() => undefined);
      await closeQuietly(c);
    }
  }
  if (failed.length) throw new ExternalError(`application check failed on the target: ${failed.join('; ')}`);
  return passed;
}

/** The target's connection, as another role with its password. */
function asRole(target: ConnectionInput, role: string, password: string): ConnectionInput {
  if (typeof target === 'string') {
    const u = new URL(target);
    u.username = encodeURIComponent(role);
    u.password = encodeURIComponent(password);
    return u.toString();
  }
  return { ...target, user: role, password };
}
