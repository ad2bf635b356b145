/**
 * `npm run cdktf:offline -- <diff|deploy|...> [stack] [flags]` from packages/infra: the cdktf CLI with no
 * AWS and no registry, as `dmskit plan --offline` plans. It writes a Terraform CLI config that installs
 * the AWS provider from the mirror (`DMSKIT_PROVIDER_MIRROR` or the search path), synthesizes with
 * `DMSKIT_OFFLINE=1` (local state, no credential checks), sets throw-away AWS keys, and passes
 * `--skip-provider-lock` to the commands that run terraform (cdktf would otherwise run
 * `terraform providers lock`, which asks the registry whatever the CLI config says). It synthesizes into
 * `cdktf.offline.out`, apart from the online `cdktf.out`.
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { findProviderMirror, writeMirrorCliConfig } from './mirror.js';

const TERRAFORM_COMMANDS = new Set(['diff', 'deploy', 'destroy', 'output', 'plan', 'apply']);

const args = process.argv.slice(2);
const mirror = await findProviderMirror();
if (!mirror) {
  process.stderr.write(
    'cdktf:offline: no provider mirror found: set DMSKIT_PROVIDER_MIRROR to a folder holding registry.terraform.io/hashicorp/aws\n',
  );
  process.exit(2);
}
const dir = path.resolve('.dmskit');
await mkdir(dir, { recursive: true });
const env: NodeJS.ProcessEnv = {
  ...process.env,
  DMSKIT_OFFLINE: '1',
  TF_CLI_CONFIG_FILE: await writeMirrorCliConfig(dir, mirror),
  CHECKPOINT_DISABLE: '1',
  CDKTF_DISABLE_TELEMETRY: 'true',
  AWS_ACCESS_KEY_ID: 'offline-plan',
  AWS_SECRET_ACCESS_KEY: 'offline-plan',
  AWS_EC2_METADATA_DISABLED: 'true',
};
for (const k of ['AWS_PROFILE', 'AWS_SESSION_TOKEN']) delete env[k];
const extra =
  TERRAFORM_COMMANDS.has(args[0] ?? '') && !args.includes('--skip-provider-lock')
    ? ['--skip-provider-lock']
    : [];
// Offline keeps a folder of its own (local state), so `cdktf diff` online afterwards finds its own
// backend instead of "Backend configuration changed".
const SYNTHESIZING = new Set([...TERRAFORM_COMMANDS, 'synth', 'get']);
const output =
  SYNTHESIZING.has(args[0] ?? '') &&
  !args.some((a) => a === '--output' || a === '-o' || a.startsWith('--output='))
    ? ['--output', 'cdktf.offline.out']
    : [];
const child = spawn('cdktf', [...args, ...extra, ...output], { stdio: 'inherit', env });
child.on('error', (e) => {
  process.stderr.write(`cdktf:offline: cannot run cdktf (${e.message}); run npm run setup first\n`);
  process.exit(2);
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 130 : 1)));
