import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ExternalError, loadMigrationConfig, stackName, UsageError } from '@dmskit/shared';
import { customerGatewayStackName, SHARED_GATEWAY_VARIABLE } from '../customer-gateway-stack.js';
import { sharedGatewayOf } from '../stack.js';
import { synthStacks, terraformEnv, terraformInit, terraformPlan } from '../terraform/run.js';
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
  readonly baseline?: StackPlanReport;
  /** The shared customer gateway's stack, when the migration's VPN uses one (`stacks: 'all'`). */
  readonly gateway?: StackPlanReport;
}

/** The plan of a stack the migration relies on (the account baseline, a shared customer gateway). */
export interface StackPlanReport {
  readonly stack: string;
  readonly counts: ReturnType<typeof changeCounts>;
  readonly dangerous: readonly DangerousChange[];
  readonly policies: readonly PolicyResult[];
}

/**
 * Where an offline plan's state goes: the stack's local `terraform.tfstate`, copied from `stateFile`, or
 * removed (a copy an earlier plan left in a reused folder) so the plan is against no state.
 */
async function placeState(stackDir: string, stateFile: string | undefined, flag: string): Promise<void> {
  const localState = path.join(stackDir, 'terraform.tfstate');
  if (stateFile)
    await copyFile(stateFile, localState).catch((e: NodeJS.ErrnoException) => {
      throw new UsageError(`${flag} ${stateFile}: cannot be read (${e.code ?? e.message})`);
    });
  else await rm(localState, { force: true });
}

/**
 * The shared customer gateway's id as the state's VPN connection uses it, for an offline plan of a
 * migration that shares one (the variable SHARED_GATEWAY_VARIABLE): the plan then shows no change to the
 * VPN that is not in the config. Undefined without a state, without a VPN in it, or when the VPN uses a
 * gateway the state itself manages (the stack is moving to the shared gateway: its VPN is moved and its
 * own gateway destroyed, and the placeholder makes the plan say so).
 */
async function gatewayIdInState(stateFile: string): Promise<string | undefined> {
  const state = JSON.parse(await readFile(stateFile, 'utf8').catch(() => '{}')) as {
    resources?: {
      type?: string;
      mode?: string;
      instances?: { attributes?: { id?: string; customer_gateway_id?: string } }[];
    }[];
  };
  const managed = (type: string) =>
    (state.resources ?? [])
      .filter((r) => r.type === type && r.mode !== 'data')
      .flatMap((r) => r.instances ?? []);
  const id = managed('aws_vpn_connection')[0]?.attributes?.customer_gateway_id;
  const own = new Set(managed('aws_customer_gateway').map((i) => i.attributes?.id));
  return id && !own.has(id) ? id : undefined;
}

/**
 * `terraform plan` and `show -json` of one synthesized, initialized stack; the plan's JSON. The plan
 * validates the configuration first, so an invalid stack fails here with terraform's errors (no separate
 * `terraform validate`: it would load the provider's schema once more).
 */
async function planStack(
  stackDir: string,
  tf: Awaited<ReturnType<typeof terraformEnv>>,
  refresh: boolean,
  vars: Readonly<Record<string, string>> = {},
): Promise<{ planFile: string; plan: PlanJson }> {
  const { planFile, json } = await terraformPlan(stackDir, tf, { refresh, vars });
  return { planFile, plan: json as PlanJson };
}

/**
 * The pull-request plan of one migration config: synth, `terraform init` (against the provider mirror
 * when one is found; one stack after another, as terraform's plugin cache is not safe for concurrent
 * inits), then `plan -out` and `show -json` of the stacks side by side, policies (with the config's waivers), and
 * the Markdown summary; then the same for the account baseline stack (a section of its own in the
 * summary, `plan-baseline.json`) and the shared customer gateway's stack (`plan-gateway.json`), unless
 * `stacks` is `migration`. `offline` plans with no AWS call and
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
  /** The account baseline's state to plan it against (with `offline`). */
  baselineStateFile?: string;
  /** The shared customer gateway stack's state to plan it against (with `offline`). */
  gatewayStateFile?: string;
  /**
   * `all`: the account baseline too, when the config names its account, and the shared customer
   * gateway's stack, when the VPN uses one; `migration`: that stack alone. @default 'all'
   */
  stacks?: 'all' | 'migration';
}): Promise<PlanReport> {
  const { config } = await loadMigrationConfig(options.configFile);
  for (const [given, flag] of [
    [options.stateFile, '--state'],
    [options.baselineStateFile, '--baseline-state'],
    [options.gatewayStateFile, '--gateway-state'],
  ] as const)
    if (given && !options.offline)
      throw new UsageError(`${flag} plans against a copy of the state without AWS: use it with --offline`);
  if (!options.offline && !config.state)
    throw new UsageError(
      `${path.basename(options.configFile)}: a plan against AWS needs the state the stack was deployed with (config state.bucket); without it every resource plans as new. Use --offline (with --state <file> for a copy of the state) to plan without AWS`,
    );
  const outDir = options.outDir ?? (await mkdtemp(path.join(tmpdir(), 'dmskit-plan-')));
  await mkdir(outDir, { recursive: true });
  const stacks = await synthStacks([options.configFile], outDir, { offline: options.offline });
  const stack = stackName(config);
  const stackDir = stacks.find((s) => path.basename(s) === stack) ?? stacks[0]!;
  // The offline stack keeps local state at terraform.tfstate in its folder: the given state goes there.
  if (options.stateFile || options.offline) await placeState(stackDir, options.stateFile, '--state');
  const tf = await terraformEnv({ offline: options.offline, workDir: outDir });
  const gatewayId =
    options.offline && options.stateFile && sharedGatewayOf(config)
      ? await gatewayIdInState(options.stateFile)
      : undefined;
  // The stacks the migration relies on are reviewed with it: the account baseline (the roles every DMS
  // stack of the account uses) and a shared customer gateway (every sharing migration's VPN). Offline,
  // each is planned against its --baseline-state / --gateway-state, or against no state (what a first
  // deploy creates).
  const all = (options.stacks ?? 'all') === 'all';
  const shared = sharedGatewayOf(config);
  const others = [
    {
      dir: all ? stacks.find((s) => path.basename(s).startsWith('dmskit-account-baseline-')) : undefined,
      stateFile: options.baselineStateFile,
      flag: '--baseline-state',
      json: 'plan-baseline.json',
    },
    {
      dir:
        all && shared ? stacks.find((s) => path.basename(s) === customerGatewayStackName(shared)) : undefined,
      stateFile: options.gatewayStateFile,
      flag: '--gateway-state',
      json: 'plan-gateway.json',
    },
  ].filter((o): o is typeof o & { dir: string } => o.dir !== undefined);
  await terraformInit(stackDir, tf);
  for (const o of others) {
    if (o.stateFile || options.offline) await placeState(o.dir, o.stateFile, o.flag);
    await terraformInit(o.dir, tf);
  }
  const [main, ...planned] = await Promise.all([
    planStack(stackDir, tf, !options.offline, {
      ...(gatewayId ? { [SHARED_GATEWAY_VARIABLE]: gatewayId } : {}),
    }),
    ...others.map((o) => planStack(o.dir, tf, !options.offline)),
  ]);
  const { planFile, plan } = main!;
  const waivers = new Map(config.policyWaivers.map((w) => [w.id, w.reason]));
  const policies = evaluatePolicies(plan, waivers);
  const cost = costEstimate(plan, config.aws.region);
  let markdown = planSummaryMarkdown(stack, plan, policies, cost);
  const reports: Record<string, StackPlanReport> = {};
  for (const [i, o] of others.entries()) {
    const b = planned[i]!;
    const report: StackPlanReport = {
      stack: path.basename(o.dir),
      counts: changeCounts(b.plan),
      dangerous: dangerousChanges(b.plan),
      policies: evaluatePolicies(b.plan, waivers),
    };
    markdown += `\n${planSummaryMarkdown(report.stack, b.plan, report.policies)}`;
    await writeFile(path.join(outDir, o.json), JSON.stringify(b.plan));
    reports[o.json] = report;
  }
  const baseline = reports['plan-baseline.json'];
  const gateway = reports['plan-gateway.json'];
  await writeFile(path.join(outDir, 'plan-summary.md'), markdown);
  await writeFile(path.join(outDir, 'plan.json'), JSON.stringify(plan));
  return {
    stack,
    stackDir,
    planFile,
    counts: changeCounts(plan),
    dangerous: dangerousChanges(plan),
    policies,
    failedPolicies: [...policies, ...(baseline?.policies ?? []), ...(gateway?.policies ?? [])].filter(
      (p) => p.status === 'failed',
    ),
    cost,
    markdown,
    ...(baseline ? { baseline } : {}),
    ...(gateway ? { gateway } : {}),
  };
}
