import { KmsAlias } from '@cdktf/provider-aws/lib/kms-alias/index.js';
import { KmsKey } from '@cdktf/provider-aws/lib/kms-key/index.js';
import { Construct } from 'constructs';
import { validateProps } from '../validate-props.js';

export interface EncryptionKeyProps {
  /** Alias without the `alias/` prefix. */
  readonly alias: string;
  readonly description: string;
  /** Days before a deleted key is gone. @default 30 */
  readonly deletionWindowDays?: number;
  /** The account that owns the key: its root principal administers it (KMS: "Default key policy"). */
  readonly accountId: string;
  /** `aws`, `aws-cn` or `aws-us-gov`. @default 'aws' */
  readonly partition?: string;
  /**
   * AWS services that publish to SNS topics encrypted with this key and must be able to use it
   * (SNS: "Enable compatibility between event sources from AWS services and encrypted topics"):
   * `cloudwatch.amazonaws.com` for alarms, `dms.amazonaws.com` for DMS event notifications. @default []
   */
  readonly topicPublishers?: readonly string[];
  readonly tags?: Record<string, string>;
}

/**
 * A customer-managed KMS key with yearly rotation, for Aurora storage, DMS, secrets, SNS and Performance
 * Insights. Its policy gives the account's root principal the key (so IAM policies grant its use, as the
 * default policy does) and lets the services in `topicPublishers` encrypt messages to the SNS topics
 * it encrypts: without that statement, CloudWatch alarms and DMS events are silently never delivered.
 */
export class EncryptionKey extends Construct {
  public readonly key: KmsKey;
  public readonly alias: KmsAlias;

  constructor(scope: Construct, id: string, props: EncryptionKeyProps) {
    super(scope, id);
    const window = props.deletionWindowDays ?? 30;
    validateProps('EncryptionKey', [
      {
        failed: window < 7 || window > 30,
        message: `deletionWindowDays must be 7-30 but ${window} was provided`,
      },
      {
        failed: !/^[a-zA-Z0-9/_-]+$/.test(props.alias),
        message: `alias '${props.alias}' may only contain letters, digits, /, _ and -`,
      },
    ]);
    const partition = props.partition ?? 'aws';
    const publishers = [...(props.topicPublishers ?? [])].sort();
    const statements: Record<string, unknown>[] = [
      {
        Sid: 'AccountAdministersKey',
        Effect: 'Allow',
        Principal: { AWS: `arn:${partition}:iam::${props.accountId}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
    ];
    if (publishers.length)
      statements.push({
        Sid: 'ServicesPublishToEncryptedTopics',
        Effect: 'Allow',
        Principal: { Service: publishers },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Resource: '*',
      });
    this.key = new KmsKey(this, 'Resource', {
      description: props.description,
      enableKeyRotation: true,
      deletionWindowInDays: window,
      policy: JSON.stringify({ Version: '2012-10-17', Statement: statements }),
      ...(props.tags ? { tags: props.tags } : {}),
    });
    this.alias = new KmsAlias(this, 'Alias', { name: `alias/${props.alias}`, targetKeyId: this.key.keyId });
  }
}
