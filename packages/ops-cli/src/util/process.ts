/**
 * True when a process with this pid exists on this machine (`kill(pid, 0)` checks without sending
 * anything; EPERM means it exists under another user).
 */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
