import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { redact, UsageError } from '@dmskit/shared';
import type { CommandOutcome } from '../outcome.js';
import { parseConnectionUrl } from '../pg/url.js';
import { fixSqlScript } from '../preflight/fix-sql.js';
import { preflightMarkdown, runPreflight } from '../preflight/run.js';
import { forStdout } from '../ui/terminal-text.js';
import { loadConfigOption } from './config.js';

export interface PreflightOptions {
  readonly cwd: string;
  readonly config?: string;
  readonly source?: string;
  readonly target?: string;
  readonly markdown?: string;
  readonly json?: boolean;
  /** Print the fixes of the failed checks as one SQL script instead of the report. */
  readonly fixSql?: boolean;
}

/**
 * `dmskit preflight`: the checks a PostgreSQL to Aurora PostgreSQL migration needs, against `--source-url`
 * (and `--target-url`) URLs; `--config` supplies the task settings. Exit code 1 on any failed error.
 */
export async function preflight(options: PreflightOptions): Promise<CommandOutcome> {
  if (!options.source)
    throw new UsageError(
      'preflight needs --source-url <url> (and --target-url <url> to check the target too)',
    );
  parseConnectionUrl(options.source, '--source-url');
  if (options.target) parseConnectionUrl(options.target, '--target-url');
  const config = options.config ? (await loadConfigOption(options.config, options.cwd)).config : undefined;
  const report = await runPreflight({
    source: options.source,
    ...(options.target ? { target: options.target } : {}),
    ...(config
      ? {
          task: config.task,
          fallback: config.cutover.fallback,
          applicationChecks: config.cutover.applicationChecks,
        }
      : {}),
  });
  const md = preflightMarkdown(report);
  if (options.markdown) await writeFile(path.resolve(options.cwd, options.markdown), redact(md));
  process.stdout.write(
    options.fixSql
      ? redact(fixSqlScript(report))
      : options.json
        ? `${redact(JSON.stringify(report, null, 2))}\n`
        : forStdout(redact(md)),
  );
  // One convention for every command: a server that cannot be reached is exit 2, a finding exit 1.
  const unreachable = report.checks.some((c) => c.id.startsWith('connectivity-') && !c.passed);
  return { exitCode: unreachable ? 2 : report.ready ? 0 : 1 };
}
