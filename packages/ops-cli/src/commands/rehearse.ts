import path from 'node:path';
import { redact, UsageError } from '@dmskit/shared';
import type { CommandOutcome } from '../outcome.js';
import { parseConnectionUrl } from '../pg/url.js';
import { rehearsalMarkdown, writeRehearsalReport } from '../rehearsal/report.js';
import { type RehearsalOptions, type RehearsalReport, runRehearsal } from '../rehearsal/run.js';
import { createProgress } from '../ui/progress.js';
import { forStdout } from '../ui/terminal-text.js';
import { loadConfigOption } from './config.js';
import { withInterrupts } from './interrupts.js';

/** The `--config` default: the e-commerce example. */
export const DEFAULT_CONFIG = 'migrations/ecommerce.ts';

/** `dmskit rehearse` flags: the rehearsal's own options, plus where the config and the report are. */
export interface RehearseOptions
  extends Pick<
    RehearsalOptions,
    'sourceUrl' | 'targetUrl' | 'sampleData' | 'scale' | 'writeRate' | 'cdcSeconds'
  > {
  readonly cwd: string;
  /** Migration config file, relative to `cwd`. */
  readonly config: string;
  /** Report folder, relative to `cwd`. */
  readonly out: string;
  readonly json?: boolean;
  /** Where a rehearsal on servers passed in keeps its state while it runs. @default .dmskit */
  readonly stateDir?: string;
  /** Full-load workers and post-data jobs (`--jobs`). */
  readonly jobs?: number;
}

/**
 * `dmskit rehearse`: runs {@link runRehearsal}, writes report.json and report.md into `--out`, prints the
 * report. Ctrl-C aborts cleanly: servers stopped, source unfenced, no subscription or slot left.
 * @returns exit code 0 when the final validation is equal, 1 otherwise
 */
export async function rehearse(
  options: RehearseOptions,
): Promise<CommandOutcome & { report: RehearsalReport }> {
  if (options.sourceUrl) parseConnectionUrl(options.sourceUrl, '--source-url');
  if (options.targetUrl) parseConnectionUrl(options.targetUrl, '--target-url');
  if (!options.sampleData && !options.sourceUrl) {
    throw new UsageError(
      '--no-sample-data needs --source-url: without sample data there is nothing to migrate from a new server',
    );
  }
  const loaded = await loadConfigOption(options.config, options.cwd);
  const progress = createProgress(process.stderr);
  for (const w of loaded.warnings) progress.info(`warning: ${w}`);
  let config = loaded.config;
  if (!options.sampleData && options.config === DEFAULT_CONFIG) {
    // The example config scopes the sample schema; a database taken as it is migrates whole.
    config = {
      ...config,
      task: { ...config.task, tableMappings: [{ action: 'include', schema: '%', table: '%' }] },
    };
    progress.info('no --config: every table of every schema is migrated');
  }
  const report = await withInterrupts(
    (signal) =>
      runRehearsal({
        config,
        ...(options.sourceUrl ? { sourceUrl: options.sourceUrl } : {}),
        ...(options.targetUrl ? { targetUrl: options.targetUrl } : {}),
        sampleData: options.sampleData,
        scale: options.scale,
        writeRate: options.writeRate,
        cdcSeconds: options.cdcSeconds,
        progress,
        signal,
        stateDir: path.resolve(options.cwd, options.stateDir ?? '.dmskit'),
        ...(options.jobs ? { jobs: options.jobs } : {}),
      }),
    {
      what: 'servers stopped, source unfenced, replication objects removed',
      leftBehind: () =>
        'what the rehearsal created on servers passed in (publication, subscription, slot, fence): run it again, or remove them by hand',
      say: (line) => progress.info(line),
    },
  );
  const files = await writeRehearsalReport(report, path.resolve(options.cwd, options.out));
  if (options.json) process.stdout.write(`${redact(JSON.stringify(report, null, 2))}\n`);
  else
    process.stdout.write(
      `\n${forStdout(rehearsalMarkdown(report))}\nReport written to ${files.markdown} and ${files.json}\n`,
    );
  return { exitCode: report.validation.verdict === 'equal' ? 0 : 1, report };
}
