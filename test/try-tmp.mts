import { readFile, writeFile } from 'node:fs/promises';
import { terraform, terraformEnv } from '@dmskit/infra';
import { stateFromPlan } from './helpers/terraform.ts';

const dir = '/tmp/plantry/stacks/ecommerce-staging';
const tf = await terraformEnv({ offline: true, workDir: '/tmp/plantry' });
const schema = JSON.parse(await terraform(dir, ['providers', 'schema', '-json'], tf));
const rs = (Object.values(schema.provider_schemas)[0] as any).resource_schemas;
const synth = JSON.parse(await readFile(`${dir}/cdk.tf.json`, 'utf8'));
const plan = JSON.parse(await readFile('/tmp/plantry/plan.json', 'utf8'));
await writeFile('/tmp/plantry/prior.tfstate', JSON.stringify(stateFromPlan(plan, synth, rs)));
console.log('ok');
