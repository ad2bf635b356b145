import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ExternalError, registerSecret, UsageError } from '@dmskit/shared';
import { passfilePassword } from '@dmskit/validation';
import { type EndpointSecret, endpointSecretIds, putEndpointSecret } from '../dms/secrets.js';
import type { CommandOutcome } from '../outcome.js';
import { parseConnectionUrl } from '../pg/url.js';
import { loadConfigOption } from './config.js';

export interface SecretsOptions {
  readonly cwd: string;
  readonly config: string;
  /** The DMS user on Aurora: `postgres://user@<writer endpoint>:5432/db`, password from the environment. */
  readonly targetUrl?: string;
  readonly dryRun?: boolean;
}

/** A URL's password as libpq finds it: in the URL, else PGPASSWORD, else the passfile. */
async function urlPassword(url: URL): Promise<string> {
  if (url.password) return decodeURIComponent(url.password);
  if (process.env.PGPASSWORD) return process.env.PGPASSWORD;
  return (
    (await passfilePassword({
      host: url.hostname,
      port: url.port || '5432',
      database: decodeURIComponent(url.pathname.slice(1)),
      user: decodeURIComponent(url.username),
    })) ?? ''
  );
}

/**
 * `dmskit secrets`: writes the endpoint secrets the stack created empty. The source's from the config
 * (host, port, user, database) and its password variable (`source.password.variable`); the target's,
 * with `--target-url`, from that URL and the password libpq would use for it (PGPASSWORD or the
 * passfile, so that it is never an argument). Prints what it wrote, never a password.
 */
export async function secrets(o: SecretsOptions): Promise<CommandOutcome> {
  const { config } = await loadConfigOption(o.config, o.cwd);
  const ids = endpointSecretIds(config);
  const writes: { id: string; value: EndpointSecret }[] = [];
  const pw = config.source.password;
  if (pw.from === 'env') {
    const password = process.env[pw.variable];
    if (!password) throw new UsageError(`source password: set ${pw.variable} (source.password.variable)`);
    registerSecret(password);
    const s = config.source;
    writes.push({
      id: ids.source,
      value: {
        username: s.user,
        password,
        host: s.host,
        port: s.port,
        dbname: s.database,
        engine: 'postgres',
      },
    });
  } else {
    process.stderr.write(
      `source endpoint: uses the existing secret ${pw.secretArn} (source.password), left as it is\n`,
    );
  }
  if (o.targetUrl) {
    parseConnectionUrl(o.targetUrl, '--target-url');
    const u = new URL(o.targetUrl);
    const password = await urlPassword(u);
    if (!password)
      throw new UsageError(
        '--target-url: no password for it: set PGPASSWORD or a passfile entry (never in the URL on the command line)',
      );
    registerSecret(password);
    writes.push({
      id: ids.target,
      value: {
        username: decodeURIComponent(u.username),
        password,
        host: u.hostname,
        port: Number(u.port || 5432),
        dbname:
          decodeURIComponent(u.pathname.slice(1)) || config.target.databaseName || config.source.database,
        engine: 'postgres',
      },
    });
  } else {
    process.stderr.write(
      'target endpoint: pass --target-url postgres://<dms user>@<aurora writer endpoint>:5432/<db> to write it\n',
    );
  }
  const client = o.dryRun
    ? undefined
    : new SecretsManagerClient({ region: config.aws.region, maxAttempts: 5 });
  for (const w of writes) {
    const { password: _password, ...shown } = w.value;
    const what = `${w.id}: ${JSON.stringify({ ...shown, password: '***' })}`;
    if (!client) {
      process.stdout.write(`would write ${what}\n`);
      continue;
    }
    try {
      await putEndpointSecret(client, w.id, w.value);
    } catch (error) {
      throw new ExternalError(
        `writing ${w.id} failed: ${(error as Error).message} (deploy the stack first; the caller needs secretsmanager:PutSecretValue and the key)`,
      );
    }
    process.stdout.write(`wrote ${what}\n`);
  }
  return { exitCode: 0 };
}
