import { readFile, rename, writeFile } from 'node:fs/promises';
import { ExternalError, UsageError } from '@dmskit/shared';
import { closeQuietly, openConnection } from '@dmskit/validation';
import pg from 'pg';

/** Where the target is, for a pooler's database entry. */
export interface SwitchTarget {
  readonly host: string;
  readonly port: number;
  readonly database: string;
}

/**
 * A session on PgBouncer's admin console (the special database `pgbouncer`; PgBouncer: "Admin console"),
 * which takes only simple queries. Opened once, before the window, so that PAUSE, RELOAD and RESUME cost a
 * round trip each; a lost session is opened again once.
 */
export interface PoolerAdmin {
  /** @throws ExternalError naming the command and PgBouncer's answer */
  run(command: string): Promise<void>;
  close(): Promise<void>;
}

export function poolerAdmin(adminUrl: string): PoolerAdmin {
  let client: pg.Client | undefined;
  const open = async () => {
    client ??= await openConnection(adminUrl, 'PgBouncer admin console', { applicationName: 'dmskit' });
    return client;
  };
  return {
    run: async (command) => {
      for (let attempt = 0; ; attempt++) {
        try {
          await (await open()).query(command);
          return;
        } catch (error) {
          const lost = !(error as { severity?: string }).severity;
          await closeQuietly(client);
          client = undefined;
          if (!lost || attempt > 0)
            throw new ExternalError(`PgBouncer ${command}: ${(error as Error).message}`, { cause: error });
        }
      }
    },
    close: async () => {
      await closeQuietly(client);
      client = undefined;
    },
  };
}

/**
 * `PAUSE db`: PgBouncer waits for the transactions in flight to end, closes its server connections to the
 * database, and holds clients' new queries (they wait, nothing fails) until RESUME. In transaction pooling
 * this takes as long as the longest transaction in flight (PgBouncer: "Admin console", PAUSE).
 */
export function pausePooler(admin: PoolerAdmin, database: string): Promise<void> {
  return admin.run(`PAUSE ${pg.escapeIdentifier(database)}`);
}

/** `RESUME db`: held queries run, on whatever server the database entry now names. */
export function resumePooler(admin: PoolerAdmin, database: string): Promise<void> {
  return admin.run(`RESUME ${pg.escapeIdentifier(database)}`);
}

/** `RELOAD`: PgBouncer reads its ini file again. */
export function reloadPooler(admin: PoolerAdmin): Promise<void> {
  return admin.run('RELOAD');
}

const ENTRY = /^(\s*)("(?:[^"]|"")*"|[^=\s]+)(\s*=\s*)(.*)$/;

/** libpq-style `key=value` pairs of a database entry, values quoted with '...' kept as written. */
function parsePairs(text: string): [string, string][] {
  const pairs: [string, string][] = [];
  const re = /([a-z_]+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)/gi;
  for (let m = re.exec(text); m; m = re.exec(text)) pairs.push([m[1]!.toLowerCase(), m[2]!]);
  return pairs;
}

/**
 * The ini text with the `[databases]` entry of `database` pointed at `target` (host, port, dbname
 * replaced, every other setting of the entry kept).
 * @throws UsageError when the file has no such entry
 */
export function repointedIni(text: string, database: string, target: SwitchTarget): string {
  const lines = text.split('\n');
  let section = '';
  let found = false;
  const out = lines.map((line) => {
    const header = /^\s*\[([^\]]+)\]/.exec(line);
    if (header) {
      section = header[1]!.trim().toLowerCase();
      return line;
    }
    if (section !== 'databases' || /^\s*[;#]/.test(line)) return line;
    const m = ENTRY.exec(line);
    if (!m) return line;
    const name = m[2]!.startsWith('"') ? m[2]!.slice(1, -1).replace(/""/g, '"') : m[2]!;
    if (name !== database) return line;
    found = true;
    const kept = parsePairs(m[4]!).filter(([k]) => !['host', 'port', 'dbname'].includes(k));
    const quote = (v: string) => (/^[\w.:-]+$/.test(v) ? v : `'${v.replace(/['\\]/g, '\\$&')}'`);
    const pairs = [
      ['host', quote(target.host)],
      ['port', String(target.port)],
      ['dbname', quote(target.database)],
      ...kept,
    ];
    return `${m[1]}${m[2]}${m[3]}${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`;
  });
  if (!found)
    throw new UsageError(`cutover.pooler.iniFile: no entry for database ${database} under [databases]`);
  return out.join('\n');
}

/**
 * Points the pooler's database entry at the target in its ini file (replaced atomically).
 * @returns the file's text before, to put back on rollback
 */
export async function repointIniFile(file: string, database: string, target: SwitchTarget): Promise<string> {
  const before = await readFile(file, 'utf8').catch((error: Error) => {
    throw new UsageError(`cutover.pooler.iniFile: cannot read ${file}: ${error.message}`);
  });
  await writeAtomically(file, repointedIni(before, database, target));
  return before;
}

/** Writes `text` to `file` through a temporary file and a rename. */
export async function writeAtomically(file: string, text: string): Promise<void> {
  const tmp = `${file}.dmskit-${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}
