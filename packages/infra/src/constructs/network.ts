import { CloudwatchLogGroup } from '@cdktf/provider-aws/lib/cloudwatch-log-group/index.js';
import { CustomerGateway } from '@cdktf/provider-aws/lib/customer-gateway/index.js';
import { DxGatewayAssociation } from '@cdktf/provider-aws/lib/dx-gateway-association/index.js';
import { Ec2TransitGatewayVpcAttachment } from '@cdktf/provider-aws/lib/ec2-transit-gateway-vpc-attachment/index.js';
import { FlowLog } from '@cdktf/provider-aws/lib/flow-log/index.js';
import { IamRole } from '@cdktf/provider-aws/lib/iam-role/index.js';
import { IamRolePolicy } from '@cdktf/provider-aws/lib/iam-role-policy/index.js';
import { Route } from '@cdktf/provider-aws/lib/route/index.js';
import { RouteTable } from '@cdktf/provider-aws/lib/route-table/index.js';
import { RouteTableAssociation } from '@cdktf/provider-aws/lib/route-table-association/index.js';
import { SecurityGroup } from '@cdktf/provider-aws/lib/security-group/index.js';
import { Subnet } from '@cdktf/provider-aws/lib/subnet/index.js';
import { Vpc } from '@cdktf/provider-aws/lib/vpc/index.js';
import { VpcEndpoint } from '@cdktf/provider-aws/lib/vpc-endpoint/index.js';
import { VpcSecurityGroupIngressRule } from '@cdktf/provider-aws/lib/vpc-security-group-ingress-rule/index.js';
import { VpnConnection } from '@cdktf/provider-aws/lib/vpn-connection/index.js';
import { VpnConnectionRoute } from '@cdktf/provider-aws/lib/vpn-connection-route/index.js';
import { VpnGateway } from '@cdktf/provider-aws/lib/vpn-gateway/index.js';
import { VpnGatewayRoutePropagation } from '@cdktf/provider-aws/lib/vpn-gateway-route-propagation/index.js';
import { cidrsOverlap } from '@dmskit/shared';
import { Construct } from 'constructs';
import { subnetCidr } from '../cidr.js';
import { validateProps } from '../validate-props.js';

/** Site-to-site VPN to the on-prem network. */
export interface VpnConnectivity {
  readonly type: 'vpn';
  readonly customerGatewayIp: string;
  readonly bgpAsn: number;
  /** Static routes to the on-prem CIDRs instead of BGP. */
  readonly staticRoutesOnly: boolean;
  /** Terminate on this existing transit gateway instead of a new virtual private gateway. */
  readonly transitGatewayId?: string;
  /**
   * The id of a customer gateway made elsewhere (the CustomerGatewayStack that migrations share):
   * the VPN connection uses it and this construct makes none.
   */
  readonly customerGatewayId?: string;
}

/** An existing Direct Connect gateway, associated with a new virtual private gateway or a transit gateway. */
export interface DirectConnectConnectivity {
  readonly type: 'direct-connect';
  readonly directConnectGatewayId: string;
  /** @default [the VPC CIDR] */
  readonly allowedPrefixes?: readonly string[];
  readonly transitGatewayId?: string;
}

export interface NetworkProps {
  /** Prefix of every resource name. */
  readonly name: string;
  readonly region: string;
  readonly vpcCidr: string;
  /** One private subnet per zone; at least two. */
  readonly availabilityZones: readonly string[];
  readonly onPremCidrs: readonly string[];
  readonly connectivity: VpnConnectivity | DirectConnectConnectivity;
  /** Interface endpoints for Secrets Manager and CloudWatch Logs. @default true */
  readonly interfaceEndpoints?: boolean;
  /**
   * Gateway endpoints the features need (`s3`: Time Travel's and the assessments' buckets), on the private
   * route table: the VPC has no NAT, so without one the replication instance cannot reach S3. @default []
   */
  readonly gatewayEndpoints?: readonly 's3'[];
  /** Days the VPC flow logs are kept. @default 30 */
  readonly flowLogRetentionDays?: number;
  readonly tags?: Record<string, string>;
}

/**
 * The VPC of a migration: private subnets in every given zone (no internet gateway, no NAT), one route
 * table with a route to every on-prem CIDR through a VPN (virtual private gateway or transit gateway) or
 * Direct Connect, and optional interface endpoints so DMS reaches Secrets Manager and CloudWatch Logs
 * without leaving the VPC.
 */
export class Network extends Construct {
  public readonly vpc: Vpc;
  public readonly privateSubnets: Subnet[];
  public readonly routeTable: RouteTable;
  public readonly vpnGateway?: VpnGateway;
  public readonly customerGateway?: CustomerGateway;
  public readonly vpnConnection?: VpnConnection;
  public readonly directConnectAssociation?: DxGatewayAssociation;
  public readonly transitGatewayAttachment?: Ec2TransitGatewayVpcAttachment;
  public readonly endpointSecurityGroup?: SecurityGroup;
  public readonly interfaceEndpoints: VpcEndpoint[] = [];
  /** Where the VPC's flow logs go. */
  public readonly flowLogGroup: CloudwatchLogGroup;
  /** The S3 gateway endpoint, when asked for: its prefix list opens the security groups to S3. */
  public readonly s3Endpoint?: VpcEndpoint;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const prefix = Number(props.vpcCidr.split('/')[1]);
    const c = props.connectivity;
    validateProps('Network', [
      {
        failed: props.availabilityZones.length < 2,
        message: `availabilityZones needs at least two zones but ${props.availabilityZones.length} was provided`,
      },
      { failed: props.onPremCidrs.length === 0, message: 'onPremCidrs needs at least one CIDR' },
      { failed: prefix > 24, message: `vpcCidr must be /24 or larger but ${props.vpcCidr} was provided` },
      ...props.onPremCidrs.map((cidr) => ({
        failed: cidrsOverlap(cidr, props.vpcCidr),
        message: `onPremCidrs entry ${cidr} overlaps vpcCidr ${props.vpcCidr}`,
      })),
      ...props.availabilityZones.map((z) => ({
        failed: !z.startsWith(props.region),
        message: `availability zone ${z} is not in region ${props.region}`,
      })),
      {
        failed: c.type === 'vpn' && (c.bgpAsn < 1 || c.bgpAsn > 4_294_967_294),
        message: 'connectivity.bgpAsn must be 1-4294967294',
      },
      {
        failed: c.type === 'vpn' && c.transitGatewayId !== undefined && c.staticRoutesOnly,
        message:
          'connectivity.staticRoutesOnly with a transit gateway needs routes in the transit gateway route table; use BGP',
      },
    ]);
    const tags = (name: string) => ({ ...props.tags, Name: `${props.name}-${name}` });

    this.vpc = new Vpc(this, 'Resource', {
      cidrBlock: props.vpcCidr,
      enableDnsHostnames: true,
      enableDnsSupport: true,
      tags: tags('vpc'),
    });
    // VPC flow logs of every ENI (DMS, Aurora, the endpoints): what reached or was refused on the path
    // to on-prem, kept 30 days (VPC: "Publish flow logs to CloudWatch Logs").
    this.flowLogGroup = new CloudwatchLogGroup(this, 'FlowLogs', {
      name: `/dmskit/${props.name}/vpc-flow-logs`,
      retentionInDays: props.flowLogRetentionDays ?? 30,
      tags: tags('flow-logs'),
    });
    const flowRole = new IamRole(this, 'FlowLogsRole', {
      name: `${props.name}-vpc-flow-logs`,
      assumeRolePolicy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'vpc-flow-logs.amazonaws.com' },
            Action: 'sts:AssumeRole',
          },
        ],
      }),
      tags: tags('flow-logs'),
    });
    new IamRolePolicy(this, 'FlowLogsPolicy', {
      role: flowRole.id,
      policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
            Resource: `${this.flowLogGroup.arn}:*`,
          },
        ],
      }),
    });
    new FlowLog(this, 'FlowLog', {
      vpcId: this.vpc.id,
      trafficType: 'ALL',
      logDestinationType: 'cloud-watch-logs',
      logDestination: this.flowLogGroup.arn,
      iamRoleArn: flowRole.arn,
      tags: tags('flow-log'),
    });
    const newBits = Math.min(4, 28 - prefix);
    this.privateSubnets = props.availabilityZones.map(
      (zone, i) =>
        new Subnet(this, `Private${i}`, {
          vpcId: this.vpc.id,
          availabilityZone: zone,
          cidrBlock: subnetCidr(props.vpcCidr, newBits, i),
          mapPublicIpOnLaunch: false,
          tags: tags(`private-${zone}`),
        }),
    );
    this.routeTable = new RouteTable(this, 'PrivateRoutes', { vpcId: this.vpc.id, tags: tags('private') });
    this.privateSubnets.forEach(
      (subnet, i) =>
        new RouteTableAssociation(this, `PrivateRoutes${i}`, {
          subnetId: subnet.id,
          routeTableId: this.routeTable.id,
        }),
    );

    const transitGatewayId = c.transitGatewayId;
    if (transitGatewayId) {
      this.transitGatewayAttachment = new Ec2TransitGatewayVpcAttachment(this, 'TransitGatewayAttachment', {
        transitGatewayId,
        vpcId: this.vpc.id,
        subnetIds: this.privateSubnets.map((s) => s.id),
        tags: tags('tgw-attachment'),
      });
      props.onPremCidrs.forEach(
        (cidr, i) =>
          new Route(this, `OnPremRoute${i}`, {
            routeTableId: this.routeTable.id,
            destinationCidrBlock: cidr,
            transitGatewayId,
            dependsOn: [this.transitGatewayAttachment!],
          }),
      );
    } else {
      this.vpnGateway = new VpnGateway(this, 'VpnGateway', { vpcId: this.vpc.id, tags: tags('vgw') });
    }

    if (c.type === 'vpn') {
      if (!c.customerGatewayId)
        this.customerGateway = new CustomerGateway(this, 'CustomerGateway', {
          bgpAsn: String(c.bgpAsn),
          ipAddress: c.customerGatewayIp,
          type: 'ipsec.1',
          tags: tags('cgw'),
        });
      this.vpnConnection = new VpnConnection(this, 'VpnConnection', {
        customerGatewayId: c.customerGatewayId ?? this.customerGateway!.id,
        type: 'ipsec.1',
        staticRoutesOnly: c.staticRoutesOnly,
        ...(transitGatewayId ? { transitGatewayId } : { vpnGatewayId: this.vpnGateway!.id }),
        tunnel1IkeVersions: ['ikev2'],
        tunnel2IkeVersions: ['ikev2'],
        tags: tags('vpn'),
      });
      if (c.staticRoutesOnly && this.vpnGateway) {
        props.onPremCidrs.forEach(
          (cidr, i) =>
            new VpnConnectionRoute(this, `VpnStaticRoute${i}`, {
              vpnConnectionId: this.vpnConnection!.id,
              destinationCidrBlock: cidr,
            }),
        );
      }
    } else {
      this.directConnectAssociation = new DxGatewayAssociation(this, 'DirectConnectAssociation', {
        dxGatewayId: c.directConnectGatewayId,
        associatedGatewayId: transitGatewayId ?? this.vpnGateway!.id,
        allowedPrefixes: [...(c.allowedPrefixes ?? [props.vpcCidr])],
      });
    }

    if (this.vpnGateway) {
      const staticOnly = c.type === 'vpn' && c.staticRoutesOnly;
      if (staticOnly) {
        props.onPremCidrs.forEach(
          (cidr, i) =>
            new Route(this, `OnPremRoute${i}`, {
              routeTableId: this.routeTable.id,
              destinationCidrBlock: cidr,
              gatewayId: this.vpnGateway!.id,
            }),
        );
      } else {
        // BGP (VPN or Direct Connect) learns the on-prem CIDRs; propagation puts them in the route table.
        new VpnGatewayRoutePropagation(this, 'RoutePropagation', {
          vpnGatewayId: this.vpnGateway.id,
          routeTableId: this.routeTable.id,
        });
      }
    }

    if (props.gatewayEndpoints?.includes('s3'))
      this.s3Endpoint = new VpcEndpoint(this, 'S3Endpoint', {
        vpcId: this.vpc.id,
        serviceName: `com.amazonaws.${props.region}.s3`,
        vpcEndpointType: 'Gateway',
        routeTableIds: [this.routeTable.id],
        tags: tags('s3-endpoint'),
      });

    if (props.interfaceEndpoints ?? true) {
      this.endpointSecurityGroup = new SecurityGroup(this, 'EndpointSecurityGroup', {
        name: `${props.name}-endpoints`,
        description: 'HTTPS from the VPC to the interface endpoints',
        vpcId: this.vpc.id,
        tags: tags('endpoints'),
      });
      new VpcSecurityGroupIngressRule(this, 'EndpointHttps', {
        securityGroupId: this.endpointSecurityGroup.id,
        cidrIpv4: props.vpcCidr,
        ipProtocol: 'tcp',
        fromPort: 443,
        toPort: 443,
        description: 'HTTPS from the VPC',
      });
      for (const [idSuffix, service] of [
        ['SecretsManager', 'secretsmanager'],
        ['Logs', 'logs'],
      ] as const) {
        this.interfaceEndpoints.push(
          new VpcEndpoint(this, `${idSuffix}Endpoint`, {
            vpcId: this.vpc.id,
            serviceName: `com.amazonaws.${props.region}.${service}`,
            vpcEndpointType: 'Interface',
            privateDnsEnabled: true,
            subnetIds: this.privateSubnets.map((s) => s.id),
            securityGroupIds: [this.endpointSecurityGroup.id],
            tags: tags(`${service}-endpoint`),
          }),
        );
      }
    }
  }
}
