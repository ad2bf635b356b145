import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Testing } from 'cdktf';
import { afterAll, describe, expect, it } from 'vitest';
import { AccountBaselineStack, type AccountBaselineStackProps } from './account-baseline.js';

const outdir = mkdtempSync(path.join(tmpdir(), 'dmskit-cdktf-test-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

type Synth = {
  resource: Record<string, Record<string, Record<string, unknown>>>;
  terraform: Record<string, unknown>;
};

function synth(props: AccountBaselineStackProps): Synth {
  const stack = new AccountBaselineStack(Testing.app({ outdir }), 'baseline', props);
  return JSON.parse(Testing.synth(stack)) as Synth;
}

describe('AccountBaselineStack', () => {
  it('owns dms-vpc-role and dms-cloudwatch-logs-role, trusting DMS for this account only', () => {
    const s = synth({
      region: 'eu-west-1',
      accountId: '123456789012',
      permissionsBoundaryArn: 'arn:aws:iam::123456789012:policy/boundary',
      state: { bucket: 'acme-tf-state', keyPrefix: 'dmskit' },
    });
    const roles = Object.values(s.resource.aws_iam_role ?? {});
    expect(roles.map((r) => r.name).sort()).toEqual(['dms-cloudwatch-logs-role', 'dms-vpc-role']);
    for (const role of roles) {
      expect(role.path).toBe('/');
      expect(role.permissions_boundary).toBe('arn:aws:iam::123456789012:policy/boundary');
      expect(JSON.parse(String(role.assume_role_policy)).Statement).toEqual([
        {
          Effect: 'Allow',
          Principal: { Service: 'dms.amazonaws.com' },
          Action: 'sts:AssumeRole',
          Condition: {
            StringEquals: { 'aws:SourceAccount': '123456789012' },
            ArnLike: { 'aws:SourceArn': 'arn:aws:dms:*:123456789012:*' },
          },
        },
      ]);
    }
    expect(
      Object.values(s.resource.aws_iam_role_policy_attachment ?? {})
        .map((a) => a.policy_arn)
        .sort(),
    ).toEqual([
      'arn:aws:iam::aws:policy/service-role/AmazonDMSCloudWatchLogsRole',
      'arn:aws:iam::aws:policy/service-role/AmazonDMSVPCManagementRole',
    ]);
    // Its own state, apart from every migration's.
    expect((s.terraform.backend as Record<string, Record<string, unknown>>).s3).toMatchObject({
      bucket: 'acme-tf-state',
      key: 'dmskit/123456789012/account-baseline/terraform.tfstate',
    });
  });

  it('refuses an account id that is not 12 digits, and a role path without slashes', () => {
    expect(() => synth({ region: 'eu-west-1', accountId: '1234' })).toThrowError(
      /accountId must be 12 digits/,
    );
    expect(() => synth({ region: 'eu-west-1', accountId: '123456789012', rolePath: 'dms' })).toThrowError(
      /rolePath must start and end with \//,
    );
  });
});
