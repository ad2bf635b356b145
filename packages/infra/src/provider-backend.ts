import { AwsProvider } from '@cdktf/provider-aws/lib/provider/index.js';
import type { MigrationConfig } from '@dmskit/shared';
import { LocalBackend, S3Backend, type TerraformStack } from 'cdktf';

/**
 * The AWS provider and the state backend of a dmskit stack. `offline` (`dmskit plan --offline`): the
 * provider skips credential, account and region checks, and state stays local. Otherwise state goes to
 * the configured S3 bucket under `stateKey`, encrypted, locked by S3's own lock file (Terraform 1.10+)
 * or by the DynamoDB table when one is named; local state when no bucket is configured.
 */
export function providerAndBackend(
  stack: TerraformStack,
  o: {
    region: string;
    tags: Record<string, string>;
    offline: boolean;
    state?: MigrationConfig['state'];
    /** Key of the state object, under `state.keyPrefix`. */
    stateKey: string;
  },
): void {
  new AwsProvider(stack, 'aws', {
    region: o.region,
    defaultTags: [{ tags: o.tags }],
    ...(o.offline
      ? {
          skipCredentialsValidation: true,
          skipRequestingAccountId: true,
          skipMetadataApiCheck: 'true',
          skipRegionValidation: true,
        }
      : {}),
  });
  if (o.state && !o.offline) {
    const backend = new S3Backend(stack, {
      bucket: o.state.bucket,
      key: `${o.state.keyPrefix}/${o.stateKey}`,
      region: o.state.region ?? o.region,
      encrypt: true,
      ...(o.state.lockTable ? { dynamodbTable: o.state.lockTable } : {}),
    });
    // S3's own lock file; cdktf 0.21's S3Backend has no prop for it yet.
    if (!o.state.lockTable) backend.addOverride('use_lockfile', true);
  } else {
    new LocalBackend(stack, { path: 'terraform.tfstate' });
  }
}
