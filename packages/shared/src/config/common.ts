import { z } from 'zod';

/**
 * Parts every section of the config shares: CIDR blocks, identifiers, password sources.
 *
 * The typed config of one migration: one file describes one migration, and infra, ops-cli and validation
 * all read it. Fields are documented where they are declared; `@default` values are applied by the schema.
 * Nested objects use `prefault` so that their own defaults apply when the whole object is left out.
 */

export const cidr = z.cidrv4({ error: 'must be an IPv4 CIDR block such as 10.0.0.0/16' });
/** PostgreSQL identifiers as dmskit creates them: lower case, no quoting needed, at most 63 bytes. */
export const pgIdentifier = z
  .string()
  .regex(
    /^[a-z_][a-z0-9_]{0,62}$/,
    'must be a lower-case PostgreSQL identifier ([a-z_][a-z0-9_]*, at most 63)',
  );

/** Where a password comes from. It is never written into the config, a plan, a log line or a report. */
export const PasswordSourceSchema = z.discriminatedUnion('from', [
  z.strictObject({
    from: z.literal('env'),
    /** Name of the environment variable that holds the password. */
    variable: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name (A-Z, 0-9, _)'),
  }),
  z.strictObject({
    from: z.literal('secrets-manager'),
    /** ARN of an existing Secrets Manager secret with `username` and `password` keys (the DMS secret layout). */
    secretArn: z
      .string()
      .regex(
        /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/,
        'must be a Secrets Manager secret ARN',
      ),
  }),
]);

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;

/** Whether two IPv4 CIDR blocks share an address. */
export function cidrsOverlap(a: string, b: string): boolean {
  const range = (c: string): [number, number] => {
    const [ip = '0.0.0.0', bits = '32'] = c.split('/');
    const n = ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
    const size = 2 ** (32 - Number(bits));
    const start = Math.floor(n / size) * size;
    return [start, start + size - 1];
  };
  const [a0, a1] = range(a);
  const [b0, b1] = range(b);
  return a0 <= b1 && b0 <= a1;
}

export type PasswordSource = z.output<typeof PasswordSourceSchema>;

/**
 * When a change that restarts a server takes effect: in its weekly maintenance window (UTC, as RDS and
 * DMS take it: `ddd:hh24:mi-ddd:hh24:mi`, at least 30 minutes) or at once on apply (DMS API reference,
 * ModifyReplicationInstance ApplyImmediately; RDS ModifyDBCluster ApplyImmediately).
 */
export const maintenanceSchema = (defaultWindow: string) =>
  z
    .strictObject({
      /** The weekly window, UTC. */
      window: z
        .string()
        .regex(
          /^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d$/,
          'must be a weekly window such as sun:03:00-sun:03:30 (UTC)',
        )
        .default(defaultWindow),
      /** Apply restarting changes at once instead of in the window. @default false */
      applyImmediately: z.boolean().default(false),
    })
    .prefault({});
