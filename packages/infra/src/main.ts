import path from 'node:path';
import { DmskitError, discoverMigrations, loadMigrationConfig } from '@dmskit/shared';
import { App } from 'cdktf';
import { addMigrationStacks } from './app.js';

/**
 * The cdktf app (`cdktf.json` runs it): one stack per migration config, and one account baseline stack
 * (`dmskit-account-baseline-<account>`: the account-wide DMS roles) per account, after the migrations
 * were checked against each other (app.ts). The only place that creates the App and calls synth().
 *   DMSKIT_CONFIG   comma-separated config files; default every migration under ../../migrations
 *   DMSKIT_OFFLINE  1: plan without AWS (no credential checks, local state)
 *   CDKTF_OUTDIR    output folder; default cdktf.out
 */
const migrationsDir = path.resolve(import.meta.dirname, '../../../migrations');
try {
  // The configs named, or every migration under migrations/ (subfolders too; helper modules and catalog
  // files are not migrations and are skipped).
  const migrations = process.env.DMSKIT_CONFIG
    ? await Promise.all(
        process.env.DMSKIT_CONFIG.split(',').map(async (f) => ({
          ...(await loadMigrationConfig(path.resolve(f))),
          file: path.resolve(f),
        })),
      )
    : await discoverMigrations(migrationsDir);
  const app = new App({ outdir: process.env.CDKTF_OUTDIR ?? 'cdktf.out' });
  await addMigrationStacks(app, migrations, { offline: process.env.DMSKIT_OFFLINE === '1' });
  app.synth();
} catch (error) {
  // A config mistake is one message, not a stack trace in the middle of cdktf's output.
  if (error instanceof DmskitError && error.kind !== 'internal') {
    process.stderr.write(`dmskit: ${error.message}\n`);
    process.exit(error.exitCode);
  }
  throw error;
}
