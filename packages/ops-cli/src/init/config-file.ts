import { displayName } from '@dmskit/shared';
import type { CatalogDatabase } from '../catalog/catalog.js';
import type { PreflightReport } from '../preflight/run.js';
import { formatBytes, formatCount } from '../ui/format.js';

/** What `dmskit init` knows of the source when it writes a config. */
export interface InitFacts {
  /** Migration name: lower case, 3-32 of a-z, 0-9 and -. */
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  /** `SHOW server_version`, e.g. "15.18". */
  readonly serverVersion: string;
  /** The catalog of the database (tables, sizes, keys). */
  readonly catalog: CatalogDatabase;
  /** The catalog file written with it, relative to the config's folder (`../catalog/h-p.json`). */
  readonly catalogFile: string;
  readonly preflight: PreflightReport;
  /** ISO date of the day it was written. */
  readonly date: string;
}

/** One DMS task loads and keeps up with about this much; more is split into shards ("Best practices"). */
const BYTES_PER_SHARD = 500 * 1024 ** 3;

/**
 * Suggested `task.shards`: one task per 500 GiB of data, at most 8 (each a slot and a WAL sender on the
 * source; DMS "Best practices": split large databases across tasks).
 */
export function suggestedShards(sizeBytes: number): number {
  return Math.min(8, Math.max(1, Math.ceil(sizeBytes / BYTES_PER_SHARD)));
}

/** Suggested replication instance class by data size (DMS "Choosing the right replication instance"). */
export function suggestedInstanceClass(sizeBytes: number): string {
  if (sizeBytes < 50 * 1024 ** 3) return 'dms.r6i.large';
  if (sizeBytes < 500 * 1024 ** 3) return 'dms.r6i.xlarge';
  return 'dms.r6i.2xlarge';
}

/** A name Aurora takes for the cluster's first database (CreateDBCluster DatabaseName: a letter, then letters, digits, _). */
export function auroraDatabaseName(database: string): string {
  const n = database.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^[^A-Za-z]+/, '');
  return (n || 'app').slice(0, 63);
}

const q = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/**
 * The text of `migrations/<name>.ts`: a config typed with `satisfies MigrationConfigInput`, with the source filled in from the
 * server, one include rule per schema with tables, the sizes and largest tables, tables without a key
 * flagged (and `cutover.insertOnlyTables` left for the user to decide), suggested shards and instance
 * class, the failed preflight checks, and `TODO` comments on what only the user knows (account, network).
 * The text parses as a config as written.
 */
export function initConfigText(f: InitFacts): string {
  const c = f.catalog;
  const schemas = [...new Set(c.tables.map((t) => t.schema))].sort();
  const major = Number.parseInt(f.serverVersion, 10);
  const shards = suggestedShards(c.sizeBytes);
  const hostIsIp = /^\d+\.\d+\.\d+\.\d+$/.test(f.host);
  const failed = f.preflight.checks.filter((x) => !x.passed && x.severity !== 'info');
  const lines: string[] = [];
  const out = (s = '') => lines.push(s);
  // A type-only import: erased when the file is loaded, so it loads wherever it is, typed in an editor.
  out("import type { MigrationConfigInput } from '@dmskit/shared';");
  out();
  out('/**');
  out(
    ` * Database ${f.database} on ${f.host}:${f.port} (PostgreSQL ${f.serverVersion}) to Aurora PostgreSQL.`,
  );
  out(
    ` * Written by \`dmskit init\` on ${f.date}: ${formatCount(c.tableCount)} tables, ${formatBytes(c.sizeBytes)}, about ${formatCount(c.estimatedRows)} rows.`,
  );
  out(' * Edit what is marked TODO, then:');
  out(
    ` *   dmskit preflight --config migrations/${f.name}.ts --source-url postgres://${encodeURIComponent(f.user)}@${f.host}:${f.port}/${encodeURIComponent(f.database)}`,
  );
  out(` *   dmskit rehearse --config migrations/${f.name}.ts`);
  out(` *   dmskit plan --config migrations/${f.name}.ts --offline`);
  if (failed.length) {
    out(' *');
    out(` * preflight found ${failed.length} problem(s) (dmskit preflight --fix-sql prints the SQL fixes):`);
    for (const x of failed) out(` *   - ${x.id} (${x.severity}): ${x.found.replace(/\*\//g, '* /')}`);
  }
  out(' */');
  out('export default {');
  out(`  name: ${q(f.name)},`);
  out("  environment: 'staging',");
  out('  // TODO: the account and region of the landing zone.');
  out("  aws: { region: 'us-east-1' },");
  out('  network: {');
  out('    // TODO: a VPC range that overlaps no on-prem network, and zones of the region above.');
  out("    vpcCidr: '10.60.0.0/16',");
  out("    availabilityZones: ['us-east-1a', 'us-east-1b'],");
  out('    // TODO: the on-prem networks DMS reaches (the source host at least).');
  out(`    onPremCidrs: [${hostIsIp ? q(`${f.host}/32`) : "'192.168.0.0/24'"}],`);
  out(
    '    // TODO: your VPN device (or { type: "direct-connect", ... }); sharedCustomerGateway: true when other',
  );
  out('    // migrations of this account and region reach the same device.');
  out("    connectivity: { type: 'vpn', customerGatewayIp: '203.0.113.10', bgpAsn: 65000 },");
  out('  },');
  out('  source: {');
  out(`    host: ${q(f.host)},`);
  out(`    port: ${f.port},`);
  out(`    database: ${q(f.database)},`);
  out(`    user: ${q(f.user)},`);
  out('    // Never written here: read from this environment variable by dmskit and `dmskit secrets`.');
  out(`    password: { from: 'env', variable: 'DMSKIT_SOURCE_PASSWORD' },`);
  out("    sslmode: 'verify-full',");
  if (Number.isInteger(major)) out(`    majorVersion: ${major},`);
  out('  },');
  out('  target: {');
  const auroraName = auroraDatabaseName(f.database);
  if (auroraName !== f.database)
    out(
      `    // Aurora's first database takes letters, digits and _ only (the source's is ${q(f.database)}).`,
    );
  out(`    databaseName: ${q(auroraName)},`);
  out('    // TODO: the instance class and count the workload needs.');
  out("    instanceClass: 'db.r6g.large',");
  out('    instanceCount: 2,');
  out('  },');
  out(`  // ${formatBytes(c.sizeBytes)}: ${suggestedInstanceClass(c.sizeBytes)} suggested.`);
  out(
    `  replicationInstance: { class: ${q(suggestedInstanceClass(c.sizeBytes))}, allocatedStorageGb: 100, multiAz: true },`,
  );
  out('  task: {');
  out("    migrationType: 'full-load-and-cdc',");
  out('    tableMappings: [');
  for (const s of schemas) {
    const n = c.tables.filter((t) => t.schema === s).length;
    out(`      // ${s}: ${n} table(s)`);
    out(`      { action: 'include', schema: ${q(s)}, table: '%' },`);
  }
  const unlogged = c.unloggedTables ?? [];
  if (unlogged.length) {
    out(
      `      // TODO: ${unlogged.length} UNLOGGED table(s): CDC cannot carry their changes, and start refuses them.`,
    );
    out('      // ALTER TABLE ... SET LOGGED on the source, or exclude them:');
    for (const name of unlogged.slice(0, 50)) {
      const t = c.tables.find((x) => displayName(x) === name);
      if (t) out(`      // { action: 'exclude', schema: ${q(t.schema)}, table: ${q(t.table)} },`);
    }
  }
  out('    ],');
  if (c.largestTables.length) {
    out('    // Largest tables:');
    for (const t of c.largestTables.slice(0, 5))
      out(`    //   ${t.table}: ${formatBytes(t.bytes)}, about ${formatCount(t.estimatedRows)} rows`);
  }
  if (c.lobColumns.length)
    out(
      `    // ${c.lobColumns.length} LOB column(s) (text, bytea, json...): preflight checks the largest value against maxLobSizeKb.`,
    );
  out("    lob: { mode: 'limited', maxLobSizeKb: 64 },");
  out('    validation: { enabled: true },');
  if (shards > 1) {
    out(`    // ${formatBytes(c.sizeBytes)}: about 500 GiB per task, so ${shards} tasks balanced by size.`);
    out(`    shards: ${shards},`);
  } else
    out('    // One task is enough for this size (task.shards splits a database of several hundred GB).');
  out(`    sourceCatalogFile: ${q(f.catalogFile)},`);
  out('  },');
  out('  cutover: {');
  out("    maxLagSeconds: 5,\n    fenceMethod: 'read-only',");
  const keyless = c.tables.filter(
    (t) => !t.partitioned && c.tablesWithoutPrimaryKey.includes(displayName(t)),
  );
  if (keyless.length) {
    out(
      `    // ${keyless.length} table(s) without a primary key: their UPDATE and DELETE cannot be replicated.`,
    );
    out('    // Add a key (or REPLICA IDENTITY FULL: dmskit preflight --fix-sql), or, if they only ever get');
    out('    // INSERTs, list them here and the cutover accepts them:');
    out('    // insertOnlyTables: [');
    for (const t of keyless.slice(0, 50)) out(`    //   { schema: ${q(t.schema)}, table: ${q(t.table)} },`);
    if (keyless.length > 50) out(`    //   ...and ${keyless.length - 50} more (dmskit catalog lists them)`);
    out('    // ],');
  }
  out('  },');
  out('} satisfies MigrationConfigInput;');
  return `${lines.join('\n')}\n`;
}
