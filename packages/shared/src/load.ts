import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { UsageError } from './errors.js';
import { type ParsedConfig, parseMigrationConfig } from './parse.js';

const MODULE_EXTENSIONS = new Set(['.ts', '.mts', '.js', '.mjs']);

/**
 * Loads one migration config: a TypeScript or JavaScript module whose default export (or `migration`
 * export) is the config, or a JSON file. Relative paths resolve against `cwd`.
 * @throws UsageError when the file is missing, is not a config module, or is not valid JSON
 * @throws ConfigError listing every invalid field
 */
export async function loadMigrationConfig(
  file: string,
  options: { cwd?: string } = {},
): Promise<ParsedConfig> {
  const absolute = path.resolve(options.cwd ?? process.cwd(), file);
  const info = await stat(absolute).catch(() => undefined);
  if (!info?.isFile()) throw new UsageError(`config file not found: ${file}`);
  const ext = path.extname(absolute);
  let value: unknown;
  if (ext === '.json') {
    try {
      value = JSON.parse(await readFile(absolute, 'utf8'));
    } catch (error) {
      throw new UsageError(`${file}: not valid JSON (${(error as Error).message})`);
    }
  } else if (MODULE_EXTENSIONS.has(ext)) {
    let mod: Record<string, unknown>;
    try {
      // tsx compiles TypeScript configs on the fly, whether or not this process already runs under tsx.
      const { tsImport } = await import('tsx/esm/api');
      mod = (await tsImport(pathToFileURL(absolute).href, import.meta.url)) as Record<string, unknown>;
    } catch (error) {
      throw new UsageError(`${file}: cannot be loaded: ${loadFailure(error, absolute, file)}`);
    }
    value = exportedConfig(mod);
    if (value === undefined) {
      throw new UsageError(`${file}: has no default export (export default defineMigration({ ... }))`);
    }
  } else {
    throw new UsageError(
      `${file}: a config is a .ts, .mts, .js, .mjs or .json file, not ${ext || 'a file without extension'}`,
    );
  }
  return parseMigrationConfig(value, file);
}

/**
 * The one line that says why a config module did not load: for a syntax error, esbuild's
 * `path:line:column: ERROR: message` (after "Transform failed with N error(s):") as `file:line:column:
 * message`; otherwise the error's first line.
 */
function loadFailure(error: unknown, absolute: string, file: string): string {
  const message = String((error as Error)?.message ?? error);
  const located = /(\S+):(\d+):(\d+): ERROR: (.+)/.exec(message);
  if (located) {
    const where = located[1] === absolute ? file : located[1];
    // esbuild counts columns from 0; editors and compilers from 1.
    return `${where}:${located[2]}:${Number(located[3]) + 1}: ${located[4]}`;
  }
  return message.split('\n')[0] ?? message;
}

/**
 * A config module's config: its default export (or `migration` export). A module compiled as CommonJS
 * (outside a `"type": "module"` package) arrives with its exports under `default`: unwrapped.
 */
function exportedConfig(mod: Record<string, unknown>): unknown {
  const value = mod.default ?? mod.migration;
  if (value && typeof value === 'object' && !('name' in value)) {
    const inner = (value as Record<string, unknown>).default ?? (value as Record<string, unknown>).migration;
    if (inner !== undefined) return inner;
  }
  return value;
}

const CONFIG_EXTENSIONS = new Set([...MODULE_EXTENSIONS, '.json']);

/** Whether a value is shaped like a migration config (a `name` and a `source`), not a helper's export. */
function looksLikeMigration(value: unknown): boolean {
  return (
    Boolean(value) &&
    typeof value === 'object' &&
    'name' in (value as object) &&
    'source' in (value as object)
  );
}

/**
 * Every migration config under a folder (`migrations/`), subfolders included, in path order. A module
 * whose default (or `migration`) export is not shaped like a config (a `name` and a `source`), such as a
 * helper that exports shared settings, and a JSON file that is not one (a `dmskit catalog` file, say) are
 * not migrations and are skipped; `node_modules`, dot folders and `.d.ts` files are never read.
 * @returns each config with its file
 * @throws ConfigError for a migration with invalid fields; UsageError when two files describe the same
 *   migration and environment (one stack each), or a module cannot be loaded
 */
export async function discoverMigrations(dir: string): Promise<(ParsedConfig & { file: string })[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  const files = entries
    .filter((e) => e.isFile() && CONFIG_EXTENSIONS.has(path.extname(e.name)) && !e.name.endsWith('.d.ts'))
    .map((e) => path.join(e.parentPath, e.name))
    .filter(
      (f) =>
        !path
          .relative(dir, f)
          .split(path.sep)
          .some((part) => part === 'node_modules' || part.startsWith('.')),
    )
    .sort();
  const out: (ParsedConfig & { file: string })[] = [];
  const seen = new Map<string, string>();
  for (const file of files) {
    const shown = path.relative(process.cwd(), file) || file;
    let value: unknown;
    if (path.extname(file) === '.json') {
      try {
        value = JSON.parse(await readFile(file, 'utf8'));
      } catch {
        continue; // not JSON at all: not a config
      }
    } else {
      try {
        const { tsImport } = await import('tsx/esm/api');
        const mod = (await tsImport(pathToFileURL(file).href, import.meta.url)) as Record<string, unknown>;
        value = exportedConfig(mod);
      } catch (error) {
        throw new UsageError(`${shown}: cannot be loaded: ${loadFailure(error, file, shown)}`);
      }
    }
    if (!looksLikeMigration(value)) continue;
    const parsed = parseMigrationConfig(value, shown);
    const key = `${parsed.config.name}/${parsed.config.environment}`;
    const other = seen.get(key);
    if (other)
      throw new UsageError(
        `${shown} and ${other} both describe ${parsed.config.name} in ${parsed.config.environment}: one file per migration and environment`,
      );
    seen.set(key, shown);
    out.push({ ...parsed, file });
  }
  return out;
}
