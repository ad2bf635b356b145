import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.js';

const INFRA = path.join(REPO_ROOT, 'packages/infra');

/** Runs a command in packages/infra as a user types it; collects stdout and stderr together. */
function inInfra(command: string, args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: INFRA,
      env: { ...process.env, CHECKPOINT_DISABLE: '1', CDKTF_DISABLE_TELEMETRY: 'true', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe('the cdktf CLI as users run it, from packages/infra', () => {
  it('npx cdktf synth and list: the migration stack and the account baseline', async () => {
    const synth = await inInfra('npx', ['cdktf', 'synth']);
    expect(synth.code, synth.out).toBe(0);
    expect((await readdir(path.join(INFRA, 'cdktf.out/stacks'))).sort()).toEqual([
      'dmskit-account-baseline-123456789012',
      'ecommerce-staging',
    ]);
    const list = await inInfra('npx', ['cdktf', 'list']);
    expect(list.code, list.out).toBe(0);
    expect(list.out).toContain('ecommerce-staging');
  });

  it('cdktf diff offline against the provider mirror (npm run cdktf:offline -- diff): a plan, no registry, no AWS', async () => {
    const diff = await inInfra('npm', ['run', '-s', 'cdktf:offline', '--', 'diff', 'ecommerce-staging']);
    expect(diff.code, diff.out.slice(-3000)).toBe(0);
    expect(diff.out).toMatch(/Plan:\S*\s+\d+ to add, 0 to change, 0 to destroy/);
    // Offline keeps its own folder: the online cdktf.out never gets the offline (local) backend, so a
    // later `cdktf diff` online does not stop at "Backend configuration changed".
    const offlineStacks = await readdir(path.join(INFRA, 'cdktf.offline.out/stacks'));
    expect(offlineStacks).toContain('ecommerce-staging');
    const online = await readdir(path.join(INFRA, 'cdktf.out/stacks/ecommerce-staging')).catch(() => []);
    expect(online).not.toContain('.terraform');
  });
});
