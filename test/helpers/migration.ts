import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadMigrationConfig } from '@dmskit/shared';
import { REPO_ROOT, runDmskit } from './cli.js';
import { createDatabase, type LocalServer, query } from './servers.js';

/** A native migration of its own (database, names, state folder), started and replicating. */
export interface TestMigration {
  readonly name: string;
  readonly sourceUrl: string;
  readonly targetUrl: string;
  readonly configFile: string;
  /** `--config ... --engine native --source-url ... --target-url ... --state-dir ...` */
  readonly args: readonly string[];
  readonly stateDir: string;
  readonly slot: string;
  readonly subscription: string;
}

let count = 0;

/**
 * Creates a database on both servers, loads `schema` into the source and writes a config (the example's,
 * renamed, with `cutover` merged in); nothing is started.
 */
export async function prepareMigration(
  source: LocalServer,
  target: LocalServer,
  dir: string,
  options: {
    /** SQL run on the new source database. */
    schema?: string;
    /** The source database exists already (with its data): only the target's is created. */
    sourceExists?: boolean;
    cutover?: Record<string, unknown>;
    /** Merged into the config's `fullLoad`. */
    fullLoad?: Record<string, unknown>;
    /** The selection rules. @default every table of schema public */
    tableMappings?: Record<string, unknown>[];
    name?: string;
    /** @default `db_<name>` */
    database?: string;
    sourceUrl?: (db: string) => string;
  },
): Promise<TestMigration> {
  count++;
  const name = options.name ?? `m${process.pid % 1000}x${count}`;
  const db = options.database ?? `db_${name.replace(/-/g, '_')}`;
  const [sourceUrl, targetUrl] = await Promise.all([
    options.sourceExists ? source.urlFor(db) : createDatabase(source, db),
    createDatabase(target, db),
  ]);
  if (options.schema) await query(sourceUrl, options.schema);
  const { config } = await loadMigrationConfig('migrations/ecommerce.ts', { cwd: REPO_ROOT });
  const cfg = {
    ...structuredClone(config),
    name,
    task: {
      ...config.task,
      tableMappings: options.tableMappings ?? [{ action: 'include', schema: 'public', table: '%' }],
    },
    source: { ...config.source, caCertificateFile: undefined },
    cutover: { ...config.cutover, ...options.cutover },
    fullLoad: { ...config.fullLoad, ...options.fullLoad },
  };
  const configFile = path.join(dir, `${name}.json`);
  await writeFile(configFile, JSON.stringify(cfg));
  const stateDir = path.join(dir, `${db}-state`);
  const args = [
    '--config',
    configFile,
    '--engine',
    'native',
    '--source-url',
    options.sourceUrl ? options.sourceUrl(db) : sourceUrl,
    '--target-url',
    targetUrl,
    '--state-dir',
    stateDir,
  ];
  const base = `dmskit_${name.replace(/-/g, '_')}_staging`;
  return {
    name,
    sourceUrl,
    targetUrl,
    configFile,
    args,
    stateDir,
    slot: `${base}_slot`,
    subscription: `${base}_sub`,
  };
}

/** Polls `fn` every 100 ms until it returns true. @throws after `timeoutMs` */
export async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * {@link prepareMigration}, then `dmskit start --engine native`.
 * @throws when start fails (with its stderr)
 */
export async function startMigration(
  source: LocalServer,
  target: LocalServer,
  dir: string,
  options: Parameters<typeof prepareMigration>[3],
): Promise<TestMigration> {
  const m = await prepareMigration(source, target, dir, options);
  const started = await runDmskit(['start', ...m.args]);
  if (started.code !== 0) throw new Error(`dmskit start failed (${started.code}): ${started.stderr}`);
  return m;
}
