import { IamRole } from '@cdktf/provider-aws/lib/iam-role/index.js';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy/index.js';
import { S3Bucket } from '@cdktf/provider-aws/lib/s3-bucket/index.js';
import { S3BucketLifecycleConfiguration } from '@cdktf/provider-aws/lib/s3-bucket-lifecycle-configuration/index.js';
import { S3BucketOwnershipControls } from '@cdktf/provider-aws/lib/s3-bucket-ownership-controls/index.js';
import { S3BucketPublicAccessBlock } from '@cdktf/provider-aws/lib/s3-bucket-public-access-block/index.js';
import { S3BucketServerSideEncryptionConfigurationA } from '@cdktf/provider-aws/lib/s3-bucket-server-side-encryption-configuration/index.js';
import { Construct } from 'constructs';
import { validateProps } from '../validate-props.js';

export interface TimeTravelStoreProps {
  readonly name: string;
  /** The account: the role trusts DMS acting for it only. */
  readonly accountId: string;
  readonly kmsKeyArn: string;
  /** Days the records are kept. @default 7 */
  readonly retentionDays?: number;
  /** A fixed bucket name (the assessments', which `dmskit assess` finds by it). @default a prefix and a suffix AWS picks */
  readonly bucketName?: string;
  /** The role's name. @default `<name>-dms-time-travel` */
  readonly roleName?: string;
  /** What DMS writes there, in the policy's name. @default 'time-travel-records' */
  readonly purpose?: string;
  readonly tags?: Record<string, string>;
}

/**
 * Where DMS writes to S3: Time Travel the changes a task applies (DMS: "Time Travel task settings"), a
 * premigration assessment its results (DMS: "Enabling and working with premigration assessments"). A private
 * S3 bucket (all public access blocked, bucket owner enforced) encrypted with the migration's KMS key
 * (SSE-KMS, bucket key on), whose records expire after `retentionDays`, and the role DMS assumes to
 * write there and use the key.
 */
export class TimeTravelStore extends Construct {
  public readonly bucket: S3Bucket;
  public readonly role: IamRole;

  constructor(scope: Construct, id: string, props: TimeTravelStoreProps) {
    super(scope, id);
    const days = props.retentionDays ?? 7;
    validateProps('TimeTravelStore', [
      { failed: days < 1 || days > 365, message: `retentionDays must be 1-365 but ${days} was provided` },
    ]);
    const tags = props.tags ? { tags: props.tags } : {};
    this.bucket = new S3Bucket(this, 'Bucket', {
      ...(props.bucketName
        ? { bucket: props.bucketName }
        : { bucketPrefix: `${props.name.slice(0, 30)}-dms-tt-` }),
      forceDestroy: false,
      ...tags,
    });
    new S3BucketPublicAccessBlock(this, 'PublicAccess', {
      bucket: this.bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    new S3BucketOwnershipControls(this, 'Ownership', {
      bucket: this.bucket.id,
      rule: { objectOwnership: 'BucketOwnerEnforced' },
    });
    new S3BucketServerSideEncryptionConfigurationA(this, 'Encryption', {
      bucket: this.bucket.id,
      rule: [
        {
          applyServerSideEncryptionByDefault: { sseAlgorithm: 'aws:kms', kmsMasterKeyId: props.kmsKeyArn },
          bucketKeyEnabled: true,
        },
      ],
    });
    new S3BucketLifecycleConfiguration(this, 'Expiry', {
      bucket: this.bucket.id,
      rule: [
        {
          id: 'expire-time-travel-records',
          status: 'Enabled',
          filter: [{ prefix: '' }],
          expiration: [{ days }],
        },
      ],
    });
    this.role = new IamRole(this, 'Role', {
      name: props.roleName ?? `${props.name}-dms-time-travel`,
      assumeRolePolicy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'dms.amazonaws.com' },
            Action: 'sts:AssumeRole',
            Condition: { StringEquals: { 'aws:SourceAccount': props.accountId } },
          },
        ],
      }),
      ...tags,
    });
    new IamRolePolicy(this, 'Policy', {
      role: this.role.id,
      name: `write-${props.purpose ?? 'time-travel-records'}`,
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: ['s3:PutObject', 's3:GetObject', 's3:DeleteObject'],
            Resource: [`${this.bucket.arn}/*`],
          },
          { Effect: 'Allow', Action: ['s3:ListBucket', 's3:GetBucketLocation'], Resource: [this.bucket.arn] },
          { Effect: 'Allow', Action: ['kms:GenerateDataKey', 'kms:Decrypt'], Resource: [props.kmsKeyArn] },
        ],
      }),
    });
  }
}
