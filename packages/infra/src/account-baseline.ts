import { IamRole } from '@cdktf/provider-aws/lib/iam-role/index.js';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment/index.js';
import type { MigrationConfig } from '@dmskit/shared';
import { TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { providerAndBackend } from './provider-backend.js';
import { validateProps } from './validate-props.js';

export interface AccountBaselineStackProps {
  readonly region: string;
  /** The account (12 digits): the roles' trust policies accept DMS acting for this account only. */
  readonly accountId: string;
  /** `aws`, `aws-cn` or `aws-us-gov`. @default 'aws' */
  readonly partition?: string;
  /** A permissions boundary set on both roles (organisations that require one). */
  readonly permissionsBoundaryArn?: string;
  /**
   * IAM path of the roles. DMS finds them by name; keep `/` unless the organisation's policies need
   * another path. @default '/'
   */
  readonly rolePath?: string;
  /** Terraform state: the migrations' S3 bucket, under `<keyPrefix>/<account>/account-baseline`. @default local */
  readonly state?: MigrationConfig['state'];
  /** Plan without AWS (`dmskit plan --offline`): no credential checks, local state. @default false */
  readonly offline?: boolean;
}

/**
 * What DMS needs once per account, apart from any migration (DMS: "Creating the IAM roles to use with
 * AWS DMS"): `dms-vpc-role` and `dms-cloudwatch-logs-role`, whose names DMS fixes. IAM is global, so
 * it is deployed once per account (whatever the regions of its migrations: `region` only says where
 * the provider calls IAM from) before the first migration stack; migration stacks use these roles and never
 * create or delete them, so a second migration in the account does not fail with EntityAlreadyExists
 * and destroying one migration does not take the roles from the others. The trust policies accept
 * `dms.amazonaws.com` acting for this account only (`aws:SourceAccount`, `aws:SourceArn`; DMS:
 * "Cross-service confused deputy prevention").
 */
export class AccountBaselineStack extends TerraformStack {
  public readonly vpcRole: IamRole;
  public readonly cloudwatchLogsRole: IamRole;

  constructor(scope: Construct, id: string, props: AccountBaselineStackProps) {
    super(scope, id);
    const path = props.rolePath ?? '/';
    validateProps('AccountBaselineStack', [
      {
        failed: !/^\d{12}$/.test(props.accountId),
        message: `accountId must be 12 digits but '${props.accountId}' was provided`,
      },
      {
        failed: !/^\/([\w+=,.@-]+\/)*$/.test(path),
        message: `rolePath must start and end with / but '${path}' was provided`,
      },
    ]);
    const partition = props.partition ?? 'aws';
    providerAndBackend(this, {
      region: props.region,
      tags: { 'managed-by': 'dmskit', 'dmskit:stack': 'account-baseline' },
      offline: props.offline ?? false,
      ...(props.state ? { state: props.state } : {}),
      stateKey: `${props.accountId}/account-baseline/terraform.tfstate`,
    });
    const trust = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'dms.amazonaws.com' },
          Action: 'sts:AssumeRole',
          Condition: {
            StringEquals: { 'aws:SourceAccount': props.accountId },
            ArnLike: { 'aws:SourceArn': `arn:${partition}:dms:*:${props.accountId}:*` },
          },
        },
      ],
    });
    const common = {
      assumeRolePolicy: trust,
      path,
      ...(props.permissionsBoundaryArn ? { permissionsBoundary: props.permissionsBoundaryArn } : {}),
    };
    this.vpcRole = new IamRole(this, 'VpcRole', { name: 'dms-vpc-role', ...common });
    new IamRolePolicyAttachment(this, 'VpcRolePolicy', {
      role: this.vpcRole.name,
      policyArn: `arn:${partition}:iam::aws:policy/service-role/AmazonDMSVPCManagementRole`,
    });
    this.cloudwatchLogsRole = new IamRole(this, 'CloudWatchLogsRole', {
      name: 'dms-cloudwatch-logs-role',
      ...common,
    });
    new IamRolePolicyAttachment(this, 'CloudWatchLogsRolePolicy', {
      role: this.cloudwatchLogsRole.name,
      policyArn: `arn:${partition}:iam::aws:policy/service-role/AmazonDMSCloudWatchLogsRole`,
    });
  }
}
