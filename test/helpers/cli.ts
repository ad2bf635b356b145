import { spawn } from 'node:child_process';
import path from 'node:path';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
/** The installed `dmskit` bin: compiled JavaScript, rebuilt by itself when a source is newer. */
const BIN = path.join(REPO_ROOT, 'packages/ops-cli/bin/dmskit.mjs');

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
 * Runs `dmskit <args>` as a child process, as `npx dmskit` does (node and the compiled bin), from the
 * repo root. `onStderrLine` sees progress lines as they come, so a test can act during a phase.
 */
export function runDmskit(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  return run(process.execPath, [BIN, ...args], options);
}

/**
 * `dmskit rehearse` on a test's own servers, as a user's database (`--source-url`, `--target-url`,
 * `--no-sample-data`, CDC for `cdcSeconds`, the report in `out`). `duringCdc` runs once, as soon as the
 * CDC phase starts: the application writing to the source while changes replicate. Resolves when both
 * the run and those writes are done.
 */
export async function rehearseOn(
  sourceUrl: string,
  targetUrl: string,
  options: { out: string; cdcSeconds?: number; duringCdc?: () => Promise<void> },
): Promise<CliResult> {
  let writes: Promise<void> | undefined;
  const result = await runDmskit(
    [
      'rehearse',
      '--source-url',
      sourceUrl,
      '--target-url',
      targetUrl,
      '--no-sample-data',
      '--cdc-seconds',
      String(options.cdcSeconds ?? 3),
      '--out',
      options.out,
    ],
    {
      onStderrLine: (line) => {
        if (!line.startsWith('» CDC:') || writes || !options.duringCdc) return;
        writes = options.duringCdc();
      },
    },
  );
  await writes;
  return result;
}

/**
 * Runs `npx dmskit <args>` exactly as the README says, with npm alone: the PATH holds node's own folder
 * (node, npm, npx) and the system's, so no global pnpm or tsx can be what makes it work.
 */
export function runNpxDmskit(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  const nodeDir = path.dirname(process.execPath);
  return run(path.join(nodeDir, 'npx'), ['dmskit', ...args], {
    ...options,
    env: { PATH: `${nodeDir}:/usr/bin:/bin`, npm_config_update_notifier: 'false', ...options.env },
  });
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
