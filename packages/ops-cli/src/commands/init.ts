import { access, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadMigrationConfig, redact, UsageError } from '@dmskit/shared';
import { closeQuietly, openConnection } from '@dmskit/validation';
import { catalogServer, readCatalog } from '../catalog/catalog.js';
import { initConfigText } from '../init/config-file.js';
import type { CommandOutcome } from '../outcome.js';
import { parseConnectionUrl } from '../pg/url.js';
import { runPreflight } from '../preflight/run.js';

/** `dmskit init` options (`--source-url` folded in by the CLI). */
export interface InitOptions {
  readonly cwd: string;
  readonly sourceUrl: string;
  readonly name?: string;
  readonly out?: string;
  readonly force?: boolean;
}

/** A migration name from a database name: lower case, a-z 0-9 and -, 3-32 long. */
function nameFrom(database: string): string {
  let n = database
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (!/^[a-z]/.test(n)) n = `db-${n}`;
  if (n.length < 3) n = `${n}-migration`;
  return n.slice(0, 32).replace(/-+$/, '');
}

/**
 * `dmskit init --source-url URL`: catalogs the source server (written to `catalog/<host>-<port>.json`),
 * runs the preflight against it, and writes `migrations/<name>.ts`, a typed, commented config that parses
 * as written (it is loaded back before the command says so). Refuses to overwrite a file without `--force`.
 * @throws UsageError for a bad name or an existing file; ExternalError when the source cannot be reached
 */
export async function init(o: InitOptions): Promise<CommandOutcome> {
  const parts = parseConnectionUrl(o.sourceUrl, '--source-url');
  const name = o.name ?? nameFrom(parts.database);
  if (!/^[a-z][a-z0-9-]{1,30}[a-z0-9]$/.test(name))
    throw new UsageError(
      `--name: '${name}' must be 3-32 characters of a-z, 0-9 and -, starting with a letter`,
    );
  const file = path.resolve(o.cwd, o.out ?? path.join('migrations', `${name}.ts`));
  if (
    !o.force &&
    (await access(file).then(
      () => true,
      () => false,
    ))
  )
    throw new UsageError(`${path.relative(o.cwd, file)} exists: choose --out, or --force to overwrite it`);
  const catalogRel = path.join('catalog', `${parts.host}-${parts.port}.json`);
  const catalogFile = path.resolve(o.cwd, catalogRel);
  const catalog = await catalogServer(o.sourceUrl, await readCatalog(catalogFile));
  const db = catalog.databases.find((d) => d.name === parts.database && d.present);
  if (!db)
    throw new UsageError(`--source-url: database ${parts.database} not found on ${parts.host}:${parts.port}`);
  const preflight = await runPreflight({ source: o.sourceUrl });
  const client = await openConnection(o.sourceUrl, 'source', { applicationName: 'dmskit-init' });
  let serverVersion: string;
  try {
    serverVersion = ((await client.query('SHOW server_version')).rows[0] as { server_version: string })
      .server_version;
  } finally {
    await closeQuietly(client);
  }
  await mkdir(path.dirname(catalogFile), { recursive: true });
  await writeFile(catalogFile, `${redact(JSON.stringify(catalog, null, 2))}\n`);
  const text = initConfigText({
    name,
    host: parts.host,
    port: parts.port,
    database: parts.database,
    user: parts.user,
    serverVersion: serverVersion.split(' ')[0] ?? serverVersion,
    catalog: db,
    // Read by the stack relative to the config's folder (infra: catalog-file.ts).
    catalogFile: path.relative(path.dirname(file), catalogFile).split(path.sep).join('/'),
    preflight,
    date: new Date().toISOString().slice(0, 10),
  });
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text);
  await loadMigrationConfig(file);
  const failed = preflight.checks.filter((c) => !c.passed && c.severity === 'error').length;
  process.stderr.write(
    `wrote ${path.relative(o.cwd, file)} (${db.tableCount} tables) and ${catalogRel}; edit its TODOs, then: dmskit preflight --config ${path.relative(o.cwd, file)}${failed ? ` (${failed} preflight error(s) to fix first: dmskit preflight --source-url ... --fix-sql)` : ''}\n`,
  );
  return { exitCode: 0 };
}
