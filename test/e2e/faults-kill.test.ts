import { describe, expect, it } from 'vitest';
import { runDmskit } from '../helpers/cli.js';
import {
  caughtUp,
  cutoverState,
  faultServers,
  migrateWithWriter,
  noLoss,
  nothingLeft,
  withClientOpen,
  writable,
} from '../helpers/faults.js';
import { query } from '../helpers/servers.js';

/**
 * A cutover SIGKILLed right after each of its steps is recorded (DMSKIT_FAULT kills the CLI there, so
 * nothing depends on timing), then run again, rolled back or abandoned: 0 acknowledged writes lost, the
 * source fenced or writable exactly as said, nothing left. The rest of the faults: `faults.test.ts`.
 */
describe('a cutover killed at each step', () => {
  const servers = faultServers('faults-kill');
  const migrate = (cutover: Record<string, unknown> = {}) => migrateWithWriter(servers, cutover);

  for (const step of [
    'fence:planned',
    'fence',
    'watermark:committed',
    'watermark',
    'stop-replication',
    'sequences',
    'ready',
  ]) {
    it(`SIGKILL at ${step}, then cutover again: resumes, 0 lost, nothing left`, async () => {
      const { m, writer } = await migrate();
      const killed = await runDmskit(['cutover', ...m.args], { env: { DMSKIT_FAULT: `kill:${step}` } });
      expect(killed.code).toBeNull();
      const resumed = await runDmskit(['cutover', ...m.args]);
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.stdout).toContain('Target ready (resumed cutover)');
      expect(await writable(m.sourceUrl)).toBe(false);
      expect((await cutoverState(m)).status).toBe('ready');
      await noLoss(m, writer);
      await nothingLeft(m);
    });
  }

  for (const step of ['fence:planned', 'watermark', 'stop-replication']) {
    it(`SIGKILL at ${step}, then rollback: the source writable as said, replication on, 0 lost`, async () => {
      const { m, writer } = await migrate();
      const killed = await runDmskit(['cutover', ...m.args], { env: { DMSKIT_FAULT: `kill:${step}` } });
      expect(killed.code).toBeNull();
      const rb = await runDmskit(['rollback', ...m.args]);
      expect(rb.code, rb.stderr).toBe(0);
      expect(rb.stdout).toMatch(
        /fence released \(read-only\): default_transaction_read_only of db_\w+ is not set again/,
      );
      expect(await writable(m.sourceUrl)).toBe(true);
      expect(
        await query(m.targetUrl, 'SELECT subenabled FROM pg_subscription WHERE subname = $1', [
          m.subscription,
        ]),
      ).toEqual([{ subenabled: true }]);
      // The fall-back path's slot, made before the fence, is gone from the target too.
      expect(
        await query(
          m.targetUrl,
          'SELECT slot_name FROM pg_replication_slots WHERE database = current_database()',
        ),
      ).toEqual([]);
      await caughtUp(m, writer);
    });
  }

  it('abandon after a killed cutover: --dry-run says what it would remove; then nothing is left, the source writable', async () => {
    const { m, writer } = await migrate();
    const killed = await runDmskit(['cutover', ...m.args], { env: { DMSKIT_FAULT: 'kill:watermark' } });
    expect(killed.code).toBeNull();
    // A session opened while fenced starts read-only; the release ends it so the application reconnects.
    const during = await withClientOpen(m.sourceUrl);
    const plan = await runDmskit(['abandon', '--dry-run', ...m.args]);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(
      /release the read-only fence: ALTER DATABASE "db_\w+" RESET default_transaction_read_only;/,
    );
    expect(plan.stdout).toContain(`DROP SUBSCRIPTION ${m.subscription}`);
    expect(plan.stdout).toContain(`drop replication slot ${m.slot}`);
    expect(await writable(m.sourceUrl)).toBe(false); // the dry run changed nothing
    const gone = await runDmskit(['abandon', ...m.args]);
    expect(gone.code, gone.stderr).toBe(0);
    // The session above, and any the running writer opened again while fenced.
    const ended = gone.stdout.match(
      /fence released: default_transaction_read_only of db_\w+ is not set again, no write guard left; (\d+) session\(s\) opened during the fence ended/,
    );
    expect(ended, gone.stdout).not.toBeNull();
    expect(Number(ended?.[1])).toBeGreaterThanOrEqual(1);
    await expect(during.query('SELECT 1')).rejects.toThrow();
    await during.end().catch(() => undefined);
    expect(await writable(m.sourceUrl)).toBe(true);
    await writer.stop();
    await nothingLeft(m);
    for (const url of [m.sourceUrl, m.targetUrl])
      expect(await query(url, "SELECT nspname FROM pg_namespace WHERE nspname = 'dmskit'")).toEqual([]);
  });
});
