import path from 'node:path';
import { type MigrationConfig, registerSecret, UsageError } from '@dmskit/shared';
import { parseConnectionUrl } from '../pg/url.js';
import { defaultStateFile } from '../runbook/state.js';

/**
 * The source URL of a migration: `--source-url`, or built from the config (host, port, database, user,
 * sslmode) with the password from the environment variable the config names.
 * @throws UsageError when the password cannot be had
 */
export function sourceUrlOf(config: MigrationConfig, flag?: string): string {
  if (flag) {
    parseConnectionUrl(flag, '--source-url');
    return flag;
  }
  const pw = config.source.password;
  if (pw.from !== 'env') {
    throw new UsageError(
      'source.password comes from Secrets Manager: pass --source-url (dmskit reads passwords from the environment only)',
    );
  }
  const password = process.env[pw.variable];
  if (!password)
    throw new UsageError(
      `source password: set ${pw.variable} (source.password.variable), or pass --source-url`,
    );
  registerSecret(password);
  const s = config.source;
  return `postgres://${encodeURIComponent(s.user)}:${encodeURIComponent(password)}@${s.host}:${s.port}/${encodeURIComponent(s.database)}?sslmode=${s.sslmode}`;
}

/** `--target-url`, required: the Aurora writer endpoint (the stack output aurora_endpoint) and its user. */
export function targetUrlOf(flag: string | undefined): string {
  if (!flag)
    throw new UsageError(
      '--target-url is required (the Aurora writer endpoint, stack output aurora_endpoint)',
    );
  parseConnectionUrl(flag, '--target-url');
  return flag;
}

/** The engine a command drives: `--engine`, else DMS. */
export type EngineName = 'dms' | 'native';

/**
 * The state files of a migration: the start's and the cutover's, in `--state-dir` (default `.dmskit`
 * under the working directory); `--state` names the cutover's file itself.
 */
export function statePaths(
  o: { cwd: string; stateDir?: string; state?: string },
  config: Pick<MigrationConfig, 'name' | 'environment'>,
): {
  readonly dir: string;
  readonly cutover: string;
  readonly start: string;
  readonly fallback: string;
  /** The record of a DMS task's slot that `dmskit start` created (a CDC-only task). */
  readonly dmsSlot: string;
  /** The record of the DMS tasks' watermark tables that `dmskit start` created on the source. */
  readonly dmsWatermarks: string;
  /** The last validation's verdict per table (`dmskit validate --config`, the cutover): the gate reads it. */
  readonly validation: string;
} {
  const dir = path.resolve(o.cwd, o.stateDir ?? '.dmskit');
  return {
    dir,
    cutover: o.state ? path.resolve(o.cwd, o.state) : defaultStateFile(dir, config.name, config.environment),
    start: defaultStateFile(dir, config.name, config.environment, 'start'),
    fallback: defaultStateFile(dir, config.name, config.environment, 'fallback'),
    dmsSlot: defaultStateFile(dir, config.name, config.environment, 'dms-slot'),
    dmsWatermarks: defaultStateFile(dir, config.name, config.environment, 'dms-watermarks'),
    validation: defaultStateFile(dir, config.name, config.environment, 'validation'),
  };
}
