import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './cli.js';

const BIN = path.join(REPO_ROOT, 'packages/ops-cli/bin/dmskit.mjs');

// Runs the command as a child in the terminal and writes its exit code (or signal) to a file: the
// wrapper ignores the hang-up itself, so the code of a command whose terminal was closed is still known.
const WRAPPER = `
import { spawn } from 'node:child_process';
import { openSync, writeFileSync } from 'node:fs';
process.on('SIGHUP', () => {});
process.on('SIGINT', () => {});
for (const s of [process.stdout, process.stderr]) s.on('error', () => {});
const [codeFile, errFile, ...command] = process.argv.slice(2);
const stderr = errFile === '-' ? 'inherit' : openSync(errFile, 'w');
const child = spawn(command[0], command.slice(1), { stdio: ['inherit', 'inherit', stderr] });
writeFileSync(codeFile + '.pid', String(child.pid));
child.on('exit', (code, signal) => writeFileSync(codeFile, JSON.stringify({ code, signal })));
`;

/** A dmskit command running in a real terminal (a tmux pseudo-terminal). */
export interface TerminalRun {
  /** What the terminal shows now (its visible lines). */
  screen(): string;
  /** Waits until the screen (or the stderr file, when redirected) matches `re`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
  /** Keys typed into the terminal (tmux names: `C-c`). */
  keys(...keys: string[]): void;
  /** Closes the terminal, as closing its window does: the kernel hangs up the command's session. */
  close(): void;
  /** The exit code and signal of the command once it ended, and the ms since the last keys or close. */
  exit(timeoutMs?: number): Promise<{ code: number | null; signal: string | null; ms: number }>;
  /** The pid of the dmskit process (node). */
  pid(): Promise<number>;
  /** The stderr file's text when `stderrFile` was asked for. */
  stderr(): Promise<string>;
  /** Removes the terminal (if still open) and its files. */
  dispose(): Promise<void>;
}

/**
 * Runs `dmskit <args>` in a new tmux session of its own server (`-L`), 200x50 unless sized, as a user types it in a
 * terminal: stdin, stdout (and stderr unless `redirectStderr`) are the pseudo-terminal, the command is
 * in the terminal's foreground process group, so `C-c` and closing the terminal reach it as they do.
 * Variables go through a file, never the command line.
 */
export async function inTerminal(
  args: readonly string[],
  options: {
    env?: Record<string, string>;
    redirectStderr?: boolean;
    /** The terminal's size. @default 200 x 50 */
    size?: { columns: number; rows: number };
  } = {},
): Promise<TerminalRun> {
  const dir = await mkdtemp(path.join(tmpdir(), 'dmskit-terminal-'));
  const socket = `dmskit-${process.pid}-${path.basename(dir)}`;
  const codeFile = path.join(dir, 'code');
  const errFile = options.redirectStderr ? path.join(dir, 'stderr') : '-';
  await writeFile(path.join(dir, 'wrapper.mjs'), WRAPPER);
  const env = Object.entries({ FORCE_COLOR: '0', ...options.env })
    .map(([k, v]) => `export ${k}='${v.replace(/'/g, `'\\''`)}'`)
    .join('\n');
  const quoted = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  await writeFile(
    path.join(dir, 'run.sh'),
    `${env}\ncd '${REPO_ROOT}'\nexec '${process.execPath}' '${dir}/wrapper.mjs' '${codeFile}' '${errFile}' ${quoted}\n`,
  );
  const tmux = (...a: string[]) =>
    execFileSync('tmux', ['-L', socket, ...a], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  let actedAt: number | undefined;
  tmux(
    'new-session',
    '-d',
    '-s',
    'dmskit',
    '-x',
    String(options.size?.columns ?? 200),
    '-y',
    String(options.size?.rows ?? 50),
    `bash ${dir}/run.sh; sleep 600`,
  );
  const screen = () => {
    try {
      return tmux('capture-pane', '-p', '-t', 'dmskit');
    } catch {
      return '';
    }
  };
  const stderr = async () => (options.redirectStderr ? readFile(errFile, 'utf8').catch(() => '') : '');
  return {
    screen,
    stderr,
    pid: async () => Number(await readFile(`${codeFile}.pid`, 'utf8')),
    waitFor: async (re, timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!re.test(screen()) && !re.test(await stderr())) {
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for ${re} in the terminal:\n${screen()}\n${await stderr()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    keys: (...keys) => {
      actedAt = Date.now();
      tmux('send-keys', '-t', 'dmskit', ...keys);
    },
    close: () => {
      actedAt = Date.now();
      tmux('kill-server');
    },
    exit: async (timeoutMs = 60_000) => {
      const from = actedAt ?? Date.now();
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const text = await readFile(codeFile, 'utf8').catch(() => '');
        if (text)
          return {
            ...(JSON.parse(text) as { code: number | null; signal: string | null }),
            ms: Date.now() - from,
          };
        if (Date.now() > deadline)
          throw new Error(`the command did not end within ${timeoutMs} ms:\n${screen()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    dispose: async () => {
      try {
        tmux('kill-server');
      } catch {
        // closed already
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
