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
  /** Run in a process group of its own, so a test can signal the group as a terminal does. */
  detached?: boolean;
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
      detached: options.detached ?? false,
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
export function runPnpmDmskit(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  const [command, ...prefix] = pnpmCommand();
  return run(command!, [...prefix, 'dmskit', ...args], options);
}

function pnpmCommand(): string[] {
  const execPath = process.env.npm_execpath ?? '';
  const pinned = (
    createRequire(import.meta.url)(path.join(REPO_ROOT, 'package.json')) as { packageManager: string }
  ).packageManager;
  return execPath.includes('pnpm')
    ? [process.execPath, execPath]
    : ['npx', '-y', pinned.replace(/\+.*$/, '')];
}

/** A dmskit run in progress: its lines so far, a wait for a line, signals, and its end. */
export interface RunningDmskit {
  readonly result: Promise<CliResult>;
  /** Resolves with the first stderr line matching `re` (already seen or still to come). */
  line(re: RegExp): Promise<string>;
  /** Sends a signal to the CLI process. */
  signal(sig: NodeJS.Signals): void;
  /** Sends a signal to the CLI's whole process group, as a terminal's Ctrl-C does (needs `detached`). */
  signalGroup(sig: NodeJS.Signals): void;
}

/**
 * Starts `dmskit <args>` and returns at once; the test waits for a line (such as the
 * `dmskit-fault: paused at <step>` of a `DMSKIT_FAULT=pause:<step>` run), acts, then signals it.
 */
export function startDmskit(
  args: readonly string[],
  options: Omit<RunOptions, 'onStderrLine'> = {},
): RunningDmskit {
  const seen: string[] = [];
  const waiting: { re: RegExp; resolve: (l: string) => void }[] = [];
  let child: import('node:child_process').ChildProcess | undefined;
  const result = runDmskit(args, {
    ...options,
    onStderrLine: (l, c) => {
      child = c;
      seen.push(l);
      for (const w of waiting.splice(0)) {
        if (w.re.test(l)) w.resolve(l);
        else waiting.push(w);
      }
    },
  });
  return {
    result,
    line: (re) =>
      new Promise<string>((resolve, reject) => {
        const found = seen.find((l) => re.test(l));
        if (found) return resolve(found);
        waiting.push({ re, resolve });
        void result.then((r) =>
          reject(new Error(`dmskit ended (${r.code}) before a line matching ${re}:\n${r.stderr}`)),
        );
      }),
    signal: (sig) => {
      child?.kill(sig);
    },
    signalGroup: (sig) => {
      if (child?.pid) process.kill(-child.pid, sig);
    },
  };
}
