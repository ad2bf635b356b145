import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { freePort } from '@dmskit/ops-cli';

/** A PgBouncer started for a test on 127.0.0.1, in transaction pooling. */
export interface PgBouncer {
  readonly port: number;
  readonly iniFile: string;
  /** `postgres://<user>:<password>@127.0.0.1:<port>/pgbouncer` */
  readonly adminUrl: string;
  /** URL of a database through PgBouncer. */
  urlFor(database: string): string;
  stop(): Promise<void>;
}

function which(cmd: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/bin']) {
    try {
      execFileSync('test', ['-x', path.join(dir, cmd)]);
      return path.join(dir, cmd);
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The `pgbouncer` binary; where it is missing and this runs as root (CI), Debian's package is installed
 * (the README's test command needs nothing installed by hand).
 * @throws when it is missing and cannot be installed
 */
export function ensurePgBouncer(): string {
  const found = which('pgbouncer');
  if (found) return found;
  if (userInfo().uid !== 0) throw new Error('pgbouncer is not installed: apt-get install pgbouncer');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'pgbouncer'], {
      env,
      stdio: 'ignore',
    });
  try {
    install();
  } catch {
    execFileSync('apt-get', ['update'], { env, stdio: 'ignore' });
    install();
  }
  const installed = which('pgbouncer');
  if (!installed) throw new Error('apt-get installed pgbouncer, but no pgbouncer binary was found');
  // The package starts a service of its own on 6432 where it can; this test uses its own port.
  return installed;
}

/**
 * Starts PgBouncer in front of `databases` (name -> port, dbname on 127.0.0.1), authenticating `user`
 * with `password` (the same role on every server behind it), who is also its admin. As root it runs as
 * the `postgres` system user.
 */
export async function startPgBouncer(
  databases: Record<string, { port: number; dbname: string }>,
  user: string,
  password: string,
): Promise<PgBouncer> {
  const bin = ensurePgBouncer();
  const dir = await mkdtemp(path.join(tmpdir(), 'dmskit-pgbouncer-'));
  await chmod(dir, 0o777);
  const port = await freePort();
  const iniFile = path.join(dir, 'pgbouncer.ini');
  const userlist = path.join(dir, 'userlist.txt');
  await writeFile(userlist, `"${user}" "${password}"\n`);
  await writeFile(
    iniFile,
    [
      '[databases]',
      ...Object.entries(databases).map(([n, d]) => `${n} = host=127.0.0.1 port=${d.port} dbname=${d.dbname}`),
      '',
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = plain',
      `auth_file = ${userlist}`,
      `admin_users = ${user}`,
      'pool_mode = transaction',
      'max_client_conn = 200',
      'default_pool_size = 20',
      'ignore_startup_parameters = extra_float_digits',
      `logfile = ${path.join(dir, 'pgbouncer.log')}`,
      '',
    ].join('\n'),
  );
  const root = userInfo().uid === 0;
  if (root) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    for (const f of [dir, iniFile, userlist]) await chown(f, uid, gid);
  }
  const child: ChildProcess = spawn(bin, [...(root ? ['-u', 'postgres'] : []), iniFile], { stdio: 'ignore' });
  const adminUrl = `postgres://${user}:${password}@127.0.0.1:${port}/pgbouncer`;
  const deadline = Date.now() + 10_000;
  const pg = (await import('pg')).default;
  for (;;) {
    const c = new pg.Client({ connectionString: adminUrl });
    try {
      await c.connect();
      await c.end();
      break;
    } catch (error) {
      await c.end().catch(() => undefined);
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error(`pgbouncer did not start: ${(error as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    port,
    iniFile,
    adminUrl,
    urlFor: (database) => `postgres://${user}:${password}@127.0.0.1:${port}/${database}`,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGINT');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
