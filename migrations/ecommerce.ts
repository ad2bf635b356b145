import { defineMigration } from '@dmskit/shared';

/**
 * The example migration: the on-prem e-commerce database (categories, customers, products, inventory,
 * orders, order_items) moves to Aurora PostgreSQL over a site-to-site VPN. `npx dmskit rehearse` uses it
 * by default; `npx dmskit plan --config migrations/ecommerce.ts` shows its landing zone.
 */
export default defineMigration({
  name: 'ecommerce',
  environment: 'staging',
  tags: { CostCenter: 'platform', Owner: 'dba-team' },
  aws: { region: 'eu-west-1', accountId: '123456789012' },
  network: {
    vpcCidr: '10.60.0.0/16',
    availabilityZones: ['eu-west-1a', 'eu-west-1b'],
    onPremCidrs: ['192.168.10.0/24', '192.168.20.0/24'],
    connectivity: { type: 'vpn', customerGatewayIp: '203.0.113.10', bgpAsn: 65010 },
    // DMS resolves pg-shop-01.corp.example through a Route 53 Resolver rule to these servers.
    onPremDns: { domain: 'corp.example', serverIps: ['192.168.10.53', '192.168.20.53'] },
  },
  source: {
    host: 'pg-shop-01.corp.example',
    // Its address: the fall-back path opens Aurora's port to it alone, not to every on-prem network.
    hostCidr: '192.168.10.5/32',
    port: 5432,
    database: 'shop',
    user: 'dms_reader',
    password: { from: 'env', variable: 'DMSKIT_SOURCE_PASSWORD' },
    sslmode: 'verify-full',
    // The public certificate of the CA that signed the source's server certificate (an example CA here).
    caCertificateFile: 'certs/shop-ca.pem',
    majorVersion: 15,
  },
  target: {
    engineVersion: '16.4',
    instanceClass: 'db.r6g.large',
    instanceCount: 2,
    databaseName: 'shop',
    appCidrs: ['192.168.20.0/24'],
  },
  replicationInstance: { class: 'dms.r6i.large', allocatedStorageGb: 100, multiAz: true },
  task: {
    migrationType: 'full-load-and-cdc',
    tableMappings: [
      { action: 'include', schema: 'public', table: '%' },
      { action: 'exclude', schema: 'public', table: 'tmp_%' },
    ],
    lob: { mode: 'limited', maxLobSizeKb: 64 },
    validation: { enabled: true },
  },
  cutover: { maxLagSeconds: 5, fenceMethod: 'read-only', lsnWaitTimeoutSeconds: 300 },
  // Alarms and DMS events reach the on-call DBAs (a plan without a destination fails DMSKIT-MON-001).
  alarmEmail: 'dba-oncall@example.com',
  // Terraform state in S3 (locked with S3's lock file): what `dmskit plan` and `cdktf diff` compare with.
  state: { bucket: 'acme-dmskit-tfstate' },
});
