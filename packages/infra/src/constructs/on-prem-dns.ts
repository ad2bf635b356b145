import { Route53ResolverEndpoint } from '@cdktf/provider-aws/lib/route53-resolver-endpoint/index.js';
import { Route53ResolverRule } from '@cdktf/provider-aws/lib/route53-resolver-rule/index.js';
import { Route53ResolverRuleAssociation } from '@cdktf/provider-aws/lib/route53-resolver-rule-association/index.js';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group/index.js';
import { VpcSecurityGroupEgressRule } from '@cdktf/provider-aws/lib/vpc-security-group-egress-rule/index.js';
import { Construct } from 'constructs';
import { validateProps } from '../validate-props.js';

export interface OnPremDnsProps {
  readonly name: string;
  readonly vpcId: string;
  /** Private subnets in two or more availability zones: one resolver address in each. */
  readonly subnetIds: readonly string[];
  /** The on-prem domain forwarded, e.g. `corp.example`. */
  readonly domain: string;
  /** The on-prem DNS servers (IPv4). */
  readonly serverIps: readonly string[];
  readonly tags?: Record<string, string>;
}

/**
 * Name resolution of on-prem hosts from the VPC (Route 53: "Forwarding outbound DNS queries to your
 * network"): an outbound Resolver endpoint with an address in each private subnet, its security group
 * allowing DNS (53/udp and 53/tcp) to the on-prem servers only, and a FORWARD rule for the domain,
 * associated with the VPC. Without it DMS cannot resolve a source named by an on-prem DNS name.
 */
export class OnPremDns extends Construct {
  public readonly endpoint: Route53ResolverEndpoint;
  public readonly rule: Route53ResolverRule;
  public readonly securityGroup: SecurityGroup;

  constructor(scope: Construct, id: string, props: OnPremDnsProps) {
    super(scope, id);
    validateProps('OnPremDns', [
      {
        failed: props.subnetIds.length < 2,
        message:
          'subnetIds needs subnets in at least two availability zones (Resolver endpoints need two addresses)',
      },
      { failed: props.serverIps.length === 0, message: 'serverIps needs at least one on-prem DNS server' },
    ]);
    const tags = props.tags ? { tags: props.tags } : {};
    this.securityGroup = new SecurityGroup(this, 'SecurityGroup', {
      name: `${props.name}-resolver`,
      description: `Route 53 Resolver outbound endpoint of ${props.name}: DNS to on-prem`,
      vpcId: props.vpcId,
      ...tags,
    });
    for (const [i, ip] of props.serverIps.entries()) {
      for (const protocol of ['udp', 'tcp'] as const) {
        new VpcSecurityGroupEgressRule(this, `Dns${protocol.toUpperCase()}${i}`, {
          securityGroupId: this.securityGroup.id,
          ipProtocol: protocol,
          fromPort: 53,
          toPort: 53,
          cidrIpv4: `${ip}/32`,
          description: `DNS (${protocol}) to on-prem server ${ip}`,
        });
      }
    }
    this.endpoint = new Route53ResolverEndpoint(this, 'Endpoint', {
      name: `${props.name}-outbound`,
      direction: 'OUTBOUND',
      securityGroupIds: [this.securityGroup.id],
      ipAddress: props.subnetIds.map((subnetId) => ({ subnetId })),
      ...tags,
    });
    this.rule = new Route53ResolverRule(this, 'Rule', {
      name: `${props.name}-on-prem`,
      domainName: props.domain,
      ruleType: 'FORWARD',
      resolverEndpointId: this.endpoint.id,
      targetIp: props.serverIps.map((ip) => ({ ip, port: 53 })),
      ...tags,
    });
    new Route53ResolverRuleAssociation(this, 'Association', {
      resolverRuleId: this.rule.id,
      vpcId: props.vpcId,
    });
  }
}
