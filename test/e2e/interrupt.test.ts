import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDmskit, startDmskit } from '../helpers/cli.js';
import {
  createDatabase,
  expectNothingLeft,
  type LocalServer,
  query,
  startServer,
} from '../helpers/servers.js';

function portRefuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.on('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', () => resolve(true));
  });
}

describe('Ctrl-C', () => {
  let source: LocalServer;
  let target: LocalServer;

  beforeAll(async () => {
    [source, target] = await Promise.all([
      startServer('source', { logical: true }),
      startServer('target', { logical: true }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  // Each phase is reached through a fault point (the CLI pauses right after the step is recorded), then
  // Ctrl-C is sent the way a terminal sends it: SIGINT to the whole process group, and a second copy a few
  // ms later, as tsx relays it to node. Nothing here races the CLI's output.
  for (const [phase, point] of [
    ['full load', 'start:subscription'],
    ['CDC', 'start:post-data'],
    ['fence', 'fence'],
    ['watermark', 'watermark:committed'],
  ] as const) {
    it(`Ctrl-C during ${phase} on the user's servers: exit 130, no publication, subscription or slot left, source writable`, async () => {
      const db = `shop_${point.replace(/[^a-z]/gi, '').toLowerCase()}`;
      const [sourceUrl, targetUrl] = await Promise.all([
        createDatabase(source, db),
        createDatabase(target, db),
      ]);
      const run = startDmskit(
        [
          'rehearse',
          '--source-url',
          sourceUrl,
          '--target-url',
          targetUrl,
          '--scale',
          '0.05',
          '--cdc-seconds',
          '1',
        ],
        { env: { DMSKIT_FAULT: `pause:${point}` }, detached: true },
      );
      await run.line(new RegExp(`paused at ${point}$`));
      run.signalGroup('SIGINT');
      await new Promise((r) => setTimeout(r, 20));
      run.signalGroup('SIGINT');
      const done = await run.result;
      expect(done.code, done.stderr).toBe(130);
      expect(done.stderr).toMatch(/dmskit: interrupted by SIGINT/);
      expect(done.stderr).not.toContain('SIGINT again');
      await expectNothingLeft(sourceUrl, targetUrl, 'UPDATE products SET price = price WHERE id = 1');
      // The tables it created on the target went too: the next rehearsal on the same databases runs.
      expect(await query(targetUrl, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).toEqual(
        [],
      );
    });
  }

  it("a rehearsal killed (SIGKILL) on the user's servers: the next one removes what it left first", async () => {
    const [sourceUrl, targetUrl] = await Promise.all([
      createDatabase(source, 'shop_killed'),
      createDatabase(target, 'shop_killed'),
    ]);
    const args = [
      'rehearse',
      '--source-url',
      sourceUrl,
      '--target-url',
      targetUrl,
      '--scale',
      '0.05',
      '--cdc-seconds',
      '1',
    ];
    const killed = await runDmskit(args, { env: { DMSKIT_FAULT: 'kill:fence' } });
    expect(killed.code).toBeNull();
    expect(await query(sourceUrl, 'SELECT slot_name FROM pg_replication_slots')).not.toEqual([]);
    // The next rehearsal on the same servers first removes what the killed one left (its data stays: the
    // databases are the user's), then stops at the tables that are already there, in one line.
    const again = await runDmskit(args);
    expect(again.stderr).toMatch(
      /removed what an interrupted rehearsal left: the fall-back path; the fence: default_transaction_read_only of shop_killed is not set again, no write guard left; subscription \w+; publication \w+/,
    );
    expect(again.code).toBe(2);
    expect(again.stderr).not.toContain('internal error');
    await expectNothingLeft(sourceUrl, targetUrl, 'UPDATE products SET price = price WHERE id = 1');
  });

  it('with servers dmskit started: they are stopped', async () => {
    let ports: number[] = [];
    let sent = false;
    const run = await runDmskit(['rehearse', '--scale', '0.05', '--cdc-seconds', '5'], {
      onStderrLine: (line, child) => {
        const m = /^» source 127\.0\.0\.1:(\d+)\/\w+ .*target 127\.0\.0\.1:(\d+)/.exec(line);
        if (m) ports = [Number(m[1]), Number(m[2])];
        if (!sent && line.startsWith('» CDC:')) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    });
    expect(run.code, run.stderr).toBe(130);
    expect(ports).toHaveLength(2);
    for (const port of ports) expect(await portRefuses(port)).toBe(true);
  });
});
