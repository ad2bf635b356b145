import type { MigrationConfig } from './config.js';

/**
 * Names and tags every package derives from one config, so that the infra stack, the DMS engine and the
 * native engine find the same resources by name (never by ARNs typed by hand).
 */

/** `ecommerce-prod-<suffix>`: the prefix of every AWS resource name of this migration. */
export function resourceName(config: Pick<MigrationConfig, 'name' | 'environment'>, suffix?: string): string {
  const base = `${config.name}-${config.environment}`;
  return suffix ? `${base}-${suffix}` : base;
}

/** Tags set on every AWS resource: dmskit's own first, the config's after (a config tag never removes ours). */
export function resourceTags(
  config: Pick<MigrationConfig, 'name' | 'environment' | 'tags'>,
): Record<string, string> {
  return {
    ...config.tags,
    'dmskit:migration': config.name,
    'dmskit:environment': config.environment,
    ManagedBy: 'dmskit',
  };
}

/** The cdktf stack name of a migration in one environment. */
export function stackName(config: Pick<MigrationConfig, 'name' | 'environment'>): string {
  return resourceName(config);
}

/**
 * Names of the PostgreSQL objects the native engine creates: publication, subscription and replication
 * slot. Lower-case identifiers of at most 63 bytes (PostgreSQL: "Identifiers and Key Words";
 * slot names allow only a-z, 0-9 and _ per "Replication Slots").
 */
export function nativeObjectNames(config: Pick<MigrationConfig, 'name' | 'environment'>): {
  publication: string;
  /** Publication for tables without a primary key or replica identity: inserts only. */
  insertOnlyPublication: string;
  subscription: string;
  slot: string;
  /** Table in the `dmskit` schema holding this migration's watermark row (source and target). */
  watermarkTable: string;
  /** Trigger (and its function in the `dmskit` schema) of the fence's write guard on the source. */
  fenceTrigger: string;
  /** Trigger (and its function) that refuses writes on the target's tables while CDC runs. */
  targetGuard: string;
  /** Event trigger on the source that records DDL while CDC runs, and its function. */
  ddlCapture: string;
  /** Table in the `dmskit` schema on the source where the DDL capture writes. */
  ddlLog: string;
} {
  const base = `dmskit_${config.name}_${config.environment}`.replace(/-/g, '_').slice(0, 50);
  return {
    publication: `${base}_pub`,
    insertOnlyPublication: `${base}_pub_ins`,
    subscription: `${base}_sub`,
    slot: `${base}_slot`,
    watermarkTable: `${base}_watermark`,
    fenceTrigger: `${base}_fence`,
    targetGuard: `${base}_target_guard`,
    ddlCapture: `${base}_ddl`,
    ddlLog: `${base}_ddl_log`,
  };
}

/** The schema of dmskit's own objects on both servers (watermark tables, fence triggers). */
export const DMSKIT_SCHEMA = 'dmskit';

/** The DMS replication slot name the source endpoint uses. */
export function dmsSlotName(config: Pick<MigrationConfig, 'name' | 'environment'>): string {
  return `dmskit_${config.name}_${config.environment}_dms`.replace(/-/g, '_').slice(0, 63);
}

/**
 * The S3 bucket and IAM role of a migration's premigration assessments, as the stack makes them and
 * `dmskit assess` finds them (bucket names are global: the account and region make it unique).
 * @returns undefined without `aws.accountId` (the names need it)
 */
export function assessmentResources(
  config: Pick<MigrationConfig, 'name' | 'environment' | 'aws'>,
): { bucket: string; roleName: string; roleArn: string } | undefined {
  const account = config.aws.accountId;
  if (!account) return undefined;
  const base = resourceName(config);
  const partition = config.aws.region.startsWith('cn-')
    ? 'aws-cn'
    : config.aws.region.includes('-gov-')
      ? 'aws-us-gov'
      : 'aws';
  const roleName = `${base}-dms-assessment`.slice(0, 64);
  return {
    bucket: `${base.slice(0, 24)}-dms-assess-${account}-${config.aws.region}`.slice(0, 63),
    roleName,
    roleArn: `arn:${partition}:iam::${account}:role/${roleName}`,
  };
}
