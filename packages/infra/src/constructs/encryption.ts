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
  readonly tags?: Record<string, string>;
}

/** A customer-managed KMS key with yearly rotation, for Aurora storage, DMS, secrets, SNS and Performance Insights. */
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
    this.key = new KmsKey(this, 'Resource', {
      description: props.description,
      enableKeyRotation: true,
      deletionWindowInDays: window,
      ...(props.tags ? { tags: props.tags } : {}),
    });
    this.alias = new KmsAlias(this, 'Alias', { name: `alias/${props.alias}`, targetKeyId: this.key.keyId });
  }
}
