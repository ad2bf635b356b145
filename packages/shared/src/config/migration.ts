/** The whole migration config: every section, and the rules that span sections. */
import { z } from 'zod';
import { cidrsOverlap } from './common.js';
import { CutoverSchema } from './cutover.js';
import { SourceSchema, TargetSchema } from './endpoints.js';
import { FullLoadSchema } from './full-load.js';
import { NetworkSchema } from './network.js';
import { ReplicationInstanceSchema } from './replication-instance.js';
import { PolicyWaiverSchema, StateSchema } from './stack.js';
import { TaskSchema } from './task.js';

export const MigrationConfigSchema = z
  .strictObject({
    /** Lower-case name, used in every resource name and tag. */
    name: z
      .string()
      .regex(
        /^[a-z][a-z0-9-]{1,30}[a-z0-9]$/,
        'must be 3-32 characters of a-z, 0-9 and -, starting with a letter',
      ),
    /** @default 'dev' */
    environment: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,15}$/, 'must be a-z, 0-9 and -, at most 16')
      .default('dev'),
    /** Tags on every AWS resource, after the ones dmskit sets. @default {} */
    tags: z.record(z.string().min(1).max(128), z.string().max(256)).default({}),
    aws: z
      .strictObject({
        /** @default 'us-east-1' */
        region: z
          .string()
          .regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'must be an AWS region such as eu-west-1')
          .default('us-east-1'),
        /**
         * The account the stack deploys into (12 digits): key policies and trust conditions name it.
         * @default the account of the credentials that plan (offline: a placeholder)
         */
        accountId: z
          .string()
          .regex(/^\d{12}$/, 'must be the 12-digit AWS account id')
          .optional(),
        /**
         * A permissions boundary every IAM role the stacks make carries (organisations whose SCPs require
         * one: iam:CreateRole is refused without it).
         */
        permissionsBoundaryArn: z
          .string()
          .regex(/^arn:aws[a-z-]*:iam::\d{12}:policy\/[\w+=,.@/-]+$/, 'must be an IAM policy ARN')
          .optional(),
      })
      .prefault({}),
    network: NetworkSchema,
    /** Encryption at rest. @default a customer-managed key created for the migration */
    encryption: z
      .strictObject({
        /**
         * Use this KMS key instead of creating one. Its policy must let the account's IAM policies use it
         * and let `cloudwatch.amazonaws.com` and `dms.amazonaws.com` use kms:Decrypt and
         * kms:GenerateDataKey* (they publish to the alarm topic the key encrypts).
         */
        existingKmsKeyArn: z
          .string()
          .regex(
            /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/,
            'must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)',
          )
          .optional(),
      })
      .default({}),
    source: SourceSchema,
    target: TargetSchema.prefault({}),
    replicationInstance: ReplicationInstanceSchema.prefault({}),
    task: TaskSchema.prefault({}),
    cutover: CutoverSchema.prefault({}),
    fullLoad: FullLoadSchema.prefault({}),
    /** Terraform state. @default local state (for trying things out only) */
    state: StateSchema.optional(),
    /**
     * Alarm notifications go to this e-mail address (an SNS subscription), if given. Alarms need a
     * destination: this, `alarmTopicArn`, or a waiver of DMSKIT-MON-001 with the reason (the plan fails
     * otherwise).
     */
    alarmEmail: z.email().optional(),
    /**
     * An existing SNS topic (the on-call team's) for every alarm and DMS event, instead of one made by the
     * stack; its policy must let CloudWatch and DMS publish.
     */
    alarmTopicArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/, 'must be an SNS topic ARN')
      .optional(),
    /** Policy checks waived, each with a reason. @default [] */
    policyWaivers: z.array(PolicyWaiverSchema).default([]),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.state && !cfg.aws.accountId)
      ctx.addIssue({
        code: 'custom',
        path: ['aws', 'accountId'],
        message:
          'is needed with state: the state key names the account, so accounts sharing a bucket never share a state',
      });
    const zones = cfg.network.availabilityZones;
    zones.forEach((zone, i) => {
      if (!zone.startsWith(cfg.aws.region)) {
        ctx.addIssue({
          code: 'custom',
          path: ['network', 'availabilityZones', i],
          message: `is not in region ${cfg.aws.region}`,
        });
      }
      if (zones.indexOf(zone) !== i) {
        ctx.addIssue({
          code: 'custom',
          path: ['network', 'availabilityZones', i],
          message: `repeats ${zone}`,
        });
      }
    });
    if (cfg.network.connectivity && cfg.network.existingVpc) {
      ctx.addIssue({
        code: 'custom',
        path: ['network', 'connectivity'],
        message:
          "cannot be created in network.existingVpc: its routes to on-prem are the VPC owner's; leave connectivity out",
      });
    }
    const appDns = cfg.cutover.dns;
    if (
      appDns &&
      !`.${appDns.recordName.replace(/\.$/, '')}`.endsWith(`.${appDns.zoneName.replace(/\.$/, '')}`)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['cutover', 'dns', 'recordName'],
        message: `is not in the zone ${appDns.zoneName}`,
      });
    }
    const host = cfg.source.host;
    const dns = cfg.network.onPremDns;
    if (/[a-z]/i.test(host) && host.includes('.') && !dns) {
      ctx.addIssue({
        code: 'custom',
        path: ['network', 'onPremDns'],
        message: `is needed: source.host ${host} is a name, which DMS in the VPC resolves only through a forwarding rule to the on-prem DNS servers`,
      });
    }
    if (dns && /[a-z]/i.test(host) && !`.${host.toLowerCase()}`.endsWith(`.${dns.domain.toLowerCase()}`)) {
      ctx.addIssue({
        code: 'custom',
        path: ['network', 'onPremDns', 'domain'],
        message: `does not cover source.host ${host}`,
      });
    }
    dns?.serverIps.forEach((ip, i) => {
      if (!cfg.network.onPremCidrs.some((c) => cidrsOverlap(`${ip}/32`, c))) {
        ctx.addIssue({
          code: 'custom',
          path: ['network', 'onPremDns', 'serverIps', i],
          message: `${ip} is in none of network.onPremCidrs: the VPC has no route to it`,
        });
      }
    });
    cfg.network.onPremCidrs.forEach((c, i) => {
      if (cidrsOverlap(c, cfg.network.vpcCidr)) {
        ctx.addIssue({
          code: 'custom',
          path: ['network', 'onPremCidrs', i],
          message: `overlaps the VPC CIDR ${cfg.network.vpcCidr}`,
        });
      }
    });
    const prefix = Number(cfg.network.vpcCidr.split('/')[1]);
    if (prefix > 24) {
      ctx.addIssue({
        code: 'custom',
        path: ['network', 'vpcCidr'],
        message: 'must be /24 or larger to hold one subnet per availability zone',
      });
    }
    if (cfg.cutover.fenceMethod === 'revoke-login' && cfg.cutover.applicationRoles.length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['cutover', 'applicationRoles'],
        message: "must name the application's roles when fenceMethod is 'revoke-login'",
      });
    }
    if (cfg.task.shards > 1 && cfg.replicationInstance.serverless)
      ctx.addIssue({
        code: 'custom',
        path: ['task', 'shards'],
        message:
          'is for replication instances: DMS Serverless scales the capacity of one replication instead',
      });
    if (cfg.task.shards > 1 && cfg.task.migrationType === 'cdc')
      ctx.addIssue({
        code: 'custom',
        path: ['task', 'shards'],
        message:
          'needs a task that loads (full-load-and-cdc or full-load): a CDC-only task starts at one slot of its own',
      });
    if ((cfg.task.shards > 1 || cfg.task.splitLargest.tables > 0) && !cfg.task.sourceCatalogFile)
      ctx.addIssue({
        code: 'custom',
        path: ['task', 'sourceCatalogFile'],
        message:
          "is needed to balance task.shards and split task.splitLargest by the tables' sizes and keys: run dmskit catalog --out <file>",
      });
    const major = Number(cfg.target.engineVersion.split('.')[0]);
    if (cfg.source.majorVersion !== undefined && major < cfg.source.majorVersion) {
      ctx.addIssue({
        code: 'custom',
        path: ['target', 'engineVersion'],
        message: `major ${major} is older than the source's ${cfg.source.majorVersion}; the target must be at least as new`,
      });
    }
  });

/** What a config file holds (defaults not yet applied). */
export type MigrationConfigInput = z.input<typeof MigrationConfigSchema>;
/** A parsed config, every default applied. */
export type MigrationConfig = z.output<typeof MigrationConfigSchema>;
