#!/usr/bin/env node
/**
 * Compiles the `dmskit` command to one JavaScript file, `packages/ops-cli/dist/bin/`, so that it
 * starts with node alone (no TypeScript loader at run time).
 *
 * The workspace's own packages (@dmskit/*) are bundled; every npm package stays an import, resolved
 * from the file that imports it (pnpm gives each package only its own dependencies) and written as a
 * path relative to the bundle. `import.meta.url` and `import.meta.dirname` keep the meaning they have
 * in each source file, so files found next to a source (package.json, migrations/) are still found.
 *
 * Run by `npm run setup`; `bin/dmskit.mjs` also runs it when a source is newer than the bundle.
 */
import { readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const PACKAGE_DIR = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const REPO_ROOT = path.resolve(PACKAGE_DIR, '../..');
const OUT_DIR = path.join(PACKAGE_DIR, 'dist/bin');
/** The entry of the compiled command; the modules each command loads lazily are chunks beside it. */
export const BUNDLE = path.join(OUT_DIR, 'dmskit.mjs');
/** The source folders the bundle is made of: a file newer than the bundle makes it stale. */
export const SOURCE_DIRS = ['shared', 'validation', 'infra', 'ops-cli'].map((p) =>
  path.join(REPO_ROOT, 'packages', p, 'src'),
);

function relativeSpecifier(from, to) {
  const rel = path.relative(path.dirname(from), to).split(path.sep).join('/');
  return rel.startsWith('.') ? rel : `./${rel}`;
}

/** Keeps every npm import an import, pointed at the file pnpm resolves for the importing source. */
const externalNpmPackages = {
  name: 'external-npm-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]|^\.[^./]|^\.\.[^/]/ }, async (args) => {
      if (args.path.startsWith('@dmskit/') || args.path.startsWith('node:')) return undefined;
      if (args.pluginData === 'resolving') return undefined;
      const resolved = await b.resolve(args.path, {
        kind: args.kind,
        resolveDir: args.resolveDir,
        importer: args.importer,
        pluginData: 'resolving',
      });
      if (resolved.errors.length > 0) return { errors: resolved.errors };
      if (resolved.external) return { path: args.path, external: true };
      return { path: relativeSpecifier(BUNDLE, resolved.path), external: true };
    });
  },
};

/** Rewrites `import.meta.url`/`dirname` of each workspace source to the source's own location. */
const sourceLocation = {
  name: 'source-location',
  setup(b) {
    b.onLoad({ filter: /\/packages\/[^/]+\/src\/.*\.ts$/ }, (args) => {
      const rel = relativeSpecifier(BUNDLE, args.path);
      const url = `new URL(${JSON.stringify(rel)}, import.meta.url).href`;
      const dirname = `__dmskitPath.dirname(__dmskitUrl.fileURLToPath(${url}))`;
      let contents = readFileSync(args.path, 'utf8');
      if (!contents.includes('import.meta.')) return { contents, loader: 'ts' };
      contents = contents
        .replaceAll('import.meta.dirname', dirname)
        .replaceAll('import.meta.url', url)
        .concat("\nimport * as __dmskitPath from 'node:path';\nimport * as __dmskitUrl from 'node:url';\n");
      return { contents, loader: 'ts' };
    });
  },
};

/**
 * Builds the bundle into a folder of its own and renames it into place, so that a run starting while
 * another builds sees either the old bundle or the new one, never half of each.
 */
export async function buildBin() {
  const temporary = `${OUT_DIR}.${process.pid}.tmp`;
  rmSync(temporary, { recursive: true, force: true });
  await build({
    entryPoints: { dmskit: path.join(PACKAGE_DIR, 'src/bin.ts') },
    outdir: temporary,
    outExtension: { '.js': '.mjs' },
    chunkNames: '[name]-[hash]',
    splitting: true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'inline',
    sourcesContent: false,
    logLevel: 'warning',
    plugins: [externalNpmPackages, sourceLocation],
  });
  const previous = `${OUT_DIR}.${process.pid}.old`;
  try {
    renameSync(OUT_DIR, previous);
  } catch {}
  renameSync(temporary, OUT_DIR);
  rmSync(previous, { recursive: true, force: true });
  return BUNDLE;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await buildBin();
}
