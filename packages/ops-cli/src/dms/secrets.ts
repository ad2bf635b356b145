import { PutSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type MigrationConfig, resourceName } from '@dmskit/shared';

/**
 * The value of a DMS endpoint secret (DMS: "Using secrets to access AWS Database Migration Service
 * endpoints"): the connection the endpoint opens, as JSON with `username`, `password`, `host`, `port`
 * and, for PostgreSQL, `dbname` and `engine`.
 */
export interface EndpointSecret {
  readonly username: string;
  readonly password: string;
  readonly host: string;
  readonly port: number;
  readonly dbname: string;
  readonly engine: 'postgres';
}

/** The names the stack gives the endpoint secrets (`dmskit/<name>-<environment>/source`, `/target`). */
export function endpointSecretIds(config: Pick<MigrationConfig, 'name' | 'environment'>): {
  source: string;
  target: string;
} {
  const name = resourceName(config);
  return { source: `dmskit/${name}/source`, target: `dmskit/${name}/target` };
}

/**
 * Writes an endpoint secret's value (Secrets Manager: PutSecretValue, a new current version). The
 * password travels only in the request, over TLS to Secrets Manager: never in Terraform state, an
 * argument or output.
 * @returns the version id Secrets Manager gave the value
 */
export async function putEndpointSecret(
  client: SecretsManagerClient,
  secretId: string,
  value: EndpointSecret,
): Promise<string> {
  const out = await client.send(
    new PutSecretValueCommand({ SecretId: secretId, SecretString: JSON.stringify(value) }),
  );
  return out.VersionId ?? '';
}
