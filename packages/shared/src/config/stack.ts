/** The stack section: where Terraform keeps its state, and the policy checks waived. */
import { z } from 'zod';

/** Where Terraform keeps this stack's state (S3, locked). */
export const StateSchema = z.strictObject({
  /** S3 bucket of the state; one key per migration and environment. */
  bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be an S3 bucket name'),
  /** @default 'dmskit' */
  keyPrefix: z.string().default('dmskit'),
  /** @default the migration's region */
  region: z.string().optional(),
  /** DynamoDB table for locking; without it, S3's own lock file is used (Terraform 1.10+). */
  lockTable: z.string().optional(),
});

/** A policy check waived for this migration, with the reason a reviewer reads in the plan summary. */
export const PolicyWaiverSchema = z.strictObject({
  id: z.string().regex(/^DMSKIT-[A-Z]+-\d{3}$/, 'must be a policy id such as DMSKIT-NET-001'),
  reason: z.string().min(10, 'must say why, in at least 10 characters'),
});
