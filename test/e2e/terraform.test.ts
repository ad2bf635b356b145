import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  findProviderMirror,
  synthStacks,
  terraformEnv,
  terraformInit,
  terraformPlan,
  terraformValidate,
} from '@dmskit/infra';
import { loadMigrationConfig } from '@dmskit/shared';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.js';
import { scratchDir } from '../helpers/scratch.js';

import { exampleConfigs, PASSWORD_KEYS, readTree } from '../helpers/terraform.js';

type Plan = {
  resource_changes: { address: string; type: string; change: { actions: string[] } }[];
  planned_values: unknown;
};

describe('a DMS Serverless stack in an existing VPC and key, with Time Travel: terraform validates it', () => {
  it('synth, init against the mirror, validate', async () => {
    const { config } = await loadMigrationConfig('migrations/ecommerce.ts', { cwd: REPO_ROOT });
    // biome-ignore lint/suspicious/noExplicitAny: the test edits fields of a parsed config
    const copy = structuredClone(config) as any;
    copy.source.caCertificateFile = path.join(REPO_ROOT, 'migrations', config.source.caCertificateFile!);
    delete copy.network.connectivity;
    copy.network.existingVpc = {
      vpcId: 'vpc-0a1b2c3d4e5f60718',
      privateSubnetIds: ['subnet-0a1b2c3d', 'subnet-1a2b3c4d'],
    };
    copy.encryption = {
      existingKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b',
    };
    copy.task.timeTravel = { enabled: true, retentionDays: 7 };
    copy.replicationInstance.serverless = { minCapacityUnits: 2, maxCapacityUnits: 8 };
    copy.cutover.dns = { zoneName: 'db.corp.internal', recordName: 'shop.db.corp.internal', ttlSeconds: 30 };
    const dir = await scratchDir('tf-variant');
    const file = path.join(dir, 'variant.json');
    await writeFile(file, JSON.stringify(copy));
    const out = await scratchDir('synth');
    const stacks = await synthStacks([file], out, { offline: true });
    const stack = stacks.find((s) => !path.basename(s).startsWith('dmskit-account-baseline-'))!;
    const tf = await terraformEnv({ offline: true, workDir: out });
    await terraformInit(stack, tf);
    const validation = await terraformValidate(stack, tf);
    expect(validation.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const { json } = await terraformPlan(stack, tf, { refresh: false });
    const types = new Set((json as Plan).resource_changes.map((r) => r.type));
    expect(types.has('aws_vpc') || types.has('aws_kms_key')).toBe(false);
    expect(types.has('aws_s3_bucket')).toBe(true);
    for (const t of [
      'aws_dms_replication_config',
      'aws_cloudwatch_event_rule',
      'aws_cloudwatch_event_target',
      'aws_route53_zone',
      'aws_route53_record',
    ])
      expect(types.has(t)).toBe(true);
    expect(types.has('aws_dms_replication_task')).toBe(false);
  });
});

describe('a repository with two migrations in two regions of one account', () => {
  it('synthesizes one account baseline and both migration stacks; the second region validates and plans offline with its own state key', async () => {
    const { config } = await loadMigrationConfig('migrations/ecommerce.ts', { cwd: REPO_ROOT });
    const dir = await scratchDir('two-regions');
    // biome-ignore lint/suspicious/noExplicitAny: the test edits fields of a parsed config
    const eu = structuredClone(config) as any;
    eu.source.caCertificateFile = path.join(REPO_ROOT, 'migrations', config.source.caCertificateFile!);
    const us = structuredClone(eu);
    us.name = 'ecommerce-us';
    us.aws.region = 'us-east-1';
    us.network.availabilityZones = ['us-east-1a', 'us-east-1b'];
    us.network.vpcCidr = '10.61.0.0/16';
    us.network.connectivity.customerGatewayIp = '203.0.113.11';
    await writeFile(path.join(dir, 'eu.json'), JSON.stringify(eu));
    await writeFile(path.join(dir, 'us.json'), JSON.stringify(us));
    const out = await scratchDir('synth');
    const stacks = await synthStacks([path.join(dir, 'eu.json'), path.join(dir, 'us.json')], out, {
      offline: false,
    });
    expect(stacks.map((st) => path.basename(st)).sort()).toEqual([
      'dmskit-account-baseline-123456789012',
      'ecommerce-staging',
      'ecommerce-us-staging',
    ]);
    const usDir = stacks.find((st) => path.basename(st) === 'ecommerce-us-staging')!;
    const synthesized = JSON.parse(await readFile(path.join(usDir, 'cdk.tf.json'), 'utf8'));
    expect(synthesized.terraform.backend.s3.key).toBe(
      'dmskit/123456789012/us-east-1/ecommerce-us/staging/terraform.tfstate',
    );
    // The same repository synthesized offline (local state): the second region validates and plans.
    const offline = await scratchDir('synth');
    const local = await synthStacks([path.join(dir, 'eu.json'), path.join(dir, 'us.json')], offline, {
      offline: true,
    });
    const usLocal = local.find((st) => path.basename(st) === 'ecommerce-us-staging')!;
    const tf = await terraformEnv({ offline: true, workDir: offline });
    await terraformInit(usLocal, tf);
    expect((await terraformValidate(usLocal, tf)).valid).toBe(true);
    const { json } = await terraformPlan(usLocal, tf, { refresh: false });
    const plan = json as Plan;
    expect(plan.resource_changes.find((r) => r.type === 'aws_customer_gateway')).toBeDefined();
    expect(plan.resource_changes.every((r) => r.change.actions.join() === 'create')).toBe(true);
  });
});

describe('every example config: synth of both stacks, no password literal in them', async () => {
  const configs = await exampleConfigs();

  it('finds the provider mirror on this machine (DMSKIT_PROVIDER_MIRROR or the search path)', async () => {
    expect(await findProviderMirror()).toBeTruthy();
  });

  for (const config of configs) {
    it(`${path.basename(config)}`, async () => {
      const out = await scratchDir('synth');
      const stacks = await synthStacks([config], out, { offline: true });
      const baseline = (s: string) => path.basename(s).startsWith('dmskit-account-baseline-');
      const stack = stacks.find((s) => !baseline(s));
      // Both stacks, the migration's and the account baseline, are validated and planned by `dmskit plan`
      // in plan.test.ts (terraform init, validate, plan, policies): here, every example synthesizes both.
      expect(stacks.filter(baseline)).toHaveLength(1);
      // What was synthesized holds no password literal.
      for (const { file, text } of await readTree(stack!))
        expect(PASSWORD_KEYS.test(text), `${file} holds a password literal`).toBe(false);
    });
  }
});
