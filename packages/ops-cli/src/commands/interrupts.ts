import { DmskitError, UsageError } from '@dmskit/shared';
import { exitProcess, markHungUp } from '../ui/hangup.js';

const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * A terminal's Ctrl-C reaches every process of the foreground group, and tsx relays it to node as well,
 * and a busy event loop may handle the copies apart: signals within a second of the first are the same
 * keypress. A second Ctrl-C after that quits at once.
 */
const SAME_KEYPRESS_MS = 1000;

/**
 * Runs `fn` with an AbortSignal that the first SIGINT, SIGTERM or SIGHUP aborts (reason: a UsageError
 * with exit code 130), so that `fn` cleans up through its own error paths. A second signal, later than
 * the same keypress (a second later), quits at once after printing `leftBehind()` (what is left and how to
 * remove it).
 */
export async function withInterrupts<T>(
  fn: (signal: AbortSignal) => Promise<T>,
  options: { what: string; leftBehind?: () => string | undefined; say?: (line: string) => void },
): Promise<T> {
  const controller = new AbortController();
  const say = options.say ?? ((line: string) => process.stderr.write(`${line}\n`));
  let first = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    // A closed terminal (SIGHUP) cannot press Ctrl-C again: its clean-up always runs to the end, and what
    // it writes to the dead terminal goes nowhere (ui/hangup.ts).
    if (signal === 'SIGHUP') markHungUp();
    if (!controller.signal.aborted) {
      first = Date.now();
      say(`${signal}: stopping; cleaning up (press Ctrl-C again to quit at once)`);
      controller.abort(new UsageError(`interrupted by ${signal}: ${options.what}`, { exitCode: 130 }));
      return;
    }
    if (signal === 'SIGHUP' || Date.now() - first < SAME_KEYPRESS_MS) return;
    const left = options.leftBehind?.();
    say(`${signal} again: quitting before the clean-up finished${left ? `; left behind: ${left}` : ''}`);
    exitProcess(130);
  };
  for (const s of SIGNALS) process.on(s, onSignal);
  try {
    return await fn(controller.signal);
  } catch (error) {
    if (controller.signal.aborted && !(error instanceof DmskitError && error.exitCode === 130)) {
      const reason = controller.signal.reason as UsageError;
      throw new UsageError(
        `${reason.message}${error instanceof Error ? ` (${firstLine(error.message)})` : ''}`,
        {
          exitCode: 130,
          cause: error,
        },
      );
    }
    throw error;
  } finally {
    for (const s of SIGNALS) process.off(s, onSignal);
  }
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? '';
}
