import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { cidrsOverlap, type MigrationConfig, stackName, UsageError } from '@dmskit/shared';
import type { App } from 'cdktf';
import { AccountBaselineStack } from './account-baseline.js';
import { readSourceCatalog } from './catalog-file.js';
import { CustomerGatewayStack, customerGatewayStackName } from './customer-gateway-stack.js';
import { MigrationStack, partitionOf, sharedGatewayOf } from './stack.js';

/** A migration config and the file it came from. */
export interface MigrationFile {
  readonly config: MigrationConfig;
  readonly file: string;
}

/** The stack name of an account's baseline: one per account, since IAM is global. */
export function baselineStackName(accountId: string): string {
  return `dmskit-account-baseline-${accountId}`;
}

/**
 * What the migrations of one repository must not do to each other, found before anything is synthesized
 * (each stack alone cannot see it): two stacks of one name, two VPCs whose ranges overlap (both advertised to on-prem, routes
 * collide; DMS and Aurora would reach the wrong network), and two stacks of one account and region
 * managing the same customer gateway (EC2 returns the existing gateway for the same IP and ASN, so
 * destroying one stack takes the other's VPN down) unless both declare it shared
 * (`connectivity.sharedCustomerGateway`: it then gets a stack of its own). Migrations that share a VPC
 * (`network.existingVpc`) are exempt from both.
 * @returns one line per conflict, naming both files
 */
export function migrationConflicts(migrations: readonly MigrationFile[]): string[] {
  const out: string[] = [];
  const name = (m: MigrationFile) => `${path.basename(m.file)} (${stackName(m.config)})`;
  for (let i = 0; i < migrations.length; i++)
    for (let j = i + 1; j < migrations.length; j++) {
      const a = migrations[i] as MigrationFile;
      const b = migrations[j] as MigrationFile;
      if (stackName(a.config) === stackName(b.config))
        out.push(
          `${path.basename(a.file)} and ${path.basename(b.file)}: both make stack ${stackName(a.config)} (its resources' names too): give them different names or environments`,
        );
      const na = a.config.network;
      const nb = b.config.network;
      if (!na.existingVpc && !nb.existingVpc && cidrsOverlap(na.vpcCidr, nb.vpcCidr))
        out.push(
          `${name(a)} and ${name(b)}: network.vpcCidr ${na.vpcCidr} and ${nb.vpcCidr} overlap (both are advertised to on-prem): give each migration its own range`,
        );
      const ca = na.connectivity;
      const cb = nb.connectivity;
      // Each makes its gateway unless it is shared; a transit gateway does not change that.
      if (
        !na.existingVpc &&
        !nb.existingVpc &&
        ca?.type === 'vpn' &&
        cb?.type === 'vpn' &&
        ca.customerGatewayIp === cb.customerGatewayIp &&
        ca.bgpAsn === cb.bgpAsn &&
        (a.config.aws.accountId ?? '') === (b.config.aws.accountId ?? '') &&
        a.config.aws.region === b.config.aws.region &&
        !(ca.sharedCustomerGateway && cb.sharedCustomerGateway)
      )
        out.push(
          `${name(a)} and ${name(b)}: both make the customer gateway ${ca.customerGatewayIp} (ASN ${ca.bgpAsn}) in ${a.config.aws.region} (EC2 gives both the same one, and destroying either stack takes the other's VPN down): set network.connectivity.sharedCustomerGateway: true in both (the gateway gets a stack of its own)`,
        );
    }
  return out;
}

/**
 * Adds every stack of the migrations to `app`: the migrations' conflicts refused first
 * ({@link migrationConflicts}), then one account baseline per account (the first migration of the account,
 * by file name, gives its region and state), one stack per shared customer gateway (the same), then one
 * stack per migration, after the gateway it uses.
 * @throws UsageError listing every conflict
 */
export async function addMigrationStacks(
  app: App,
  migrations: readonly MigrationFile[],
  options: { offline: boolean },
): Promise<{
  baselines: AccountBaselineStack[];
  gateways: CustomerGatewayStack[];
  migrations: MigrationStack[];
}> {
  const conflicts = migrationConflicts(migrations);
  if (conflicts.length) throw new UsageError(`the migrations conflict:\n  ${conflicts.join('\n  ')}`);
  const ordered = [...migrations].sort((a, b) => a.file.localeCompare(b.file));
  const baselines = new Map<string, AccountBaselineStack>();
  const gateways = new Map<string, CustomerGatewayStack>();
  const stacks: MigrationStack[] = [];
  for (const { config, file } of ordered) {
    // A shared customer gateway: its own stack, once (the first migration by file name gives its state).
    const shared = sharedGatewayOf(config);
    const gatewayStack = shared ? customerGatewayStackName(shared) : undefined;
    if (shared && gatewayStack && !gateways.has(gatewayStack))
      gateways.set(
        gatewayStack,
        new CustomerGatewayStack(app, gatewayStack, {
          ...shared,
          ...(config.state ? { state: config.state } : {}),
          offline: options.offline,
        }),
      );
    const account = config.aws.accountId;
    if (account && !baselines.has(account))
      baselines.set(
        account,
        new AccountBaselineStack(app, baselineStackName(account), {
          region: config.aws.region,
          accountId: account,
          partition: partitionOf(config.aws.region),
          ...(config.aws.permissionsBoundaryArn
            ? { permissionsBoundaryArn: config.aws.permissionsBoundaryArn }
            : {}),
          ...(config.state ? { state: config.state } : {}),
          offline: options.offline,
        }),
      );
    const ca = config.source.caCertificateFile;
    const catalog = await readSourceCatalog(config, file);
    const stack = new MigrationStack(app, stackName(config), {
      config,
      offline: options.offline,
      ...(ca ? { sourceCaCertificatePem: await readFile(path.resolve(path.dirname(file), ca), 'utf8') } : {}),
      ...(catalog ? { catalog } : {}),
    });
    // cdktf deploy makes the gateway first: the migration's plan looks it up.
    if (gatewayStack) stack.addDependency(gateways.get(gatewayStack)!);
    stacks.push(stack);
  }
  return { baselines: [...baselines.values()], gateways: [...gateways.values()], migrations: stacks };
}
