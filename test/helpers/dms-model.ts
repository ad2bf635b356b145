import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { userInfo } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * The AWS DMS service model as botocore publishes it (Debian's python3-botocore: service-2.json, with
 * enums, required members and ranges), installed with apt-get when missing. It dates from December
 * 2022: members added since (DMS Serverless, MapBooleanAsBoolean...) are recognised through the
 * structures of the SDK dmskit runs (@aws-sdk/client-database-migration-service's schemas), which name
 * members but carry no enums.
 */
const BOTOCORE =
  process.env.DMSKIT_BOTOCORE_DMS_MODEL ??
  '/usr/lib/python3/dist-packages/botocore/data/dms/2016-01-01/service-2.json';

interface Shape {
  type: string;
  members?: Record<string, { shape: string }>;
  required?: string[];
  member?: { shape: string };
  enum?: string[];
  min?: number;
  max?: number;
}
interface Model {
  operations: Record<string, { input?: { shape: string } }>;
  shapes: Record<string, Shape>;
}

function ensureBotocore(): void {
  if (existsSync(BOTOCORE)) return;
  if (userInfo().uid !== 0)
    throw new Error(`the DMS service model is missing (${BOTOCORE}): apt-get install python3-botocore`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'python3-botocore'], {
      env,
      stdio: 'ignore',
    });
  } catch {
    execFileSync('apt-get', ['update', '-q'], { env, stdio: 'ignore' });
    execFileSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'python3-botocore'], {
      env,
      stdio: 'ignore',
    });
  }
}

/** AWS's own waiter definitions for DMS (botocore waiters-2.json): per waiter, its acceptors. */
export function dmsWaiters(): Record<
  string,
  { acceptors: { expected: string; state: 'success' | 'failure' | 'retry' }[] }
> {
  ensureBotocore();
  return (
    JSON.parse(readFileSync(path.join(path.dirname(BOTOCORE), 'waiters-2.json'), 'utf8')) as {
      waiters: Record<string, { acceptors: { expected: string; state: 'success' | 'failure' | 'retry' }[] }>;
    }
  ).waiters;
}

/** Loads the model and the SDK's member lists; call once per test file. */
export async function loadDmsModel(): Promise<DmsModel> {
  ensureBotocore();
  const model = JSON.parse(readFileSync(BOTOCORE, 'utf8')) as Model;
  const require = createRequire(path.join(import.meta.dirname, '../../packages/ops-cli/package.json'));
  const sdkDir = path.dirname(require.resolve('@aws-sdk/client-database-migration-service/package.json'));
  const schemas = (await import(
    pathToFileURL(path.join(sdkDir, 'dist-es/schemas/schemas_0.js')).href
  )) as Record<string, unknown>;
  const sdkMembers = new Map<string, Set<string>>();
  for (const [key, value] of Object.entries(schemas)) {
    if (!key.endsWith('$') || !Array.isArray(value) || value[0] !== 3) continue;
    sdkMembers.set(String(value[2]), new Set(value[4] as string[]));
  }
  return new DmsModel(model, sdkMembers);
}

/** Checks values against the model: required members, unknown members, enums, number and length ranges. */
export class DmsModel {
  constructor(
    private readonly model: Model,
    private readonly sdkMembers: ReadonlyMap<string, ReadonlySet<string>>,
  ) {}

  /** The problems of an operation's input (`StartReplicationTask`, ...), one line each. */
  request(operation: string, input: unknown): string[] {
    const op = this.model.operations[operation];
    if (!op) {
      // Newer than the botocore model (DMS Serverless): the SDK's own structure names its members.
      const members = this.sdkMembers.get(`${operation}Message`);
      if (!members) return [`${operation}: not an operation of DMS`];
      return Object.keys((input ?? {}) as object)
        .filter((k) => !members.has(k))
        .map((k) => `${operation}.${k}: not a member of ${operation}Message`);
    }
    return op.input ? this.shape(op.input.shape, input, operation) : [];
  }

  /** The problems of a value of a named shape (`PostgreSQLSettings`, ...). */
  shape(name: string, value: unknown, at: string = name): string[] {
    const shape = this.model.shapes[name];
    if (!shape) return [];
    const out: string[] = [];
    if (value === undefined || value === null) return out;
    switch (shape.type) {
      case 'structure': {
        if (typeof value !== 'object' || Array.isArray(value)) return [`${at}: not a structure`];
        const record = value as Record<string, unknown>;
        for (const r of shape.required ?? []) if (record[r] === undefined) out.push(`${at}.${r}: required`);
        for (const [k, v] of Object.entries(record)) {
          const member = shape.members?.[k];
          if (member) out.push(...this.shape(member.shape, v, `${at}.${k}`));
          else if (!this.sdkMembers.get(name)?.has(k)) out.push(`${at}.${k}: not a member of ${name}`);
        }
        return out;
      }
      case 'list':
        if (!Array.isArray(value)) return [`${at}: not a list`];
        if (shape.min !== undefined && value.length < shape.min)
          out.push(`${at}: fewer than ${shape.min} items`);
        if (shape.max !== undefined && value.length > shape.max)
          out.push(`${at}: more than ${shape.max} items`);
        value.forEach((v, i) => out.push(...this.shape(shape.member!.shape, v, `${at}[${i}]`)));
        return out;
      case 'string':
        if (typeof value !== 'string') return [`${at}: not a string`];
        if (shape.enum && !shape.enum.includes(value))
          out.push(`${at}: '${value}' is not one of ${shape.enum.map((e) => `'${e}'`).join(', ')}`);
        if (shape.min !== undefined && value.length < shape.min) out.push(`${at}: shorter than ${shape.min}`);
        if (shape.max !== undefined && value.length > shape.max) out.push(`${at}: longer than ${shape.max}`);
        return out;
      case 'integer':
      case 'long':
        if (!Number.isInteger(value)) return [`${at}: not an integer`];
        if (shape.min !== undefined && (value as number) < shape.min) out.push(`${at}: below ${shape.min}`);
        if (shape.max !== undefined && (value as number) > shape.max) out.push(`${at}: above ${shape.max}`);
        return out;
      case 'boolean':
        return typeof value === 'boolean' ? [] : [`${at}: not a boolean`];
      default:
        return out;
    }
  }
}
