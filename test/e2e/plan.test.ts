import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { evaluatePolicies, type PlanJson, terraform, terraformEnv } from '@dmskit/infra';
import { loadMigrationConfig } from '@dmskit/shared';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runDmskit } from '../helpers/cli.js';
import { scratchDir } from '../helpers/scratch.js';
import { PASSWORD_KEYS, type ResourceSchema, readTree, stateFromPlan } from '../helpers/terraform.js';

/** The example config as JSON, changed by `edit`, in a temporary folder. */
// biome-ignore lint/suspicious/noExplicitAny: the test edits arbitrary fields of a parsed config
type AnyConfig = Record<string, any>;

async function variant(edit: (config: AnyConfig) => void): Promise<string> {
  const { config } = await loadMigrationConfig('migrations/ecommerce.ts', { cwd: REPO_ROOT });
  const copy = structuredClone(config) as AnyConfig;
  copy.source.caCertificateFile = path.join(REPO_ROOT, 'migrations', config.source.caCertificateFile!);
  edit(copy);
  const dir = await scratchDir('plan-config');
  const file = path.join(dir, 'migration.json');
  await writeFile(file, JSON.stringify(copy));
  return file;
}

describe('dmskit plan --offline', async () => {
  // The example planned once (synth, init, validate, plan, show, policies, cost): what the tests below
  // read, and the deployed state the changes are planned against.
  const base = await scratchDir('plan-prior');
  const first = await runDmskit(['plan', '--config', 'migrations/ecommerce.ts', '--offline', '--out', base]);
  const stackDir = path.join(base, 'stacks', 'ecommerce-staging');

  it('plans the example: exit 0, the summary, no dangerous change, no failed policy', async () => {
    const run = first;
    expect(run.code, run.stderr).toBe(0);
    // What the plan creates: the whole landing zone, nothing else, no password literal anywhere.
    const planJson = JSON.parse(await readFile(path.join(base, 'plan.json'), 'utf8')) as PlanJson;
    const types = new Set((planJson.resource_changes ?? []).map((r) => r.type));
    for (const type of [
      'aws_vpc',
      'aws_subnet',
      'aws_kms_key',
      'aws_rds_cluster',
      'aws_rds_cluster_instance',
      'aws_dms_replication_instance',
      'aws_dms_endpoint',
      'aws_dms_replication_task',
      'aws_cloudwatch_metric_alarm',
      'aws_dms_event_subscription',
      'aws_vpn_connection',
      'aws_sns_topic_subscription',
    ])
      expect(types, type).toContain(type);
    expect((planJson.resource_changes ?? []).every((r) => r.change.actions.join() === 'create')).toBe(true);
    for (const { file, text } of [
      ...(await readTree(stackDir)),
      { file: 'plan.json', text: JSON.stringify(planJson) },
    ])
      expect(PASSWORD_KEYS.test(text), `${file} holds a password literal`).toBe(false);
    expect(run.stdout).toContain('## dmskit plan: `ecommerce-staging`');
    expect(run.stdout).toMatch(/\*\*\d+ to add, 0 to change, 0 to replace, 0 to destroy\*\*/);
    expect(run.stdout).toContain('No change is dangerous during a migration.');
    expect(run.stdout).toMatch(/Policies: :white_check_mark: \d+ passed, 0 failed, 0 waived/);
    // The account baseline is planned and reviewed with it: its two roles, its own policies.
    const baseline = run.stdout.split('## dmskit plan: `dmskit-account-baseline-123456789012`')[1] ?? '';
    expect(baseline).toMatch(/\*\*\d+ to add, 0 to change, 0 to replace, 0 to destroy\*\*/);
    expect(baseline).toMatch(/Policies: :white_check_mark: \d+ passed, 0 failed, 0 waived/);
    const baselinePlan = JSON.parse(
      await readFile(path.join(base, 'plan-baseline.json'), 'utf8'),
    ) as PlanJson;
    expect(
      (baselinePlan.resource_changes ?? [])
        .filter((r) => r.type === 'aws_iam_role')
        .map((r) => r.change.after?.name)
        .sort(),
    ).toEqual(['dms-cloudwatch-logs-role', 'dms-vpc-role']);
    // The example: a Multi-AZ dms.r6i.large with 100 GB, two db.r6g.large, one VPN, two interface
    // endpoints in two AZs, the Resolver endpoint's two ENIs, in eu-west-1
    // (341.64 + 25.40 + 2 x 210.24 + 36.50 + 2 x 16.06 + 2 x 91.25).
    expect(run.stdout).toContain('### Monthly cost estimate (eu-west-1, on-demand): about $1038.64');
    expect(run.stdout).toContain('| DMS replication instance dms.r6i.large Multi-AZ | 730 h | $341.64 |');
  });

  it('fails a config that opens 5432 to 0.0.0.0/0 with that policy id; a waiver in the config turns it into waived', async () => {
    const open = await variant((c) => {
      c.target.appCidrs = ['0.0.0.0/0'];
    });
    const out = await scratchDir('plan');
    const run = await runDmskit([
      'plan',
      '--config',
      open,
      '--offline',
      '--stacks',
      'migration',
      '--out',
      out,
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('dmskit: 1 policy check(s) failed: DMSKIT-NET-001');
    expect(run.stdout).toMatch(
      /\| DMSKIT-NET-001 \| failed \| `aws_vpc_security_group_ingress_rule\.[^`]+` \| ingress from 0\.0\.0\.0\/0 on port 5432 \|/,
    );
    expect(run.stdout).toContain('opens a security group to 0.0.0.0/0');
    // The config's waiver, applied to that same plan: reported as waived with its reason, nothing failed.
    const planJson = JSON.parse(await readFile(path.join(out, 'plan.json'), 'utf8')) as PlanJson;
    const waived = evaluatePolicies(
      planJson,
      new Map([['DMSKIT-NET-001', 'public demo endpoint, torn down after the rehearsal']]),
    );
    expect(waived.filter((r) => r.status === 'failed')).toEqual([]);
    expect(waived.find((r) => r.id === 'DMSKIT-NET-001' && r.status === 'waived')?.reason).toContain(
      '(waived: public demo endpoint',
    );
  });

  it('refuses a plan against AWS without the deployed state, and --state or --baseline-state without --offline, in one line', async () => {
    const noState = await variant((c) => {
      delete c.state;
    });
    const online = await runDmskit(['plan', '--config', noState]);
    expect(online.code).toBe(2);
    expect(online.stderr.trim()).toBe(
      'dmskit: migration.json: a plan against AWS needs the state the stack was deployed with (config state.bucket); without it every resource plans as new. Use --offline (with --state <file> for a copy of the state) to plan without AWS',
    );
    const example = await runDmskit(['plan', '--config', 'migrations/ecommerce.ts', '--state', noState]);
    expect(example.code).toBe(2);
    expect(example.stderr.trim()).toBe(
      'dmskit: --state plans against a copy of the state without AWS: use it with --offline',
    );
    const baseline = await runDmskit([
      'plan',
      '--config',
      'migrations/ecommerce.ts',
      '--baseline-state',
      noState,
    ]);
    expect(baseline.code).toBe(2);
    expect(baseline.stderr.trim()).toBe(
      'dmskit: --baseline-state plans against a copy of the state without AWS: use it with --offline',
    );
  });

  it('flags at the top a plan that replaces the running replication task (real terraform plan over a prior state)', async () => {
    const out = await scratchDir('plan');
    expect(first.code, first.stderr).toBe(0);
    const synth = JSON.parse(await readFile(path.join(stackDir, 'cdk.tf.json'), 'utf8'));
    const [name, task] = Object.entries(
      synth.resource.aws_dms_replication_task as Record<string, Record<string, unknown>>,
    )[0]!;
    // The deployed task has another id (say, renamed since): replication_task_id forces a new task.
    const state = {
      version: 4,
      terraform_version: '1.11.4',
      serial: 1,
      lineage: 'dmskit-e2e',
      outputs: {},
      resources: [
        {
          mode: 'managed',
          type: 'aws_dms_replication_task',
          name,
          provider: 'provider["registry.terraform.io/hashicorp/aws"]',
          instances: [
            {
              schema_version: 0,
              attributes: {
                id: 'ecommerce-staging-task-v1',
                replication_task_id: 'ecommerce-staging-task-v1',
                replication_task_arn: 'arn:aws:dms:eu-west-1:123456789012:task:V1',
                migration_type: 'full-load-and-cdc',
                table_mappings: task.table_mappings,
                replication_task_settings: task.replication_task_settings,
                replication_instance_arn: 'arn:aws:dms:eu-west-1:123456789012:rep:R1',
                source_endpoint_arn: 'arn:aws:dms:eu-west-1:123456789012:endpoint:S1',
                target_endpoint_arn: 'arn:aws:dms:eu-west-1:123456789012:endpoint:T1',
                start_replication_task: false,
                status: 'running',
                tags: {},
                tags_all: {},
              },
            },
          ],
        },
      ],
    };
    // As in CI: the state copied from S3 to a file, planned against with --state.
    const stateFile = path.join(await scratchDir('state'), 'copied.tfstate');
    await writeFile(stateFile, JSON.stringify(state));
    const second = await runDmskit([
      'plan',
      '--stacks',
      'migration',
      '--config',
      'migrations/ecommerce.ts',
      '--offline',
      '--state',
      stateFile,
      '--out',
      out,
    ]);
    expect(second.code, second.stderr).toBe(0);
    const lines = second.stdout.split('\n');
    expect(lines[2]).toMatch(/to replace/);
    expect(lines[2]).toContain('1 to replace');
    expect(lines[4]).toBe('### :warning: 1 change(s) dangerous during a migration');
    expect(lines[6]).toBe(
      `- **replace** \`aws_dms_replication_task.${name}\`: replaces the replication task (a new task starts the full load again) while it is running`,
    );
  });

  describe('changes to a deployed stack, planned against its prior state (real terraform plan, -refresh=false)', async () => {
    // The example as deployed: a state made from its own plan (provider defaults in, computed values filled).
    const tf = await terraformEnv({ offline: true, workDir: base });
    const schema = JSON.parse(await terraform(stackDir, ['providers', 'schema', '-json'], tf));
    /** A stack as deployed: a state made from its first plan (`planJson` in `base`), written to `file`. */
    const deployedState = async (dir: string, planJson: string, file: string) => {
      const resourceSchemas = (
        Object.values(schema.provider_schemas)[0] as { resource_schemas: Record<string, ResourceSchema> }
      ).resource_schemas;
      const plan = JSON.parse(await readFile(path.join(base, planJson), 'utf8'));
      const synth = JSON.parse(await readFile(path.join(dir, 'cdk.tf.json'), 'utf8'));
      await writeFile(file, JSON.stringify(stateFromPlan(plan, synth, resourceSchemas)));
      return file;
    };
    const stateFile = await deployedState(stackDir, 'plan.json', path.join(base, 'deployed.tfstate'));
    const planAgainst = async (config: string, state = stateFile) => {
      const run = await runDmskit([
        'plan',
        '--stacks',
        'migration',
        '--config',
        config,
        '--offline',
        '--state',
        state,
        '--out',
        await scratchDir('plan'),
      ]);
      expect(run.code, run.stderr).toBe(0);
      return run.stdout;
    };

    it('the same config plans no replacement and nothing dangerous, also once dmskit start gave the task its CDC start position', async () => {
      expect(first.code, first.stderr).toBe(0);
      // dmskit start sets the task's start point with ModifyReplicationTask (dms/operations.ts): the
      // provider reads it back as computed, so the next plan must not undo it (nor replace the task).
      const state = JSON.parse(await readFile(stateFile, 'utf8'));
      const task = state.resources.find((r: { type: string }) => r.type === 'aws_dms_replication_task');
      task.instances[0].attributes.cdc_start_position = '4AF/B00000D0';
      const started = path.join(await scratchDir('state'), 'started.tfstate');
      await writeFile(started, JSON.stringify(state));
      const out = await planAgainst(path.join(REPO_ROOT, 'migrations/ecommerce.ts'), started);
      expect(out).toMatch(/\*\*0 to add, \d+ to change, 0 to replace, 0 to destroy\*\*/);
      expect(out).toContain('No change is dangerous during a migration.');
      expect(out).not.toContain('aws_dms_replication_task');
    });

    it('a VPN that shares its customer gateway: the gateway stack planned too; against a state whose VPN uses it, the VPN stays; the baseline against its own state', async () => {
      // The deployed stack after it moved to a shared gateway: no gateway of its own, its VPN on the shared one.
      const state = JSON.parse(await readFile(stateFile, 'utf8'));
      state.resources = state.resources.filter((r: { type: string }) => r.type !== 'aws_customer_gateway');
      const vpn = state.resources.find((r: { type: string }) => r.type === 'aws_vpn_connection');
      vpn.instances[0].attributes.customer_gateway_id = 'cgw-0abc1234def567890';
      const moved = path.join(await scratchDir('state'), 'shared.tfstate');
      await writeFile(moved, JSON.stringify(state));
      const config = await variant((c) => {
        c.network.connectivity.sharedCustomerGateway = true;
      });
      // The account baseline as deployed too (--baseline-state): a state made from its first plan.
      const baselineDir = path.join(base, 'stacks', 'dmskit-account-baseline-123456789012');
      const baselineState = await deployedState(
        baselineDir,
        'plan-baseline.json',
        path.join(await scratchDir('state'), 'baseline.tfstate'),
      );
      const out = await scratchDir('plan');
      const run = await runDmskit([
        'plan',
        '--config',
        config,
        '--offline',
        '--state',
        moved,
        '--baseline-state',
        baselineState,
        '--out',
        out,
      ]);
      expect(run.code, run.stderr).toBe(0);
      // The baseline planned against its state: nothing to make again.
      const baselinePlan = JSON.parse(
        await readFile(path.join(out, 'plan-baseline.json'), 'utf8'),
      ) as PlanJson;
      expect(
        (baselinePlan.resource_changes ?? []).filter((r) => r.change.actions.includes('create')),
      ).toEqual([]);
      // The migration stack: nothing replaced, the VPN untouched (the id came from the state).
      expect(run.stdout).toMatch(
        /`ecommerce-staging`[\s\S]*\*\*0 to add, \d+ to change, 0 to replace, 0 to destroy\*\*/,
      );
      // (Without the id from the state, the placeholder would replace the VPN: customer_gateway_id forces one.)
      const vpnLines = run.stdout.split('\n').filter((l) => l.includes('aws_vpn_connection'));
      for (const line of vpnLines) expect(line).toMatch(/^- change `aws_vpn_connection\.\w+`: \(tags\)$/);
      // The gateway's own stack, planned and reviewed too: one customer gateway to make.
      expect(run.stdout).toContain(
        '## dmskit plan: `dmskit-customer-gateway-123456789012-eu-west-1-203-0-113-10-65010`',
      );
      // A deployed stack with a gateway of its own, moving to the shared one: its VPN moves to the shared
      // gateway and its own is destroyed, each said to interrupt CDC (not hidden by the state's id).
      const moving = await planAgainst(config);
      expect(moving).toMatch(
        /- \*\*change\*\* `aws_vpn_connection\.\w+`: changes customer_gateway_id of the site-to-site VPN to the source: may interrupt CDC/,
      );
      expect(moving).toMatch(
        /- \*\*destroy\*\* `aws_customer_gateway\.\w+`: destroys the customer gateway \(the on-prem end of the VPN\): interrupts CDC/,
      );
      const gateway = JSON.parse(await readFile(path.join(out, 'plan-gateway.json'), 'utf8')) as PlanJson;
      expect((gateway.resource_changes ?? []).map((r) => `${r.type}:${r.change.actions.join()}`)).toEqual([
        'aws_customer_gateway:create',
      ]);
    });

    it('task settings and a bigger replication instance with less storage: updates in place, flagged as stopping CDC, as a restart in the window, and the shrink as failing at apply', async () => {
      const out = await planAgainst(
        await variant((c) => {
          c.task.maxFullLoadSubTasks = 16;
          c.replicationInstance.class = 'dms.r6i.xlarge';
          c.replicationInstance.allocatedStorageGb = 50;
        }),
      );
      expect(out).toMatch(/0 to replace/);
      expect(out).toMatch(
        /- \*\*change\*\* `aws_dms_replication_task\.Replication_Task_\w+`: changes replication_task_settings: stops CDC if the task is running, and it stays stopped until resumed \(`dmskit start --mode resume` after the apply\)/,
      );
      expect(out).toMatch(
        /`aws_dms_replication_instance\.Replication_Instance_\w+`: changes replication_instance_class, allocated_storage: the replication instance restarts and its tasks stop \(resume them after\), at the next maintenance window, sun:03:00-sun:03:30 UTC \(not on apply\)/,
      );
      expect(out).toMatch(
        /`aws_dms_replication_instance\.Replication_Instance_\w+`: shrinks allocated_storage: DMS refuses it, the apply will fail/,
      );
    });

    it('an engine major upgrade plans in place with new parameter groups, flagged as restarting every instance; the VPN and customer gateway replaced, as interrupting CDC', async () => {
      const out = await planAgainst(
        await variant((c) => {
          c.target.engineVersion = '17.4';
          // And the path to on-prem changed in the same pull request: the VPN to static routes, a new
          // customer gateway address.
          c.network.connectivity.staticRoutesOnly = true;
          c.network.connectivity.customerGatewayIp = '203.0.113.20';
        }),
      );
      expect(out).toMatch(
        /`aws_rds_cluster\.Target_\w+`: upgrades the engine from 16\.4 to 17\.4: every instance restarts, at the next maintenance window, sun:04:00-sun:04:30 UTC/,
      );
      // The cluster is changed, not replaced; the parameter groups of the new family are new ones.
      expect(out).not.toMatch(/replace `aws_rds_cluster\.Target_/);
      expect(out).toMatch(/aws_rds_cluster_parameter_group/);
      // Each replacement on the DMS path is named as interrupting CDC.
      expect(out).toMatch(
        /- \*\*replace\*\* `aws_vpn_connection\.\w+`: replaces the site-to-site VPN to the source: interrupts CDC/,
      );
      expect(out).toMatch(
        /- \*\*replace\*\* `aws_customer_gateway\.\w+`: replaces the customer gateway \(the on-prem end of the VPN\): interrupts CDC/,
      );
    });
  });
});
