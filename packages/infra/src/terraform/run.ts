import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ExternalError, redact, UsageError } from '@dmskit/shared';
import { findProviderMirror, writeMirrorCliConfig } from './mirror.js';

const exec = promisify(execFile);

/** Environment for terraform runs: the mirror's CLI config, and no prompts, colors or checkpoint calls. */
export interface TerraformEnv {
  readonly env: NodeJS.ProcessEnv;
  /** The provider mirror used, if any. */
  readonly mirror: string | undefined;
}

/**
 * Prepares the environment terraform runs in. With a mirror (found by {@link findProviderMirror}),
 * providers come from it only. `offline` adds placeholder credentials in the environment (never in a
 * file) so that a plan with the provider's skip_* settings makes no AWS call.
 * @throws UsageError when `offline` is asked and no mirror is found
 */
export async function terraformEnv(options: { offline: boolean; workDir?: string }): Promise<TerraformEnv> {
  const mirror = await findProviderMirror();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TF_IN_AUTOMATION: '1',
    TF_INPUT: '0',
    CHECKPOINT_DISABLE: '1',
  };
  if (mirror)
    env.TF_CLI_CONFIG_FILE = await writeMirrorCliConfig(
      options.workDir ?? (await mkdtemp(path.join(tmpdir(), 'dmskit-tf-'))),
      mirror,
    );
  if (options.offline) {
    if (!mirror && !process.env.TF_CLI_CONFIG_FILE) {
      throw new UsageError(
        '--offline needs a provider mirror: set DMSKIT_PROVIDER_MIRROR to a folder holding registry.terraform.io/hashicorp/aws',
      );
    }
    Object.assign(env, {
      AWS_ACCESS_KEY_ID: 'offline-plan',
      AWS_SECRET_ACCESS_KEY: 'offline-plan',
      AWS_EC2_METADATA_DISABLED: 'true',
    });
    for (const k of ['AWS_PROFILE', 'AWS_SESSION_TOKEN']) delete env[k];
  }
  return { env, mirror };
}

/**
 * Runs `terraform <args>` in `dir`.
 * @throws ExternalError with the end of terraform's output when it fails (or is missing)
 */
export async function terraform(dir: string, args: readonly string[], tf: TerraformEnv): Promise<string> {
  try {
    const { stdout } = await exec('terraform', [...args], {
      cwd: dir,
      env: tf.env,
      maxBuffer: 512 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const e = error as { code?: string; stderr?: string; stdout?: string };
    if (e.code === 'ENOENT') throw new UsageError('terraform is not installed (or not on PATH)');
    const text = `${e.stderr ?? ''}\n${e.stdout ?? ''}`.replace(/\u001b\[[0-9;]*m/g, '');
    const lines = text
      .split('\n')
      .map((l) => l.replace(/^[│╷╵]\s?/, '').trim())
      .filter(Boolean);
    const errors = lines.filter((l) => /^Error:/.test(l));
    throw new ExternalError(
      `terraform ${args[0]} failed in ${dir}: ${redact((errors.length ? errors : lines.slice(-3)).join(' | '))}`,
    );
  }
}

/**
 * `terraform init` with no backend prompts; `backend: false` skips the backend (validate only). Always
 * `-reconfigure`: a folder planned offline (local state) and then online (S3), or the other way, takes the
 * backend it is given now instead of stopping at "Backend configuration changed" (nothing is migrated:
 * a plan only reads state).
 */
export async function terraformInit(
  dir: string,
  tf: TerraformEnv,
  options: { backend?: boolean } = {},
): Promise<void> {
  await terraform(
    dir,
    [
      'init',
      '-input=false',
      '-no-color',
      ...(options.backend === false ? ['-backend=false'] : ['-reconfigure']),
    ],
    tf,
  );
}

/** `terraform validate -json`; returns the diagnostics (an empty list when valid). */
export async function terraformValidate(
  dir: string,
  tf: TerraformEnv,
): Promise<{ valid: boolean; diagnostics: { severity: string; summary: string }[] }> {
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('terraform', ['validate', '-json', '-no-color'], { cwd: dir, env: tf.env });
    let stdout = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.on('error', reject);
    child.on('close', () => resolve(stdout));
  });
  const result = JSON.parse(out) as { valid: boolean; diagnostics: { severity: string; summary: string }[] };
  return result;
}

/** `terraform plan -out` then `terraform show -json` of that plan. @returns the plan file and its JSON */
export async function terraformPlan(
  dir: string,
  tf: TerraformEnv,
  options: {
    refresh?: boolean;
    /** Values of the stack's variables (`-var name=value`). */
    vars?: Readonly<Record<string, string>>;
  } = {},
): Promise<{ planFile: string; json: unknown }> {
  const planFile = 'dmskit.tfplan';
  await terraform(
    dir,
    [
      'plan',
      '-input=false',
      '-no-color',
      '-lock=false',
      `-out=${planFile}`,
      ...(options.refresh === false ? ['-refresh=false'] : []),
      ...Object.entries(options.vars ?? {}).map(([k, v]) => `-var=${k}=${v}`),
    ],
    tf,
  );
  const shown = await terraform(dir, ['show', '-json', '-no-color', planFile], tf);
  return { planFile: path.join(dir, planFile), json: JSON.parse(shown) };
}

/**
 * Synthesizes the stacks of the given config files by running the cdktf app (`src/main.ts`) as cdktf does.
 * @returns the stack folders under `outdir/stacks`
 * @throws ExternalError (or the app's one-line usage error) when synth fails
 */
export async function synthStacks(
  configFiles: readonly string[],
  outdir: string,
  options: { offline: boolean },
): Promise<string[]> {
  const main = path.resolve(import.meta.dirname, '../main.ts');
  try {
    await exec(process.execPath, [...(await tsxLoader()), main], {
      env: {
        ...process.env,
        DMSKIT_CONFIG: configFiles.map((f) => path.resolve(f)).join(','),
        DMSKIT_OFFLINE: options.offline ? '1' : '0',
        CDKTF_OUTDIR: outdir,
      },
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? '');
    // The app's usage error: its message and the issue lines under it (indented), not the stack.
    // main.ts prints a config mistake as `dmskit: <message>`; an error thrown elsewhere by its class name.
    const usage = /(?:^dmskit: |UsageError: |ConfigError: )([^\n]+(?:\n {2}(?! *at )[^\n]+)*)/m.exec(stderr);
    if (usage?.[1])
      throw new UsageError(
        usage[1]
          .split('\n')
          .map((l) => l.trim())
          .join('; ')
          .replace(/\): ?;/, '):'),
      );
    throw new ExternalError(
      `synth failed: ${redact(stderr.split('\n').filter(Boolean).slice(-3).join(' | '))}`,
    );
  }
  const stacksDir = path.join(outdir, 'stacks');
  return (await readdir(stacksDir)).sort().map((s) => path.join(stacksDir, s));
}

/** `--import <tsx>` resolved from this package, so the app runs from any working directory. */
async function tsxLoader(): Promise<string[]> {
  const { createRequire } = await import('node:module');
  const { pathToFileURL } = await import('node:url');
  return ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href];
}
