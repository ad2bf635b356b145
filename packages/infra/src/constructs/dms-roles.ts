import { DataAwsIamRole } from '@cdktf/provider-aws/lib/data-aws-iam-role/index.js';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role/index.js';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy/index.js';
import type { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { validateProps } from '../validate-props.js';

export interface DmsRolesProps {
  readonly name: string;
  readonly region: string;
  /** The account: the secrets role trusts DMS acting for this account only (`aws:SourceAccount`). */
  readonly accountId: string;
  /** Secrets the endpoints read (source and target credentials). */
  readonly secretArns: readonly string[];
  /** Key the secrets are encrypted with. */
  readonly kmsKeyArn: string;
  /**
   * Look up the account's `dms-vpc-role` (made by the AccountBaselineStack) at plan, so that a missing
   * baseline fails the plan with the role's name instead of the apply. Off for offline plans, which make
   * no AWS call. @default true
   */
  readonly checkAccountRoles?: boolean;
  readonly tags?: Record<string, string>;
}

/**
 * The migration's own IAM role: the one DMS assumes to read the endpoint secrets (DMS: "Using secrets to
 * access AWS Database Migration Service endpoints": trust `dms.<region>.amazonaws.com`), limited to this
 * account's DMS. The account-wide `dms-vpc-role` and `dms-cloudwatch-logs-role` belong to the
 * {@link AccountBaselineStack}; `ready` is what the replication subnet group waits for: the lookup of
 * `dms-vpc-role`.
 */
export class DmsRoles extends Construct {
  public readonly secretsAccessRole: IamRole;
  /** What the subnet group depends on. */
  public readonly ready: ITerraformDependable[] = [];

  constructor(scope: Construct, id: string, props: DmsRolesProps) {
    super(scope, id);
    validateProps('DmsRoles', [
      { failed: props.secretArns.length === 0, message: 'secretArns needs the secrets of both endpoints' },
    ]);
    const tags = props.tags ? { tags: props.tags } : {};
    if (props.checkAccountRoles ?? true)
      this.ready.push(new DataAwsIamRole(this, 'AccountVpcRole', { name: 'dms-vpc-role' }));
    this.secretsAccessRole = new IamRole(this, 'SecretsAccessRole', {
      name: `${props.name}-dms-secrets`,
      assumeRolePolicy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: `dms.${props.region}.amazonaws.com` },
            Action: 'sts:AssumeRole',
            Condition: { StringEquals: { 'aws:SourceAccount': props.accountId } },
          },
        ],
      }),
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
