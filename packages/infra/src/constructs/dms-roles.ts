import { IamRole } from '@cdktf/provider-aws/lib/iam-role/index.js';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy/index.js';
import { IamRolePolicyAttachment } from '@cdktf/provider-aws/lib/iam-role-policy-attachment/index.js';
import { DataResource } from 'cdktf';
import { Construct } from 'constructs';
import { validateProps } from '../validate-props.js';

export interface DmsRolesProps {
  readonly name: string;
  readonly region: string;
  /**
   * Create `dms-vpc-role` and `dms-cloudwatch-logs-role`. These names are fixed by DMS and exist once per
   * account: turn off where another stack made them. @default true
   */
  readonly createAccountRoles?: boolean;
  /** Secrets the endpoints read (source and target credentials). */
  readonly secretArns: readonly string[];
  /** Key the secrets are encrypted with. */
  readonly kmsKeyArn: string;
  /** Seconds to wait after creating the VPC role before DMS uses it (IAM is eventually consistent). @default 30 */
  readonly propagationSeconds?: number;
  readonly tags?: Record<string, string>;
}

const dmsTrust = (service: string) =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }],
  });

/**
 * The IAM roles DMS needs (DMS: "Creating the IAM roles to use with AWS DMS"): the account-wide
 * `dms-vpc-role` and `dms-cloudwatch-logs-role`, and a role DMS assumes to read the endpoint secrets
 * (DMS: "Using secrets to access AWS Database Migration Service endpoints": trust `dms.<region>.amazonaws.com`).
 * `ready` is what the replication subnet group must depend on: the VPC role, its policy, and a wait for
 * IAM propagation (a `terraform_data` with a local sleep, run at apply only).
 */
export class DmsRoles extends Construct {
  public readonly vpcRole?: IamRole;
  public readonly cloudwatchLogsRole?: IamRole;
  public readonly secretsAccessRole: IamRole;
  /** Resources the subnet group waits for. */
  public readonly ready: DataResource[] = [];

  constructor(scope: Construct, id: string, props: DmsRolesProps) {
    super(scope, id);
    const wait = props.propagationSeconds ?? 30;
    validateProps('DmsRoles', [
      { failed: props.secretArns.length === 0, message: 'secretArns needs the secrets of both endpoints' },
      {
        failed: wait < 0 || wait > 600,
        message: `propagationSeconds must be 0-600 but ${wait} was provided`,
      },
    ]);
    const tags = props.tags ? { tags: props.tags } : {};
    if (props.createAccountRoles ?? true) {
      this.vpcRole = new IamRole(this, 'VpcRole', {
        name: 'dms-vpc-role',
        assumeRolePolicy: dmsTrust('dms.amazonaws.com'),
        ...tags,
      });
      const vpcPolicy = new IamRolePolicyAttachment(this, 'VpcRolePolicy', {
        role: this.vpcRole.name,
        policyArn: 'arn:aws:iam::aws:policy/service-role/AmazonDMSVPCManagementRole',
      });
      this.cloudwatchLogsRole = new IamRole(this, 'CloudWatchLogsRole', {
        name: 'dms-cloudwatch-logs-role',
        assumeRolePolicy: dmsTrust('dms.amazonaws.com'),
        ...tags,
      });
      new IamRolePolicyAttachment(this, 'CloudWatchLogsRolePolicy', {
        role: this.cloudwatchLogsRole.name,
        policyArn: 'arn:aws:iam::aws:policy/service-role/AmazonDMSCloudWatchLogsRole',
      });
      this.ready.push(
        new DataResource(this, 'VpcRolePropagation', {
          triggersReplace: { role: this.vpcRole.arn },
          dependsOn: [vpcPolicy],
          provisioners: [{ type: 'local-exec', command: `sleep ${wait}` }],
        }),
      );
    }
    this.secretsAccessRole = new IamRole(this, 'SecretsAccessRole', {
      name: `${props.name}-dms-secrets`,
      assumeRolePolicy: dmsTrust(`dms.${props.region}.amazonaws.com`),
      ...tags,
    });
    new IamRolePolicy(this, 'SecretsAccessPolicy', {
      role: this.secretsAccessRole.id,
      name: 'read-endpoint-secrets',
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: [...props.secretArns] },
          { Effect: 'Allow', Action: ['kms:Decrypt'], Resource: [props.kmsKeyArn] },
        ],
      }),
    });
  }
}
