/** The cutover section: the fence, the gates, the pooler and DNS switch, application checks, and the fall-back path. */
import { z } from 'zod';

export const FENCE_METHODS = ['read-only', 'lock-tables', 'revoke-login'] as const;

/** A connection pooler that the cutover pauses, repoints at the target and resumes (PgBouncer). */
export const PoolerSchema = z.strictObject({
  type: z.literal('pgbouncer'),
  /**
   * The admin console, `postgres://admin@host:6432/pgbouncer` (a user in PgBouncer's `admin_users`; a
   * password in the URL is never printed).
   */
  adminUrl: z
    .string()
    .regex(/^postgres(ql)?:\/\/.+\/pgbouncer(\?.*)?$/, 'must be a postgres:// URL of the database pgbouncer'),
  /** The database name clients use, an entry of `[databases]` in the ini file. */
  database: z.string().min(1),
  /** The ini file dmskit repoints (path on the machine running dmskit, relative to the working directory). */
  iniFile: z.string().min(1),
});

export const CutoverSchema = z.strictObject({
  /** Lag (seconds) under which writes may be fenced. @default 5 */
  maxLagSeconds: z.number().min(0).max(3600).default(5),
  /**
   * Lag in bytes (the source's WAL position minus the slot's confirmed LSN) under which writes may be
   * fenced. @default 67108864 (64 MiB)
   */
  maxLagBytes: z
    .number()
    .int()
    .min(0)
    .default(64 * 1024 * 1024),
  /**
   * How writes on the source are stopped (README: "Fence methods"; each keeps the source fenced after
   * dmskit exits). Every method also puts the write guard on each table in scope and its partitioned and
   * inheritance parents: statement triggers that refuse INSERT, UPDATE, DELETE and TRUNCATE by any path
   * and any role; only a superuser (`session_replication_role = replica`) or a table owner who drops the
   * trigger gets past it.
   * - read-only: `default_transaction_read_only = on` on the database and every other session ended; a
   *   session that asks for read-write meets the write guard.
   * - lock-tables: the write guard alone.
   * - revoke-login: the roles in `applicationRoles` lose LOGIN and their sessions are ended; any other
   *   role meets the write guard.
   * @default 'read-only'
   */
  fenceMethod: z.enum(FENCE_METHODS).default('read-only'),
  /** The application's roles, which the revoke-login fence locks out. @default [] */
  applicationRoles: z.array(z.string().min(1)).default([]),
  /** How long to wait for the replication slot to confirm the fence LSN, in seconds. @default 300 */
  lsnWaitTimeoutSeconds: z.number().int().min(1).max(86_400).default(300),
  /**
   * The longest the source may stay fenced before the target is ready, in seconds: past it the fence is
   * released and the cutover fails. @default 30
   */
  maxFenceSeconds: z.number().min(1).max(3600).default(30),
  /**
   * When the final validation runs: after the target is declared ready (out of the write-unavailability
   * window; the fenced source against the target's snapshot taken at ready), or before, inside the window
   * (a difference then cancels the cutover). @default 'after-ready'
   */
  finalValidation: z.enum(['after-ready', 'before-ready']).default('after-ready'),
  /**
   * The pooler clients reach the source through: paused before the fence (clients' queries wait), pointed
   * at the target and resumed at ready, so clients see a pause and no error. Needs transaction pooling.
   */
  pooler: PoolerSchema.optional(),
  /**
   * A shell command run at the switch, right before ready, with DMSKIT_TARGET_HOST, DMSKIT_TARGET_PORT and
   * DMSKIT_TARGET_DATABASE in its environment (another pooler, a DNS record); a non-zero exit cancels the
   * cutover.
   */
  switchCommand: z.string().min(1).optional(),
  /**
   * The DNS name the applications connect to (a CNAME in a Route 53 private hosted zone the stack creates,
   * pointing at `source.host` over the VPN resolver path before the cutover): at the switch, right before
   * ready, it is pointed at the Aurora writer endpoint (ChangeResourceRecordSets, waited for INSYNC), and
   * back at the source by a rollback. Clients see the change after at most `ttlSeconds` more: the window
   * estimate counts it.
   */
  dns: z
    .strictObject({
      /** The private hosted zone, e.g. `db.corp.internal`. */
      zoneName: z
        .string()
        .regex(/^([a-z0-9-]+\.)+[a-z0-9-]+\.?$/, 'must be a DNS zone name such as db.corp.internal'),
      /** The record the applications use, in that zone, e.g. `shop.db.corp.internal`. */
      recordName: z
        .string()
        .regex(/^([a-z0-9-]+\.)+[a-z0-9-]+\.?$/, 'must be a DNS name such as shop.db.corp.internal'),
      /** The record's TTL, seconds. @default 30 */
      ttlSeconds: z.number().int().min(1).max(86_400).default(30),
    })
    .strict()
    .optional(),
  /**
   * Fall back without loss: at ready, PostgreSQL logical replication from the target back to the old
   * source starts (no copy), so `dmskit rollback` after ready loses no write made on the target, until
   * `dmskit finish` ends it. Needs wal_level = logical on the target (Aurora: rds.logical_replication = 1).
   * @default true
   */
  fallback: z.boolean().default(true),
  /** `dmskit status` warns when the fall-back path is older than this (its slot retains WAL). @default 7 */
  fallbackMaxAgeDays: z.number().min(0).default(7),
  /**
   * Tables without a primary key or replica identity that are insert-only on purpose (an audit log): their
   * UPDATE and DELETE cannot be replicated (PostgreSQL: "Logical Replication > Publication"; DMS likewise),
   * so the cutover refuses any other such table. `schema` and `table` take DMS's wildcards (`%`, `_`).
   * @default []
   */
  insertOnlyTables: z
    .array(z.strictObject({ schema: z.string().min(1), table: z.string().min(1) }).strict())
    .default([]),
  /**
   * The validation gate: the cutover fences only after a clean validation of every table in scope at most
   * this many minutes old, recorded by `dmskit validate --config` or by an earlier cutover; without one,
   * the cutover runs it itself before the fence (differing ranges re-checked exactly: the table briefly
   * locked against writes on the source until the target shows a watermark). null turns the gate off.
   * @default 60
   */
  maxValidationAgeMinutes: z.number().min(0).max(525_600).nullable().default(60),
  /**
   * Probes of the application on the target, run by the cutover after the watermark and before ready: each
   * logs in as `role` with the password in the environment variable `passwordVariable` and runs `sql` in a
   * transaction that is rolled back (a read and a write, say); one that fails cancels the cutover (the
   * fence is released, as for any failure before ready), naming the role and the error. @default []
   */
  applicationChecks: z
    .array(
      z
        .strictObject({
          role: z.string().min(1),
          passwordVariable: z
            .string()
            .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'),
          sql: z.string().min(1),
        })
        .strict(),
    )
    .default([]),
});

export type FenceMethod = (typeof FENCE_METHODS)[number];

export type PoolerConfig = z.output<typeof PoolerSchema>;
