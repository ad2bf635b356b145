import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { discoverMigrations } from './load.js';

const config = (name: string, environment: string) => ({
  name,
  environment,
  network: {
    availabilityZones: ['us-east-1a', 'us-east-1b'],
    onPremCidrs: ['192.168.0.0/16'],
    connectivity: { type: 'vpn', customerGatewayIp: '198.51.100.7' },
  },
  source: { host: '192.168.1.10', database: name, user: 'dms' },
});

describe('the migrations under migrations/: subfolders, helper modules and catalogs', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('finds every migration, in subfolders too, and skips helpers, catalogs and declarations', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'dmskit-discover-'));
    await mkdir(path.join(dir, 'billing'), { recursive: true });
    await mkdir(path.join(dir, 'lib'), { recursive: true });
    await mkdir(path.join(dir, 'node_modules', 'x'), { recursive: true });
    // A helper module shared by two migrations (no default export), and one whose default is not a config.
    await writeFile(
      path.join(dir, 'lib', 'network.ts'),
      `export const network = ${JSON.stringify(config('x', 'y').network)};\n`,
    );
    await writeFile(path.join(dir, 'lib', 'defaults.ts'), 'export default { tags: { Owner: "dba" } };\n');
    await writeFile(path.join(dir, 'lib', 'types.d.ts'), 'export type X = 1;\n');
    await writeFile(
      path.join(dir, 'billing', 'prod.ts'),
      `import { network } from '../lib/network.ts';\nexport default { ...${JSON.stringify(config('billing', 'prod'))}, network };\n`,
    );
    await writeFile(path.join(dir, 'billing', 'staging.json'), JSON.stringify(config('billing', 'staging')));
    await writeFile(path.join(dir, 'shop.ts'), `export default ${JSON.stringify(config('shop', 'prod'))};\n`);
    await writeFile(
      path.join(dir, 'billing', 'catalog.json'),
      JSON.stringify({ kind: 'dmskit-catalog', version: 1, databases: [] }),
    );
    await writeFile(path.join(dir, 'node_modules', 'x', 'index.json'), JSON.stringify(config('nm', 'prod')));
    const found = await discoverMigrations(dir);
    expect(found.map((m) => [path.relative(dir, m.file), m.config.name, m.config.environment])).toEqual([
      [path.join('billing', 'prod.ts'), 'billing', 'prod'],
      [path.join('billing', 'staging.json'), 'billing', 'staging'],
      ['shop.ts', 'shop', 'prod'],
    ]);
  });

  it('two files for one migration and environment are refused, naming both; an invalid one fails loudly', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'dmskit-discover-'));
    await writeFile(path.join(dir, 'a.json'), JSON.stringify(config('shop', 'prod')));
    await writeFile(path.join(dir, 'b.json'), JSON.stringify(config('shop', 'prod')));
    await expect(discoverMigrations(dir)).rejects.toThrow(/b\.json and .*a\.json both describe shop in prod/);
    await rm(path.join(dir, 'b.json'));
    await writeFile(path.join(dir, 'c.json'), JSON.stringify({ ...config('shop', 'dev'), network: {} }));
    await expect(discoverMigrations(dir)).rejects.toThrow(/network/);
  });
});
