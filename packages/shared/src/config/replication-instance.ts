/** The replication instance section: the DMS instance (or DMS Serverless) that runs the task. */
import { z } from 'zod';
import { maintenanceSchema } from './common.js';

export const ReplicationInstanceSchema = z.strictObject({
  /** @default 'dms.r6i.large' */
  class: z
    .string()
    .regex(/^dms\.[a-z0-9]+\.[a-z0-9]+$/, 'must be a replication instance class such as dms.r6i.large')
    .default('dms.r6i.large'),
  /** Storage for logs and cached changes, in GB. @default 100 */
  allocatedStorageGb: z.number().int().min(5).max(6144).default(100),
  /** @default true */
  multiAz: z.boolean().default(true),
  /** DMS engine version. @default '3.5.4' */
  engineVersion: z
    .string()
    .regex(/^\d+\.\d+\.\d+$/, 'must be a DMS engine version such as 3.5.4')
    .default('3.5.4'),
  /**
   * When a class, storage, Multi-AZ or engine change restarts the instance (its tasks stop): the window
   * and whether to apply at once. @default { window: 'sun:03:00-sun:03:30', applyImmediately: false }
   */
  maintenance: maintenanceSchema('sun:03:00-sun:03:30'),
  /** DMS Serverless (a replication config) instead of a replication instance and task. */
  serverless: z
    .strictObject({
      minCapacityUnits: z.number().int().min(1).max(384),
      maxCapacityUnits: z.number().int().min(2).max(384),
    })
    .optional(),
  /**
   * `PostgreSQLSettings.PluginName` of the source endpoint, with the values the DMS API reference gives:
   * `no-preference` (DMS uses pglogical when the extension is on the source, else test_decoding),
   * `pglogical` (needs the pglogical extension on the source) or `test-decoding`. @default 'no-preference'
   */
  plugin: z.enum(['no-preference', 'pglogical', 'test-decoding']).default('no-preference'),
});
