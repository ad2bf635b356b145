import path from 'node:path';
import {
  findProviderMirror,
  synthStacks,
  terraformEnv,
  terraformInit,
  terraformPlan,
  terraformValidate,
} from '@dmskit/infra';
import { describe, expect, it } from 'vitest';
import { scratchDir } from '../helpers/scratch.js';

import { exampleConfigs, PASSWORD_KEYS, readTree } from '../helpers/terraform.js';

type Plan = {
  resource_changes: { address: string; type: string; change: { actions: string[] } }[];
  planned_values: unknown;
};

describe('every example config: synth, terraform init against the provider mirror, validate, offline plan', async () => {
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
      const tf = await terraformEnv({ offline: true, workDir: out });
      // The account baseline (when the config names its account) validates and plans its two roles.
      for (const b of stacks.filter(baseline)) {
        await terraformInit(b, tf);
        expect((await terraformValidate(b, tf)).valid).toBe(true);
        const bj = (await terraformPlan(b, tf, { refresh: false })).json as Plan;
        expect(bj.resource_changes.filter((r) => r.type === 'aws_iam_role')).toHaveLength(2);
      }
      await terraformInit(stack!, tf);
      const validation = await terraformValidate(stack!, tf);
      expect(validation.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      expect(validation.valid).toBe(true);
      const { json } = await terraformPlan(stack!, tf, { refresh: false });
      const plan = json as Plan;
      const types = new Set(plan.resource_changes.map((r) => r.type));
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
      ]) {
        expect(types, type).toContain(type);
      }
      expect(types.has('aws_vpn_connection') || types.has('aws_dx_gateway_association')).toBe(true);
      expect(plan.resource_changes.every((r) => r.change.actions.join() === 'create')).toBe(true);
      for (const { file, text } of [
        ...(await readTree(stack!)),
        { file: 'plan.json', text: JSON.stringify(json) },
      ]) {
        expect(PASSWORD_KEYS.test(text), `${file} holds a password literal`).toBe(false);
      }
    });
  }
});
