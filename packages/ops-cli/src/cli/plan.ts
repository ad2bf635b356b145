import { type Command, Option } from 'commander';
import { examples, type SetOutcome } from './options.js';

/** `dmskit plan`: the landing zone planned and reviewed for a pull request. */
export function registerPlan(program: Command, done: SetOutcome): void {
  const cmd = program
    .command('plan')
    .description(
      'Plan the landing zone for a pull request: synth, terraform init/validate/plan, policies, Markdown summary',
    )
    .requiredOption('-c, --config <file>', 'migration config (.ts or .json)')
    .option('--offline', 'plan without AWS: no credentials, local state, providers from the mirror')
    .option(
      '-o, --out <dir>',
      'folder for cdktf.out, the plan, plan.json and plan-summary.md (default: .dmskit/plan/<config name>/<online|offline>)',
    )
    .option(
      '--state <file>',
      'with --offline: plan against this Terraform state file (e.g. the S3 state copied in CI)',
    )
    .option('--baseline-state <file>', 'with --offline: plan the account baseline against this state file')
    .option(
      '--gateway-state <file>',
      "with --offline: plan the shared customer gateway's stack against this state file",
    )
    .addOption(
      new Option(
        '--stacks <which>',
        'all: the account baseline (when the config names its account) and the shared customer gateway (when the VPN uses one) too; migration: that stack alone',
      )
        .choices(['all', 'migration'])
        .default('all'),
    )
    .option('--json', 'print the typed report as JSON')
    .action(async (opts) => {
      const { plan } = await import('../commands/plan.js');
      done(await plan({ ...opts, cwd: process.cwd() }));
    });
  examples(cmd, [
    [
      'dmskit plan --config migrations/shop.ts --offline',
      'no AWS: synth, validate, plan against an empty state, policies',
    ],
    [
      'dmskit plan --config migrations/shop.ts --offline --state prior.tfstate --baseline-state baseline.tfstate',
      'against the states copied from the bucket',
    ],
    [
      'dmskit plan --config migrations/shop.ts',
      'against the real state (AWS credentials), for the pull request',
    ],
  ]);
}
