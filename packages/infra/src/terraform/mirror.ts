import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { UsageError } from '@dmskit/shared';

const PROVIDER_DIR = path.join('registry.terraform.io', 'hashicorp', 'aws');

async function isDir(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined))?.isDirectory() ?? false;
}

/** Folders searched for a provider mirror when none is named: Terraform's implied local mirror folders and /opt. */
export function defaultMirrorSearchPath(): string[] {
  const home = homedir();
  return [
    path.join(home, '.terraform.d', 'plugins'),
    path.join(home, '.local', 'share', 'terraform', 'plugins'),
    '/usr/local/share/terraform/plugins',
    '/usr/share/terraform/plugins',
    '/opt',
  ];
}

/**
 * Finds a filesystem mirror of the hashicorp/aws provider (a folder holding
 * `registry.terraform.io/hashicorp/aws/<version>/<os_arch>/`; Terraform: "Provider Installation",
 * filesystem_mirror). `DMSKIT_PROVIDER_MIRROR` names it; otherwise the folders of
 * `DMSKIT_PROVIDER_MIRROR_SEARCH` (separated by `:`), or {@link defaultMirrorSearchPath}, are searched
 * two levels deep.
 * @returns the mirror folder, or undefined when there is none
 * @throws UsageError when DMSKIT_PROVIDER_MIRROR names a folder without the aws provider
 */
export async function findProviderMirror(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const named = env.DMSKIT_PROVIDER_MIRROR;
  if (named) {
    if (!(await isDir(path.join(named, PROVIDER_DIR))))
      throw new UsageError(`DMSKIT_PROVIDER_MIRROR=${named} has no ${PROVIDER_DIR} folder`);
    return named;
  }
  const roots = env.DMSKIT_PROVIDER_MIRROR_SEARCH
    ? env.DMSKIT_PROVIDER_MIRROR_SEARCH.split(':')
    : defaultMirrorSearchPath();
  for (const root of roots) {
    if (await isDir(path.join(root, PROVIDER_DIR))) return root;
    for (const child of await readdir(root).catch(() => [] as string[])) {
      const candidate = path.join(root, child);
      if (await isDir(path.join(candidate, PROVIDER_DIR))) return candidate;
    }
  }
  return undefined;
}

/**
 * Writes a Terraform CLI config that installs hashicorp providers from the mirror only (no network),
 * through a plugin cache (`$DMSKIT_TF_PLUGIN_CACHE` or `<tmp>/dmskit-terraform-plugin-cache`), so each
 * `terraform init` links the provider (hundreds of MB) instead of copying it.
 * @returns the file path, for `TF_CLI_CONFIG_FILE`
 */
export async function writeMirrorCliConfig(dir: string, mirror: string): Promise<string> {
  const file = path.join(dir, 'terraform-mirror.tfrc');
  const cache = process.env.DMSKIT_TF_PLUGIN_CACHE ?? path.join(tmpdir(), 'dmskit-terraform-plugin-cache');
  await mkdir(cache, { recursive: true });
  await writeFile(
    file,
    `plugin_cache_dir = ${JSON.stringify(cache)}
plugin_cache_may_break_dependency_lock_file = true

provider_installation {
  filesystem_mirror {
    path    = ${JSON.stringify(mirror)}
    include = ["registry.terraform.io/hashicorp/*"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/*"]
  }
}
`,
  );
  return file;
}
