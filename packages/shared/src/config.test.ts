import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ConfigError, UsageError } from './errors.js';
import { loadMigrationConfig } from './load.js';
import { parseMigrationConfig } from './parse.js';

const repoRoot = path.resolve(import.meta.dirname, '../../..');

const minimal = {
  name: 'billing',
  aws: { region: 'eu-west-1' },
  network: {
    availabilityZones: ['eu-west-1a', 'eu-west-1b'],
    onPremCidrs: ['192.168.0.0/16'],
    connectivity: { type: 'vpn', customerGatewayIp: '198.51.100.7' },
  },
  source: { host: 'db1', database: 'billing', user: 'dms' },
};

describe('parseMigrationConfig', () => {
  it('a revoke-login fence needs the application roles', () => {
    expect(() => parseMigrationConfig({ ...minimal, cutover: { fenceMethod: 'revoke-login' } })).toThrowError(
      "cutover.applicationRoles: must name the application's roles when fenceMethod is 'revoke-login'",
    );
  });

  it('applies every default, nested ones included', () => {
    const { config } = parseMigrationConfig(minimal);
    expect(config.environment).toBe('dev');
    expect(config.source.port).toBe(5432);
    expect(config.source.sslmode).toBe('verify-full');
    expect(config.source.password).toEqual({ from: 'env', variable: 'DMSKIT_SOURCE_PASSWORD' });
    expect(config.target.instanceCount).toBe(2);
    expect(config.task.migrationType).toBe('full-load-and-cdc');
    expect(config.task.tableMappings).toEqual([{ action: 'include', schema: '%', table: '%' }]);
    expect(config.task.lob).toEqual({ mode: 'limited', maxLobSizeKb: 32 });
    expect(config.cutover).toEqual({
      maxLagSeconds: 5,
      maxLagBytes: 64 * 1024 * 1024,
      fenceMethod: 'read-only',
      applicationRoles: [],
      lsnWaitTimeoutSeconds: 300,
      maxFenceSeconds: 30,
      finalValidation: 'after-ready',
      fallback: true,
      fallbackMaxAgeDays: 7,
      insertOnlyTables: [],
      maxValidationAgeMinutes: 60,
      applicationChecks: [],
    });
    expect(config.network.connectivity).toEqual({
      type: 'vpn',
      customerGatewayIp: '198.51.100.7',
      bgpAsn: 65000,
      staticRoutesOnly: false,
      sharedCustomerGateway: false,
    });
  });

  it('lists every bad field by its path, not only the first', () => {
    const bad = {
      ...minimal,
      name: 'Bad Name',
      network: { ...minimal.network, availabilityZones: ['eu-west-1a'], onPremCidrs: ['300.1.1.1/8'] },
      source: { ...minimal.source, port: 70000 },
      task: {
        tableMappings: [
          { action: 'include', schema: 'public', table: 'x' },
          { action: 'drop', schema: 'a', table: 'b' },
        ],
      },
      cutover: { fenceMethod: 'pray' },
    };
    let error: unknown;
    try {
      parseMigrationConfig(bad, 'bad.json');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).issues.map((i) => i.path);
    expect(issues).toEqual(
      expect.arrayContaining([
        'name',
        'network.availabilityZones',
        'network.onPremCidrs[0]',
        'source.port',
        'task.tableMappings[1].action',
        'cutover.fenceMethod',
      ]),
    );
    expect((error as ConfigError).exitCode).toBe(2);
    expect((error as ConfigError).message).toContain('bad.json');
  });

  it('rejects an on-prem CIDR that overlaps the VPC and a zone outside the region', () => {
    const bad = {
      ...minimal,
      network: {
        ...minimal.network,
        vpcCidr: '10.0.0.0/16',
        onPremCidrs: ['10.0.128.0/20'],
        availabilityZones: ['eu-west-1a', 'us-east-1b'],
      },
    };
    expect(() => parseMigrationConfig(bad)).toThrowError(
      /network\.availabilityZones\[1\]: is not in region[\s\S]*network\.onPremCidrs\[0\]: overlaps/,
    );
  });

  it('a source named by an on-prem DNS name needs onPremDns, whose domain covers it and whose servers are on-prem', () => {
    const named = { ...minimal, source: { ...minimal.source, host: 'pg-01.corp.example' } };
    expect(() => parseMigrationConfig(named)).toThrowError(
      'network.onPremDns: is needed: source.host pg-01.corp.example is a name, which DMS in the VPC resolves only through a forwarding rule to the on-prem DNS servers',
    );
    const wrong = {
      ...named,
      network: { ...minimal.network, onPremDns: { domain: 'other.example', serverIps: ['10.9.9.9'] } },
    };
    expect(() => parseMigrationConfig(wrong)).toThrowError(
      /network\.onPremDns\.domain: does not cover source\.host pg-01\.corp\.example[\s\S]*network\.onPremDns\.serverIps\[0\]: 10\.9\.9\.9 is in none of network\.onPremCidrs/,
    );
    const ok = {
      ...named,
      network: { ...minimal.network, onPremDns: { domain: 'corp.example', serverIps: ['192.168.1.53'] } },
    };
    expect(parseMigrationConfig(ok).config.network.onPremDns).toEqual({
      domain: 'corp.example',
      serverIps: ['192.168.1.53'],
    });
    // An IP address needs no DNS.
    expect(() =>
      parseMigrationConfig({ ...minimal, source: { ...minimal.source, host: '192.168.1.10' } }),
    ).not.toThrow();
  });

  it('takes the plugin names of the DMS API reference (PostgreSQLSettings.PluginName), not the PostgreSQL plugin names', () => {
    expect(parseMigrationConfig(minimal).config.replicationInstance.plugin).toBe('no-preference');
    expect(() =>
      parseMigrationConfig({ ...minimal, replicationInstance: { plugin: 'test_decoding' } }),
    ).toThrowError(/replicationInstance\.plugin: .*"no-preference"\|"pglogical"\|"test-decoding"/);
  });

  it('an existing VPC needs no connectivity (its routes are the owner’s), and refuses one; a new VPC needs it', () => {
    const existingVpc = {
      vpcId: 'vpc-0a1b2c3d4e5f60718',
      privateSubnetIds: ['subnet-0a1b2c3d', 'subnet-1a2b3c4d'],
    };
    const { connectivity: _c, ...withoutConnectivity } = minimal.network;
    expect(
      parseMigrationConfig({ ...minimal, network: { ...withoutConnectivity, existingVpc } }).config.network
        .existingVpc,
    ).toEqual(existingVpc);
    expect(() => parseMigrationConfig({ ...minimal, network: withoutConnectivity })).toThrowError(
      'network.connectivity: is needed (a VPN or Direct Connect to on-prem) unless network.existingVpc names a VPC that has its routes already',
    );
    expect(() =>
      parseMigrationConfig({ ...minimal, network: { ...minimal.network, existingVpc } }),
    ).toThrowError(/network\.connectivity: cannot be created in network\.existingVpc/);
    expect(() =>
      parseMigrationConfig({ ...minimal, encryption: { existingKmsKeyArn: 'alias/mine' } }),
    ).toThrowError(/encryption\.existingKmsKeyArn: must be a KMS key ARN/);
  });

  it('refuses a target older than the source', () => {
    expect(() =>
      parseMigrationConfig({
        ...minimal,
        source: { ...minimal.source, majorVersion: 17 },
        target: { engineVersion: '15.8' },
      }),
    ).toThrowError(/target\.engineVersion: major 15 is older than the source's 17/);
  });

  it('warns about sslmode that may not encrypt', () => {
    const { warnings } = parseMigrationConfig({
      ...minimal,
      source: { ...minimal.source, sslmode: 'prefer' },
    });
    expect(warnings).toEqual(expect.arrayContaining([expect.stringContaining('source.sslmode')]));
  });
});

describe('loadMigrationConfig', () => {
  it('names the file, line and column of a syntax error in a .ts config', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dmskit-config-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    await writeFile(path.join(dir, 'shop.ts'), "export default {\n  name: 'shop',,\n};\n");
    await expect(loadMigrationConfig('shop.ts', { cwd: dir })).rejects.toThrowError(
      'shop.ts: cannot be loaded: shop.ts:2:16: Expected identifier but found ","',
    );
  });

  it('loads the example TypeScript config', async () => {
    const { config } = await loadMigrationConfig('migrations/ecommerce.ts', { cwd: repoRoot });
    expect(config.name).toBe('ecommerce');
    expect(config.network.connectivity?.type).toBe('vpn');
  });

  it('loads JSON and reports a missing file and bad JSON as usage errors', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dmskit-config-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    await writeFile(path.join(dir, 'ok.json'), JSON.stringify(minimal));
    await writeFile(path.join(dir, 'broken.json'), '{ "name": ');
    expect((await loadMigrationConfig('ok.json', { cwd: dir })).config.name).toBe('billing');
    await expect(loadMigrationConfig('nope.ts', { cwd: dir })).rejects.toThrowError(UsageError);
    await expect(loadMigrationConfig('broken.json', { cwd: dir })).rejects.toThrowError(
      /broken\.json: not valid JSON/,
    );
  });
});
