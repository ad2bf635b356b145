import path from 'node:path';
import { redact } from '@dmskit/shared';
import type { CommandOutcome } from '../outcome.js';

export interface PlanOptions {
  readonly cwd: string;
  readonly config: string;
  readonly offline?: boolean;
  readonly out?: string;
  /** A state file to plan against (with `offline`). */
  readonly state?: string;
  /** The account baseline's state file (with `offline`). */
  readonly baselineState?: string;
  /** The shared customer gateway stack's state file (with `offline`). */
  readonly gatewayState?: string;
  readonly json?: boolean;
  /** `all` (the account baseline and a shared customer gateway too) or `migration`. @default 'all' */
  readonly stacks?: 'all' | 'migration';
}

/**
 * `dmskit plan`: the pull-request plan of a migration (synth, init, validate, plan, show, policies) and
 * its Markdown summary on stdout (or the typed report with `--json`); the files (cdktf.out, the binary
 * plan, plan.json, plan-summary.md) go to `--out`, by default `.dmskit/plan/<config file name>/<offline|online>` (each mode its own folder), named on stderr. The infra package is loaded only
 * here, so other commands never load cdktf.
 * @returns exit code 1 when a policy failed and is not waived, else 0
 */
export async function plan(options: PlanOptions): Promise<CommandOutcome> {
  const { planMigration } = await import('@dmskit/infra');
  const configFile = path.resolve(options.cwd, options.config);
  // A named folder in the working directory (ignored by git), reused by the next plan of the same config.
  const outDir = path.resolve(
    options.cwd,
    options.out ??
      path.join(
        '.dmskit',
        'plan',
        path.basename(configFile).replace(/\.[^.]+$/, ''),
        options.offline ? 'offline' : 'online',
      ),
  );
  const report = await planMigration({
    configFile,
    offline: options.offline ?? false,
    outDir,
    stacks: options.stacks ?? 'all',
    ...(options.state ? { stateFile: path.resolve(options.cwd, options.state) } : {}),
    ...(options.baselineState ? { baselineStateFile: path.resolve(options.cwd, options.baselineState) } : {}),
    ...(options.gatewayState ? { gatewayStateFile: path.resolve(options.cwd, options.gatewayState) } : {}),
  });
  process.stderr.write(
    `dmskit: plan files in ${path.relative(options.cwd, outDir) || '.'}: ${path.relative(outDir, path.resolve(report.stackDir, report.planFile))}, plan.json, plan-summary.md\n`,
  );
  if (options.json) {
    const { markdown: _markdown, ...rest } = report;
    process.stdout.write(`${redact(JSON.stringify(rest, null, 2))}\n`);
  } else {
    process.stdout.write(redact(report.markdown));
  }
  if (report.failedPolicies.length) {
    process.stderr.write(
      `dmskit: ${report.failedPolicies.length} policy check(s) failed: ${[...new Set(report.failedPolicies.map((p) => p.id))].join(', ')}\n`,
    );
  }
  return { exitCode: report.failedPolicies.length ? 1 : 0 };
}
