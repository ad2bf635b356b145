#!/usr/bin/env node
/**
 * The `dmskit` command as installed (`npx dmskit`, `npm run -s dmskit --`, `pnpm dmskit`): runs the
 * compiled bundle `dist/bin/dmskit.mjs` with node alone. The bundle is rebuilt first when it is missing or
 * older than any source of the workspace's packages, so a checkout never runs stale code.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const PACKAGE_DIR = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const BUNDLE = path.join(PACKAGE_DIR, 'dist/bin/dmskit.mjs');
const SOURCE_DIRS = ['shared', 'validation', 'infra', 'ops-cli'].map((p) =>
  path.join(PACKAGE_DIR, '..', p, 'src'),
);

function newestSource() {
  let newest = 0;
  for (const dir of SOURCE_DIRS) {
    for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
      const mtime = statSync(path.join(entry.parentPath, entry.name)).mtimeMs;
      if (mtime > newest) newest = mtime;
    }
  }
  return newest;
}

function bundleTime() {
  try {
    return statSync(BUNDLE).mtimeMs;
  } catch {
    return -1;
  }
}

if (bundleTime() < newestSource()) {
  const { buildBin } = await import('../scripts/build-bin.mjs');
  await buildBin();
}
process.setSourceMapsEnabled(true);
await import(pathToFileURL(BUNDLE).href);
