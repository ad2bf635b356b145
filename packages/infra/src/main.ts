import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { discoverMigrations, loadMigrationConfig, stackName } from '@dmskit/shared';
import { App } from 'cdktf';
import { AccountBaselineStack } from './account-baseline.js';
import { readSourceCatalog } from './catalog-file.js';
import { MigrationStack, partitionOf } from './stack.js';

/**
 * The cdktf app (`cdktf.json` runs it): one stack per migration config, and one account baseline stack
 * (`dmskit-account-baseline-<account>-<region>`: the account-wide DMS roles) per account and region
 * for the configs that name their account. The only place that creates the App and calls synth().
 *   DMSKIT_CONFIG   comma-separated config files; default every migration under ../../migrations
 *   DMSKIT_OFFLINE  1: plan without AWS (no credential checks, local state)
 *   CDKTF_OUTDIR    output folder; default cdktf.out
 */
const migrationsDir = path.resolve(import.meta.dirname, '../../../migrations');
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
const offline = process.env.DMSKIT_OFFLINE === '1';
const baselines = new Set<string>();
for (const { config, file } of migrations) {
  const baseline = `dmskit-account-baseline-${config.aws.accountId}-${config.aws.region}`;
  if (config.aws.accountId && !baselines.has(baseline)) {
    baselines.add(baseline);
    new AccountBaselineStack(app, baseline, {
      region: config.aws.region,
      accountId: config.aws.accountId,
      partition: partitionOf(config.aws.region),
      ...(config.state ? { state: config.state } : {}),
      offline,
    });
  }
  const ca = config.source.caCertificateFile;
  const catalog = await readSourceCatalog(config, file);
  new MigrationStack(app, stackName(config), {
    config,
    offline,
    ...(ca ? { sourceCaCertificatePem: await readFile(path.resolve(path.dirname(file), ca), 'utf8') } : {}),
    ...(catalog ? { catalog } : {}),
  });
}
app.synth();
