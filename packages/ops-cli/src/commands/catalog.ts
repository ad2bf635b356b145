import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { redact } from '@dmskit/shared';
import { catalogServer, readCatalog } from '../catalog/catalog.js';
import type { CommandOutcome } from '../outcome.js';
import { parseConnectionUrl } from '../pg/url.js';
import { formatBytes, formatCount } from '../ui/format.js';
import { renderTable } from '../ui/table.js';

/** `dmskit catalog --source-url URL [--out file]`: the inventory of a source server, merged into the file. */
export async function catalog(o: {
  cwd: string;
  source: string;
  out?: string;
  json?: boolean;
}): Promise<CommandOutcome> {
  const parts = parseConnectionUrl(o.source, '--source-url');
  const file = path.resolve(o.cwd, o.out ?? path.join('catalog', `${parts.host}-${parts.port}.json`));
  const merged = await catalogServer(o.source, await readCatalog(file));
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${redact(JSON.stringify(merged, null, 2))}\n`);
  if (o.json) process.stdout.write(`${JSON.stringify(merged, null, 2)}\n`);
  else {
    const table = renderTable(
      [
        'database',
        'size',
        'tables',
        'rows (est.)',
        'no PK',
        'LOB cols',
        'large obj.',
        'partitioned',
        'extensions',
      ],
      merged.databases
        .filter((x) => x.present)
        .map((d) => [
          d.name,
          formatBytes(d.sizeBytes),
          formatCount(d.tableCount),
          formatCount(d.estimatedRows),
          d.tablesWithoutPrimaryKey.length,
          d.lobColumns.length,
          d.largeObjects,
          d.partitionedTables.length,
          d.extensions.map((e) => e.name).join(', '),
        ]),
      { alignRight: [1, 2, 3, 4, 5, 6, 7] },
    ).join('\n');
    process.stdout.write(
      `${merged.server.address} (PostgreSQL ${merged.server.postgresVersion})\n${table}\nCatalog written to ${file}: fill in applicationOwner, sla and migrationWave; a new run keeps them.\n`,
    );
  }
  return { exitCode: 0 };
}
