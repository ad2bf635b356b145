import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type CatalogTable, type MigrationConfig, UsageError } from '@dmskit/shared';

/**
 * The source database's tables from the config's `task.sourceCatalogFile` (a `dmskit catalog --out`
 * file, resolved against the config's folder): what table mappings are checked against and shards are
 * planned from at synth.
 * @returns undefined when the config names no catalog
 * @throws UsageError naming the file when it cannot be read, is not a catalog, or lacks the source database
 */
export async function readSourceCatalog(
  config: Pick<MigrationConfig, 'task' | 'source'>,
  configFile: string,
): Promise<CatalogTable[] | undefined> {
  const name = config.task.sourceCatalogFile;
  if (!name) return undefined;
  const file = path.resolve(path.dirname(configFile), name);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(
      `task.sourceCatalogFile: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): write it with dmskit catalog --source <url> --out ${name}`,
    );
  }
  let catalog: { kind?: string; databases?: { name: string; tables?: CatalogTable[] }[] };
  try {
    catalog = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`task.sourceCatalogFile: ${file} is not valid JSON (${(error as Error).message})`);
  }
  if (catalog.kind !== 'dmskit-catalog' || !Array.isArray(catalog.databases))
    throw new UsageError(`task.sourceCatalogFile: ${file} is not a dmskit catalog (dmskit catalog --out)`);
  const db = catalog.databases.find((d) => d.name === config.source.database);
  if (!db?.tables)
    throw new UsageError(
      `task.sourceCatalogFile: ${file} has no database ${config.source.database} (source.database): run dmskit catalog against the source again`,
    );
  return db.tables;
}
