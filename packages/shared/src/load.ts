import { readFile, stat } from 'node:fs/promises';
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
    value = mod.default ?? mod.migration;
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
