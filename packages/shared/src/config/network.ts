/** The network section: the VPC, its subnets, and the VPN or Direct Connect path to on-prem. */
import { z } from 'zod';
import { cidr } from './common.js';

export const VpnConnectivitySchema = z.strictObject({
  type: z.literal('vpn'),
  /** Public IPv4 address of the on-prem VPN device (the customer gateway). */
  customerGatewayIp: z.ipv4({ error: 'must be an IPv4 address' }),
  /** BGP ASN of the customer gateway. @default 65000 */
  bgpAsn: z.number().int().min(1).max(4_294_967_294).default(65000),
  /** Static routes to `onPremCidrs` instead of BGP. @default false */
  staticRoutesOnly: z.boolean().default(false),
  /** Attach to an existing transit gateway instead of creating a virtual private gateway. */
  transitGatewayId: z
    .string()
    .regex(/^tgw-[0-9a-f]{8,17}$/, 'must be a transit gateway id (tgw-...)')
    .optional(),
  /**
   * The on-prem VPN device also serves other migrations of this account and region. Its customer gateway
   * is then made once, in a stack of its own (`dmskit-customer-gateway-<account>-<region>-<address>-<asn>`),
   * and each migration's VPN connection uses it (found by its tag at plan), so that no migration's
   * destroy takes it from the others. Every migration that reaches the same device (address and ASN)
   * sets it; two that make the same gateway each are refused at synth. @default false
   */
  sharedCustomerGateway: z.boolean().default(false),
});

export const DirectConnectConnectivitySchema = z.strictObject({
  type: z.literal('direct-connect'),
  /** Id of an existing Direct Connect gateway. */
  directConnectGatewayId: z.string().regex(/^[0-9a-f-]{36}$/, 'must be a Direct Connect gateway id (a UUID)'),
  /** Prefixes advertised to on-prem through the association. @default the VPC CIDR */
  allowedPrefixes: z.array(cidr).optional(),
  /**
   * The Direct Connect connections (dxcon-...) that carry the path: an alarm fires when one is down
   * (AWS/DX ConnectionState). @default [] (no alarm: the connections belong to the network team)
   */
  connectionIds: z
    .array(
      z.string().regex(/^dx(con|lag)-[0-9a-z]{8,}$/, 'must be a Direct Connect connection id (dxcon-...)'),
    )
    .default([]),
  /** Associate through an existing transit gateway instead of a virtual private gateway. */
  transitGatewayId: z
    .string()
    .regex(/^tgw-[0-9a-f]{8,17}$/, 'must be a transit gateway id (tgw-...)')
    .optional(),
});

export const NetworkSchema = z
  .strictObject({
    /** @default '10.60.0.0/16' */
    vpcCidr: cidr.default('10.60.0.0/16'),
    /** At least two, so that the DB and replication subnet groups span two AZs. */
    availabilityZones: z
      .array(
        z
          .string()
          .regex(/^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$/, 'must be an availability zone name such as eu-west-1a'),
      )
      .min(2, 'needs at least two availability zones'),
    /** On-prem networks that hold the source and the applications. */
    onPremCidrs: z.array(cidr).min(1, 'needs at least one on-prem CIDR'),
    /** How the VPC reaches on-prem; not needed with `existingVpc`, whose routes to on-prem already exist. */
    connectivity: z
      .discriminatedUnion('type', [VpnConnectivitySchema, DirectConnectConnectivitySchema])
      .optional(),
    /**
     * Land in a VPC the platform team already runs (its routes to on-prem in place) instead of creating
     * one: no VPC, subnets, gateways or interface endpoints are created. `vpcCidr` must be that VPC's CIDR
     * (security group rules use it).
     */
    existingVpc: z
      .strictObject({
        vpcId: z.string().regex(/^vpc-[0-9a-f]{8,17}$/, 'must be a VPC id (vpc-...)'),
        /** Private subnets in two or more availability zones, for Aurora and DMS. */
        privateSubnetIds: z
          .array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, 'must be a subnet id (subnet-...)'))
          .min(2, 'needs private subnets in at least two availability zones'),
      })
      .optional(),
    /** Interface endpoints for Secrets Manager and CloudWatch Logs, so nothing needs a NAT gateway. @default true */
    interfaceEndpoints: z.boolean().default(true),
    /**
     * The on-prem DNS: a Route 53 Resolver outbound endpoint in the private subnets forwards queries for
     * `domain` to `serverIps`, so that DMS in the VPC resolves a source named by an on-prem host name (and
     * `verify-full` checks that name). Needed when `source.host` is a dotted host name.
     */
    onPremDns: z
      .strictObject({
        /** The on-prem domain, e.g. `corp.example`. */
        domain: z
          .string()
          .regex(
            /^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}$/i,
            'must be a DNS domain such as corp.example',
          ),
        /** The on-prem DNS servers (IPv4, inside network.onPremCidrs). */
        serverIps: z
          .array(z.ipv4({ error: 'must be an IPv4 address' }))
          .min(1)
          .max(6),
      })
      .optional(),
  })
  .refine((n) => n?.connectivity !== undefined || n?.existingVpc !== undefined, {
    path: ['connectivity'],
    message:
      'is needed (a VPN or Direct Connect to on-prem) unless network.existingVpc names a VPC that has its routes already',
    // Checked even when other fields are invalid, so the whole list of problems comes at once.
    when: () => true,
  });
