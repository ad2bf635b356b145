#!/usr/bin/env node
import { DmskitError, redact } from '@dmskit/shared';
import { main } from './cli.js';
import { isConnectionLost } from './pg/reconnect.js';
import { exitProcess, guardOutput } from './ui/hangup.js';

/**
 * The `dmskit` entry point: the only place that prints an error and calls `process.exit`. A usage or
 * external error prints one line; anything else is a dmskit bug and prints its stack.
 */
/**
 * A server that went away or refused (a connection lost, a server restarted, an SQL error from a
 * remote server) is an external failure, not a dmskit bug: one line, exit 2.
 */
function serverFailure(error: unknown): string | undefined {
  const e = error as { message?: string; code?: string; severity?: string } | undefined;
  if (!e?.message) return undefined;
  if (e.severity && e.code) return `the server said: ${e.message} (SQLSTATE ${e.code})`;
  if (isConnectionLost(e)) return `lost the connection to a server: ${e.message}`;
  return undefined;
}

// The AWS SDK warns that its releases after January 2027 will need Node 22; dmskit pins its SDK and
// supports Node 20, so the seven-line warning before every message says nothing to its users.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

guardOutput();
try {
  exitProcess(await main(process.argv.slice(2)));
} catch (error) {
  const external = serverFailure(error);
  if (error instanceof DmskitError && error.kind !== 'internal') {
    process.stderr.write(`dmskit: ${redact(error.message)}\n`);
  } else if (external && !(error instanceof DmskitError)) {
    process.stderr.write(`dmskit: ${redact(external)}\n`);
    exitProcess(2);
  } else {
    process.stderr.write(`dmskit: internal error: ${redact((error as Error)?.stack ?? String(error))}\n`);
  }
  exitProcess(error instanceof DmskitError ? error.exitCode : 3);
}
