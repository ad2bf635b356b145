import { Route53Record } from '@cdktf/provider-aws/lib/route53-record/index.js';
import { Route53Zone } from '@cdktf/provider-aws/lib/route53-zone/index.js';
import { Construct } from 'constructs';

export interface ApplicationDnsProps {
  readonly vpcId: string;
  /** The private hosted zone, e.g. `db.corp.internal`. */
  readonly zoneName: string;
  /** The record the applications connect to, in the zone, e.g. `shop.db.corp.internal`. */
  readonly recordName: string;
  /** Seconds. */
  readonly ttlSeconds: number;
  /** The on-prem source's host name: what the record points at until the cutover. */
  readonly sourceHost: string;
  readonly tags?: Record<string, string>;
}

/**
 * The DNS name the applications use for their database (`cutover.dns`): a Route 53 private hosted zone
 * associated with the migration's VPC and a CNAME pointing at the on-prem source (resolved over the
 * Resolver's forwarding rule). At the cutover's switch dmskit points it at the Aurora writer endpoint
 * (ChangeResourceRecordSets), so Terraform ignores later changes of the record's value: a `cdktf deploy`
 * after the cutover must not point the applications back at the fenced source.
 */
export class ApplicationDns extends Construct {
  public readonly zone: Route53Zone;
  public readonly record: Route53Record;

  constructor(scope: Construct, id: string, props: ApplicationDnsProps) {
    super(scope, id);
    this.zone = new Route53Zone(this, 'Zone', {
      name: props.zoneName,
      comment: `the applications' database name of a dmskit migration (${props.recordName})`,
      vpc: [{ vpcId: props.vpcId }],
      ...(props.tags ? { tags: props.tags } : {}),
    });
    this.record = new Route53Record(this, 'Record', {
      zoneId: this.zone.zoneId,
      name: props.recordName,
      type: 'CNAME',
      ttl: props.ttlSeconds,
      records: [props.sourceHost],
      lifecycle: { ignoreChanges: ['records'] },
    });
  }
}
