import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ExternalError, loadMigrationConfig, stackName, UsageError } from '@dmskit/shared';
import {
  synthStacks,
  terraformEnv,
  terraformInit,
  terraformPlan,
  terraformValidate,
} from '../terraform/run.js';
import { type CostEstimate, costEstimate } from './cost.js';
import type { PlanJson } from './plan-json.js';
import { evaluatePolicies, type PolicyResult } from './policies.js';
import { changeCounts, type DangerousChange, dangerousChanges, planSummaryMarkdown } from './summary.js';

export interface PlanReport {
  readonly stack: string;
  readonly stackDir: string;
  readonly planFile: string;
  readonly counts: ReturnType<typeof changeCounts>;
  readonly dangerous: readonly DangerousChange[];
  readonly policies: readonly PolicyResult[];
  /** Policies that failed and are not waived: a non-empty list fails the plan. */
  readonly failedPolicies: readonly PolicyResult[];
  /** The monthly cost estimate of what the plan leaves in place. */
  readonly cost: CostEstimate;
  readonly markdown: string;
  /** The account baseline's own plan, when it was planned too (`stacks: 'all'` and the config names its account). */
  readonly baseline?: {
    readonly stack: string;
    readonly counts: ReturnType<typeof changeCounts>;
    readonly dangerous: readonly DangerousChange[];
    readonly policies: readonly PolicyResult[];
  };
}

/** init, validate (errors refused) and plan of one synthesized stack; the plan's JSON. */
async function planStack(
  stackDir: string,
  tf: Awaited<ReturnType<typeof terraformEnv>>,
  refresh: boolean,
): Promise<{ planFile: string; plan: PlanJson }> {
  await terraformInit(stackDir, tf);
  const validation = await terraformValidate(stackDir, tf);
  const errors = validation.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length)
    throw new ExternalError(
      `terraform validate failed for ${path.basename(stackDir)}: ${errors.map((e) => e.summary).join(' | ')}`,
    );
  const { planFile, json } = await terraformPlan(stackDir, tf, { refresh });
  return { planFile, plan: json as PlanJson };
}

/**
 * The pull-request plan of one migration config: synth, `terraform init` (against the provider mirror
 * when one is found), `validate`, `plan -out`, `show -json`, policies (with the config's waivers), and
 * the Markdown summary; then the same for the account baseline stack (a section of its own in the
 * summary, `plan-baseline.json`), unless `stacks` is `migration`. `offline` plans with no AWS call and
 * local state.
 * @throws UsageError for a bad config or an invalid stack; ExternalError when terraform fails
 */
export async function planMigration(options: {
  configFile: string;
  offline: boolean;
  outDir?: string;
  /**
   * A Terraform state file to plan against (for example the S3 state copied in CI), so the review shows
   * what changes from what exists. Only with `offline` (local state, no refresh).
   */
  stateFile?: string;
  /** `all`: the account baseline too, when the config names its account; `migration`: that stack alone. @default 'all' */
  stacks?: 'all' | 'migration';
}): Promise<PlanReport> {
  const { config } = await loadMigrationConfig(options.configFile);
  if (options.stateFile && !options.offline)
    throw new UsageError('--state plans against a copy of the state without AWS: use it with --offline');
  if (!options.offline && !config.state)
    throw new UsageError(
      `${path.basename(options.configFile)}: a plan against AWS needs the state the stack was deployed with (config state.bucket); without it every resource plans as new. Use --offline (with --state <file> for a copy of the state) to plan without AWS`,
    );
  const outDir = options.outDir ?? (await mkdtemp(path.join(tmpdir(), 'dmskit-plan-')));
  await mkdir(outDir, { recursive: true });
  const stacks = await synthStacks([options.configFile], outDir, { offline: options.offline });
  const stack = stackName(config);
  const stackDir = stacks.find((s) => path.basename(s) === stack) ?? stacks[0]!;
  // The offline stack keeps local state at terraform.tfstate in its folder: the given state goes there,
  // and a copy an earlier plan left in a reused folder goes away.
  const localState = path.join(stackDir, 'terraform.tfstate');
  if (options.stateFile) {
    await copyFile(options.stateFile, localState).catch((e: NodeJS.ErrnoException) => {
      throw new UsageError(`--state ${options.stateFile}: cannot be read (${e.code ?? e.message})`);
    });
  } else if (options.offline) await rm(localState, { force: true });
  const tf = await terraformEnv({ offline: options.offline, workDir: outDir });
  const { planFile, plan } = await planStack(stackDir, tf, !options.offline);
  const waivers = new Map(config.policyWaivers.map((w) => [w.id, w.reason]));
  const policies = evaluatePolicies(plan, waivers);
  const cost = costEstimate(plan, config.aws.region);
  let markdown = planSummaryMarkdown(stack, plan, policies, cost);
  // The account baseline is reviewed with the migration: its roles are what every DMS stack of the
  // account relies on (planned against no state offline: what a first deploy creates).
  const baselineDir =
    (options.stacks ?? 'all') === 'all'
      ? stacks.find((s) => path.basename(s).startsWith('dmskit-account-baseline-'))
      : undefined;
  let baseline: PlanReport['baseline'];
  if (baselineDir) {
    if (options.offline) await rm(path.join(baselineDir, 'terraform.tfstate'), { force: true });
    const b = await planStack(baselineDir, tf, !options.offline);
    const bPolicies = evaluatePolicies(b.plan, waivers);
    baseline = {
      stack: path.basename(baselineDir),
      counts: changeCounts(b.plan),
      dangerous: dangerousChanges(b.plan),
      policies: bPolicies,
    };
    markdown += `\n${planSummaryMarkdown(baseline.stack, b.plan, bPolicies)}`;
    await writeFile(path.join(outDir, 'plan-baseline.json'), JSON.stringify(b.plan));
  }
  await writeFile(path.join(outDir, 'plan-summary.md'), markdown);
  await writeFile(path.join(outDir, 'plan.json'), JSON.stringify(plan));
  return {
    stack,
    stackDir,
    planFile,
    counts: changeCounts(plan),
    dangerous: dangerousChanges(plan),
    policies,
    failedPolicies: [...policies, ...(baseline?.policies ?? [])].filter((p) => p.status === 'failed'),
    cost,
    markdown,
    ...(baseline ? { baseline } : {}),
  };
}
