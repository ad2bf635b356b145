/** The source and target sections: the on-prem PostgreSQL server and the Aurora cluster. */
import { z } from 'zod';
import { cidr, maintenanceSchema, PasswordSourceSchema, pgIdentifier, SSL_MODES } from './common.js';

export const SourceSchema = z.strictObject({
  /** Host name or IP of the on-prem PostgreSQL server, as the replication instance reaches it. */
  host: z.string().min(1),
  /** @default 5432 */
  port: z.number().int().min(1).max(65535).default(5432),
  database: z.string().min(1),
  user: z.string().min(1),
  /** @default { from: 'env', variable: 'DMSKIT_SOURCE_PASSWORD' } */
  password: PasswordSourceSchema.default({ from: 'env', variable: 'DMSKIT_SOURCE_PASSWORD' }),
  /** libpq `sslmode` the endpoint uses. @default 'verify-full' */
  sslmode: z.enum(SSL_MODES).default('verify-full'),
  /** PEM file of the CA that signed the source's server certificate (needed by verify-ca and verify-full). */
  caCertificateFile: z.string().optional(),
  /**
   * The source host's address block (a /32) when `host` is a name: the fall-back path (`cutover.fallback`)
   * opens Aurora's port to it alone. @default `host` as a /32 when it is an IPv4 address, else every
   * `network.onPremCidrs` (a warning says so)
   */
  hostCidr: cidr.optional(),
  /** Major version of the source server, if known; checked against the target's. */
  majorVersion: z.number().int().min(10).max(30).optional(),
  /**
   * DMS source endpoint settings (DMS API reference: "PostgreSQLSettings"; DMS: "Endpoint settings when
   * using PostgreSQL as a DMS source"). @default the values below
   */
  dms: z
    .strictObject({
      /** Schema of DMS's heartbeat table on the source. @default DMS's own (public) */
      heartbeatSchema: pgIdentifier.optional(),
      /** Capture DDL in a DMS table on the source (dmskit copies the schema itself). @default false */
      captureDdls: z.boolean().default(false),
      /** jsonb migrated as a CLOB instead of NCLOB. @default false */
      mapJsonbAsClob: z.boolean().default(false),
      /** How varchar without a length (and text) is typed: wstring, clob or nclob. @default 'wstring' */
      mapLongVarcharAs: z.enum(['wstring', 'clob', 'nclob']).default('wstring'),
      /** Client statement timeout on the source, in seconds. @default 60 */
      executeTimeout: z.number().int().min(1).max(86_400).default(60),
    })
    .prefault({}),
});

export const TargetSchema = z.strictObject({
  /** Aurora PostgreSQL engine version. @default '16.4' */
  engineVersion: z
    .string()
    .regex(/^\d+\.\d+$/, 'must be a version such as 16.4')
    .default('16.4'),
  /** @default 'db.r6g.large' */
  instanceClass: z
    .string()
    .regex(/^db\.[a-z0-9]+\.[a-z0-9]+$/, 'must be a DB instance class such as db.r6g.large')
    .default('db.r6g.large'),
  /** Writer plus readers. @default 2 */
  instanceCount: z.number().int().min(1).max(16).default(2),
  /**
   * When an instance class or engine change restarts Aurora: the window and whether to apply at once.
   * @default { window: 'sun:04:00-sun:04:30', applyImmediately: false }
   */
  maintenance: maintenanceSchema('sun:04:00-sun:04:30'),
  /** Database created on the cluster. @default the source database name */
  databaseName: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_]{0,62}$/, 'must be a database name')
    .optional(),
  /** @default 'dmskit_admin' */
  masterUsername: pgIdentifier.default('dmskit_admin'),
  /** CIDRs of applications allowed to reach the cluster on 5432. @default [] */
  appCidrs: z.array(cidr).default([]),
  /** Extra cluster parameters (name -> value), merged over the ones a migration target needs. @default {} */
  parameters: z.record(z.string(), z.string()).default({}),
  /** @default true */
  deletionProtection: z.boolean().default(true),
  /** @default 7 */
  backupRetentionDays: z.number().int().min(1).max(35).default(7),
});
