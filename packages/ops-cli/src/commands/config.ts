import { access } from 'node:fs/promises';
import path from 'node:path';
import { loadMigrationConfig, type ParsedConfig } from '@dmskit/shared';

/** The example config shipped with dmskit, found from this file (works from any working directory). */
export const EXAMPLE_CONFIG = path.resolve(import.meta.dirname, '../../../../migrations/ecommerce.ts');

/**
 * Loads `--config`, relative to `cwd`; the default `migrations/ecommerce.ts` falls back to the example
 * shipped with dmskit when the working directory has no such file.
 */
export async function loadConfigOption(file: string, cwd: string): Promise<ParsedConfig> {
  if (file === 'migrations/ecommerce.ts') {
    const local = path.resolve(cwd, file);
    const found = await access(local).then(
      () => true,
      () => false,
    );
    if (!found) return loadMigrationConfig(EXAMPLE_CONFIG);
  }
  return loadMigrationConfig(file, { cwd });
}
