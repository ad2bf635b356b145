import { execFileSync } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDmskit } from '../helpers/cli.js';
import { scratchDir } from '../helpers/scratch.js';
import {
  createDatabase,
  expectNothingLeft,
  type LocalServer,
  query,
  startServer,
} from '../helpers/servers.js';

/**
 * libpq's conventions: URLs without a password, the password in PGPASSWORD or in a passfile (PGPASSFILE,
 * mode 0600), for dmskit's sessions, pg_dump and the subscriptions it creates (which run in the server,
 * without dmskit's environment); the password never in a process's arguments.
 */

const PASSWORD = 'libpq-only-pw-93';

describe('libpq conventions', () => {
  let source: LocalServer;
  let target: LocalServer;
  let dir: string;

  beforeAll(async () => {
    [source, target] = await Promise.all([
      startServer('source', { logical: true }),
      startServer('target', { logical: true }),
    ]);
    for (const s of [source, target])
      await query(s.url, `CREATE ROLE mig LOGIN SUPERUSER PASSWORD '${PASSWORD}'`);
    dir = await scratchDir('libpq');
  });
  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
  });

  /** Runs a rehearsal with `env`, watching the process list for the password while it runs. */
  async function rehearseWith(db: string, env: Record<string, string>) {
    await Promise.all([createDatabase(source, db), createDatabase(target, db)]);
    const url = (s: LocalServer) => `postgres://mig@127.0.0.1:${s.port}/${db}`;
    const run = startDmskit(
      [
        'rehearse',
        '--source-url',
        url(source),
        '--target-url',
        url(target),
        '--scale',
        '0.05',
        '--cdc-seconds',
        '1',
        '--out',
        path.join(dir, db),
      ],
      { env },
    );
    let seen = 0;
    let leaked = false;
    const watch = setInterval(() => {
      const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
      seen++;
      if (ps.includes(PASSWORD)) leaked = true;
    }, 200);
    const done = await run.result.finally(() => clearInterval(watch));
    expect(seen, done.stderr).toBeGreaterThan(3);
    expect(leaked).toBe(false);
    expect(done.stdout + done.stderr).not.toContain(PASSWORD);
    return { done, sourceUrl: source.urlFor(db), targetUrl: target.urlFor(db) };
  }

  it('PGPASSWORD: a rehearsal with URLs without a password; the subscription gets it, no process shows it', async () => {
    const { done, sourceUrl, targetUrl } = await rehearseWith('shop_env', { PGPASSWORD: PASSWORD });
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toContain('Validation: EQUAL');
    await expectNothingLeft(sourceUrl, targetUrl, 'UPDATE products SET price = price WHERE id = 1');
  });

  it('a passfile (PGPASSFILE, mode 0600) instead', async () => {
    const file = path.join(dir, 'pgpass');
    await writeFile(
      file,
      `127.0.0.1:${source.port}:*:mig:${PASSWORD}\n127.0.0.1:${target.port}:*:mig:${PASSWORD}\n`,
    );
    await chmod(file, 0o600);
    const { done, sourceUrl, targetUrl } = await rehearseWith('shop_passfile', {
      PGPASSFILE: file,
      PGPASSWORD: '',
    });
    expect(done.code, done.stderr).toBe(0);
    expect(done.stderr).not.toMatch(/DeprecationWarning|pgpass support is deprecated/);
    await expectNothingLeft(sourceUrl, targetUrl, 'UPDATE products SET price = price WHERE id = 1');
  });
});
