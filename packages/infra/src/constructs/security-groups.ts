import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group/index.js';
import { VpcSecurityGroupEgressRule } from '@cdktf/provider-aws/lib/vpc-security-group-egress-rule/index.js';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule/index.js';
import { Construct } from 'constructs';
import { cidrContains, foldCidrs } from '../cidr.js';
import { validateProps } from '../validate-props.js';

export interface MigrationSecurityGroupsProps {
  readonly name: string;
  readonly vpcId: string;
  readonly vpcCidr: string;
  /** Where the source lives; the replication instance may reach it on `sourcePort`. */
  readonly onPremCidrs: readonly string[];
  readonly sourcePort: number;
  /** Application networks allowed to reach Aurora on 5432. @default [] */
  readonly appCidrs?: readonly string[];
  /**
   * The fall-back path: the old source's subscription connects from on-prem to Aurora, so Aurora accepts
   * the database port from `onPremCidrs`. @default false
   */
  readonly fallbackFromOnPrem?: boolean;
  /**
   * The fall-back path's clients: the old source's address (a /32), so that only it reaches Aurora from
   * on-prem. @default `onPremCidrs` (every on-prem network: a policy flags it)
   */
  readonly fallbackSourceCidrs?: readonly string[];
  /** @default 5432 */
  readonly targetPort?: number;
  readonly tags?: Record<string, string>;
}

/**
 * Least-privilege security groups: the replication instance reaches the on-prem CIDRs on the source
 * port, Aurora on 5432 and the interface endpoints on 443; Aurora accepts 5432 only from the replication
 * instance, the application CIDRs and (fall-back path) the old source's address. Rules are separate
 * resources (one per address block, folded: no duplicate EC2 would refuse, none inside another), so a
 * change shows as one rule added or removed in the plan.
 */
export class MigrationSecurityGroups extends Construct {
  public readonly replication: SecurityGroup;
  public readonly aurora: SecurityGroup;

  constructor(scope: Construct, id: string, props: MigrationSecurityGroupsProps) {
    super(scope, id);
    const targetPort = props.targetPort ?? 5432;
    validateProps('MigrationSecurityGroups', [
      {
        failed: props.sourcePort < 1 || props.sourcePort > 65535,
        message: `sourcePort must be 1-65535 but ${props.sourcePort} was provided`,
      },
      { failed: props.onPremCidrs.length === 0, message: 'onPremCidrs needs at least one CIDR' },
    ]);
    const tags = (name: string) => ({ ...props.tags, Name: `${props.name}-${name}` });
    this.replication = new SecurityGroup(this, 'Replication', {
      name: `${props.name}-dms`,
      description: 'DMS replication instance: out to the on-prem source, Aurora and the AWS endpoints',
      vpcId: props.vpcId,
      tags: tags('dms'),
    });
    this.aurora = new SecurityGroup(this, 'Aurora', {
      name: `${props.name}-aurora`,
      description: 'Aurora PostgreSQL target: 5432 from DMS and the applications only',
      vpcId: props.vpcId,
      tags: tags('aurora'),
    });
    foldCidrs(props.onPremCidrs).forEach(
      (cidr, i) =>
        new VpcSecurityGroupEgressRule(this, `ReplicationToSource${i}`, {
          securityGroupId: this.replication.id,
          cidrIpv4: cidr,
          ipProtocol: 'tcp',
          fromPort: props.sourcePort,
          toPort: props.sourcePort,
          description: `PostgreSQL source on-prem (${cidr})`,
        }),
    );
    new VpcSecurityGroupEgressRule(this, 'ReplicationToAurora', {
      securityGroupId: this.replication.id,
      referencedSecurityGroupId: this.aurora.id,
      ipProtocol: 'tcp',
      fromPort: targetPort,
      toPort: targetPort,
      description: 'Aurora PostgreSQL target',
    });
    new VpcSecurityGroupEgressRule(this, 'ReplicationToEndpoints', {
      securityGroupId: this.replication.id,
      cidrIpv4: props.vpcCidr,
      ipProtocol: 'tcp',
      fromPort: 443,
      toPort: 443,
      description: 'Secrets Manager and CloudWatch Logs interface endpoints',
    });
    new VpcSecurityGroupIngressRule(this, 'AuroraFromReplication', {
      securityGroupId: this.aurora.id,
      referencedSecurityGroupId: this.replication.id,
      ipProtocol: 'tcp',
      fromPort: targetPort,
      toPort: targetPort,
      description: 'DMS replication instance',
    });
    // One rule per address block: the fall-back path's source host and the application networks, folded
    // (a block inside another, or repeated, would be a duplicate EC2 refuses or a rule that adds nothing).
    const fallback = props.fallbackFromOnPrem ? (props.fallbackSourceCidrs ?? props.onPremCidrs) : [];
    const purpose = new Map<string, string[]>();
    for (const cidr of fallback) purpose.set(cidr, ['fall-back path: the old source subscribes to Aurora']);
    for (const cidr of props.appCidrs ?? [])
      purpose.set(cidr, [...(purpose.get(cidr) ?? []), 'application network']);
    const kept = foldCidrs([...purpose.keys()]);
    for (const cidr of kept) {
      const inside = [...purpose.keys()].filter((c) => c !== cidr && cidrContains(cidr, c));
      const why = [
        ...new Set([...(purpose.get(cidr) ?? []), ...inside.flatMap((c) => purpose.get(c) ?? [])]),
      ];
      new VpcSecurityGroupIngressRule(this, `AuroraFrom_${cidr.replace(/[./]/g, '_')}`, {
        securityGroupId: this.aurora.id,
        cidrIpv4: cidr,
        ipProtocol: 'tcp',
        fromPort: targetPort,
        toPort: targetPort,
        description: `${why.join(', ')} (${[cidr, ...inside].join(', ')})`.slice(0, 255),
      });
    }
  }

  /** Lets the replication instance reach a managed prefix list (an S3 gateway endpoint's) on `port`. */
  allowEgressToPrefixList(id: string, prefixListId: string, port: number, description: string): void {
    new VpcSecurityGroupEgressRule(this, id, {
      securityGroupId: this.replication.id,
      prefixListId,
      ipProtocol: 'tcp',
      fromPort: port,
      toPort: port,
      description,
    });
  }
}
