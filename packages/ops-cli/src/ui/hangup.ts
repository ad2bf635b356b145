import { closeSync, fstatSync } from 'node:fs';
import { isatty } from 'node:tty';

let hungUp = false;
let guarded = false;

/**
 * A write to a terminal that was closed (SIGHUP, `tmux kill-session`, an ssh session dropped) fails with
 * EIO, and a reader that went away with EPIPE: Node reports both as an 'error' event on the stream, which
 * would end the process as an uncaught exception in the middle of a clean-up (an unfenced source left
 * fenced). From here on such errors are swallowed and output goes nowhere; everything else is unchanged.
 * Safe to call twice.
 */
export function guardOutput(): void {
  if (guarded) return;
  guarded = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EIO' || error.code === 'EPIPE' || error.code === 'ENXIO') hungUp = true;
      // Anything else on an output stream is no reason to stop a clean-up either.
    });
  }
}

/** The terminal is gone (SIGHUP received, or a write to it failed): nothing shown is seen. */
export function terminalGone(): boolean {
  return hungUp;
}

/** Records that the controlling terminal hung up. */
export function markHungUp(): void {
  hungUp = true;
}

/**
 * Ends the process with `code`. After a hang-up, the standard descriptors that are terminals are closed
 * first: at exit Node restores the terminal's mode (`ResetStdio`), and on a terminal that no longer
 * exists that fails an assertion and aborts (exit 134 and a core) after a clean-up that went well. Node
 * skips descriptors that were closed.
 */
export function exitProcess(code: number): never {
  if (hungUp) {
    for (const fd of [0, 1, 2]) {
      try {
        if (isatty(fd) || fstatSync(fd).isCharacterDevice()) closeSync(fd);
      } catch {
        // already closed
      }
    }
  }
  process.exit(code);
}
