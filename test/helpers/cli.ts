import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(REPO_ROOT, 'packages/ops-cli/src/bin.ts');
// Resolved here, so that the CLI also starts from a working directory without node_modules.
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

interface RunOptions {
  cwd?: string;
  /** Variables added to the environment (DMSKIT_FAULT=kill:<step> for fault tests). */
  env?: Record<string, string>;
  onStderrLine?: (line: string, child: import('node:child_process').ChildProcess) => void;
  timeoutMs?: number;
}

/** Runs `command` from the repo root (or `cwd`) and collects its output; killed after `timeoutMs`. */
function run(command: string, args: readonly string[], options: RunOptions): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...process.env, FORCE_COLOR: '0', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let partial = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
      partial += d;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) options.onStderrLine?.(line, child);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 240_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Runs `dmskit <args>` as a child process, as `pnpm dmskit` does (node with the tsx loader), from the
 * repo root. `onStderrLine` sees progress lines as they come, so a test can act during a phase.
 */
export function runDmskit(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  return run(process.execPath, ['--import', TSX, BIN, ...args], options);
}

/**
 * Runs `pnpm dmskit <args>` exactly as the README says, through the pnpm that runs the tests (turbo starts
 * them with `pnpm run`, which sets npm_execpath), else the pnpm the repo pins (packageManager, via npx).
 */
export function runPnpmDmskit(args: readonly string[]): Promise<CliResult> {
  const execPath = process.env.npm_execpath ?? '';
  const pinned = (
    createRequire(import.meta.url)(path.join(REPO_ROOT, 'package.json')) as { packageManager: string }
  ).packageManager;
  const [command, ...prefix] = execPath.includes('pnpm')
    ? [process.execPath, execPath]
    : ['npx', '-y', pinned.replace(/\+.*$/, '')];
  return run(command!, [...prefix, 'dmskit', ...args], {});
}
