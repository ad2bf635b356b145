import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { REPO_ROOT } from './cli.js';

/**
 * `../shared/datasets/` next to the repo (the data sets are shared, never copied into the repo), or
 * `$DMSKIT_DATASETS`.
 */
export const DATASETS = process.env.DMSKIT_DATASETS ?? path.resolve(REPO_ROOT, '../shared/datasets');

/**
 * The Chinook psql script without its first statements (DROP/CREATE DATABASE and `\c`), so that it loads
 * through a driver into a database the test created.
 */
export async function chinookSql(): Promise<string> {
  const script = await readFile(path.join(DATASETS, 'chinook/chinook_serial.sql'), 'utf8');
  const connect = script.indexOf('\\c chinook_serial;');
  if (connect < 0) throw new Error('chinook_serial.sql: no \\c line; the data set changed');
  return script.slice(script.indexOf('\n', connect) + 1);
}
