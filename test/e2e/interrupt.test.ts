import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDmskit } from '../helpers/cli.js';
import { createDatabase, expectNothingLeft, type LocalServer, startServer } from '../helpers/servers.js';

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
    [source, target] = await Promise.all([startServer('source', { logical: true }), startServer('target')]);
  });

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  for (const phase of ['» full load:', '» CDC:', '  fence:']) {
    it(`during "${phase.trim()}" on the user's servers: exit 130, no publication, subscription or slot left, source writable`, async () => {
      const db = `shop_${phase.replace(/[^a-z]/gi, '').toLowerCase()}`;
      const [sourceUrl, targetUrl] = await Promise.all([
        createDatabase(source, db),
        createDatabase(target, db),
      ]);
      let sent = false;
      const run = await runDmskit(
        [
          'rehearse',
          '--source-url',
          sourceUrl,
          '--target-url',
          targetUrl,
          '--scale',
          '0.05',
          '--cdc-seconds',
          '3',
        ],
        {
          onStderrLine: (line, child) => {
            if (!sent && line.startsWith(phase)) {
              sent = true;
              child.kill('SIGINT');
            }
          },
        },
      );
      expect(sent).toBe(true);
      expect(run.code, run.stderr).toBe(130);
      expect(run.stderr).toContain('dmskit: interrupted by SIGINT');
      await expectNothingLeft(sourceUrl, targetUrl, 'UPDATE products SET price = price WHERE id = 1');
    });
  }

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
