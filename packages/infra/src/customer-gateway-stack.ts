import { CustomerGateway } from '@cdktf/provider-aws/lib/customer-gateway/index.js';
import { DataAwsCustomerGateway } from '@cdktf/provider-aws/lib/data-aws-customer-gateway/index.js';
import type { MigrationConfig } from '@dmskit/shared';
import { TerraformStack, TerraformVariable } from 'cdktf';
import type { Construct } from 'constructs';
import { providerAndBackend } from './provider-backend.js';
import { validateProps } from './validate-props.js';

/** The tag by which migration stacks find the customer gateway they share (its value: the gateway stack's name). */
export const SHARED_GATEWAY_TAG = 'dmskit:customer-gateway';

/**
 * The Terraform variable an offline plan of a sharing migration reads the gateway's id from (no AWS
 * call finds it): `dmskit plan --offline --state` passes the id the state's VPN connection uses, so a
 * plan against a deployed state shows no replacement that is not there.
 */
export const SHARED_GATEWAY_VARIABLE = 'shared_customer_gateway_id';

/** The placeholder id of an offline plan without a state: what a first deploy would look up. */
export const OFFLINE_GATEWAY_ID = 'cgw-0000000000offline';

/** The on-prem VPN device a gateway stack makes the customer gateway of. */
export interface SharedGateway {
  /** The account (12 digits), or undefined when the configs name none. */
  readonly accountId?: string;
  readonly region: string;
  /** Public IPv4 address of the device. */
  readonly ipAddress: string;
  readonly bgpAsn: number;
}

/**
 * The name of the stack that makes a shared customer gateway: one per device (address and ASN) per
 * account and region, the same whichever migration files are synthesized, so that `dmskit plan` of one
 * migration and `cdktf deploy` of all agree.
 */
export function customerGatewayStackName(g: SharedGateway): string {
  return `dmskit-customer-gateway-${g.accountId ?? 'no-account'}-${g.region}-${g.ipAddress.replaceAll('.', '-')}-${g.bgpAsn}`;
}

/**
 * A customer gateway that several migrations' VPN connections use (config
 * `network.connectivity.sharedCustomerGateway`): EC2 returns the existing gateway to a second create
 * with the same address and ASN, so two stacks that each made it would manage one resource, and
 * destroying either would take the other's VPN down (EC2 API reference: "CreateCustomerGateway"). It is
 * made here once, with the stack's name as its device name (an identical request with another device
 * name makes a new gateway rather than adopting one the network team made), and tagged with
 * {@link SHARED_GATEWAY_TAG}; deploy it before the migrations (cdktf deploy orders them). EC2 refuses to
 * delete it while a VPN connection uses it.
 */
export class CustomerGatewayStack extends TerraformStack {
  public readonly gateway: CustomerGateway;

  constructor(
    scope: Construct,
    id: string,
    props: SharedGateway & {
      /** Terraform state: the migrations' bucket, under `<keyPrefix>/<account>/<region>/customer-gateway/...`. */
      readonly state?: MigrationConfig['state'];
      readonly offline?: boolean;
    },
  ) {
    super(scope, id);
    validateProps('CustomerGatewayStack', [
      {
        failed: props.bgpAsn < 1 || props.bgpAsn > 4_294_967_294,
        message: `bgpAsn must be 1-4294967294 but ${props.bgpAsn} was provided`,
      },
    ]);
    providerAndBackend(this, {
      region: props.region,
      tags: { 'managed-by': 'dmskit', 'dmskit:stack': 'customer-gateway' },
      offline: props.offline ?? false,
      ...(props.state ? { state: props.state } : {}),
      stateKey: `${props.accountId ?? 'no-account'}/${props.region}/customer-gateway/${props.ipAddress}-${props.bgpAsn}/terraform.tfstate`,
    });
    this.gateway = new CustomerGateway(this, 'CustomerGateway', {
      bgpAsn: String(props.bgpAsn),
      ipAddress: props.ipAddress,
      type: 'ipsec.1',
      deviceName: id,
      tags: { Name: id, [SHARED_GATEWAY_TAG]: id },
    });
  }
}

/**
 * The id of the shared customer gateway, in a migration stack: found at plan by its tag, address and ASN
 * (a plan before the gateway stack is deployed fails naming it); offline, where no AWS call is made,
 * the variable {@link SHARED_GATEWAY_VARIABLE}.
 */
export function sharedCustomerGatewayId(scope: Construct, g: SharedGateway, offline: boolean): string {
  if (offline)
    return new TerraformVariable(scope, SHARED_GATEWAY_VARIABLE, {
      type: 'string',
      default: OFFLINE_GATEWAY_ID,
      description: `the id of the customer gateway of ${customerGatewayStackName(g)} (offline plans)`,
    }).stringValue;
  return new DataAwsCustomerGateway(scope, 'SharedCustomerGateway', {
    filter: [
      { name: `tag:${SHARED_GATEWAY_TAG}`, values: [customerGatewayStackName(g)] },
      { name: 'ip-address', values: [g.ipAddress] },
      { name: 'bgp-asn', values: [String(g.bgpAsn)] },
      { name: 'state', values: ['available'] },
    ],
  }).id;
}
