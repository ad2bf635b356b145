import { sleep } from '../util/time.js';

/**
 * Fault points for the fault-injection tests, driven by the environment so that a test stops the CLI at
 * an exact step instead of racing its output. `DMSKIT_FAULT` holds `<action>:<point>`, where a point is a
 * cutover step (`fence`, `watermark`, ...) or a start step (`start:subscription`, ...), reached right
 * after the step is recorded in the state file:
 * - `kill:<point>`: the process kills itself with SIGKILL (a crash, nothing cleaned up);
 * - `pause:<point>`: prints `dmskit-fault: paused at <point>` on stderr and waits until SIGUSR2 (go on)
 *   or until `signal` aborts (Ctrl-C).
 * Without the variable, a fault point costs nothing.
 */
export async function faultPoint(point: string, signal?: AbortSignal): Promise<void> {
  const fault = process.env.DMSKIT_FAULT;
  if (!fault) return;
  if (fault === `kill:${point}`) process.kill(process.pid, 'SIGKILL');
  if (fault !== `pause:${point}`) return;
  let go = false;
  const onContinue = () => {
    go = true;
  };
  process.on('SIGUSR2', onContinue);
  process.stderr.write(`dmskit-fault: paused at ${point}\n`);
  try {
    while (!go) await sleep(20, signal);
  } finally {
    process.off('SIGUSR2', onContinue);
  }
}
