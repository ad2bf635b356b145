#!/usr/bin/env node
import { DmskitError, redact } from '@dmskit/shared';
import { main } from './cli.js';

/**
 * The `dmskit` entry point: the only place that prints an error and calls `process.exit`. A usage or
 * external error prints one line; anything else is a dmskit bug and prints its stack.
 */
try {
  process.exit(await main(process.argv.slice(2)));
} catch (error) {
  if (error instanceof DmskitError && error.kind !== 'internal') {
    process.stderr.write(`dmskit: ${redact(error.message)}\n`);
  } else {
    process.stderr.write(`dmskit: internal error: ${redact((error as Error)?.stack ?? String(error))}\n`);
  }
  process.exit(error instanceof DmskitError ? error.exitCode : 3);
}
