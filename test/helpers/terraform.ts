import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from './cli.js';

/** Every example migration config in migrations/. */
export async function exampleConfigs(): Promise<string[]> {
  const dir = path.join(REPO_ROOT, 'migrations');
  return (await readdir(dir)).filter((f) => /\.(ts|json)$/.test(f)).map((f) => path.join(dir, f));
}

/** Every file under a folder, read as text (for secret scans). */
export async function readTree(dir: string): Promise<{ file: string; text: string }[]> {
  const out: { file: string; text: string }[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    if (file.includes(`${path.sep}.terraform${path.sep}`) || file.endsWith('.tfplan')) continue;
    out.push({ file, text: await readFile(file, 'utf8') });
  }
  return out;
}

/** Keys that would carry a password into Terraform: a literal value for any of them is a leak. */
export const PASSWORD_KEYS =
  /"(password|master_password|secret_string|auth_password|sasl_password|ssl_client_key_password)"\s*:\s*"[^"]+"/;
