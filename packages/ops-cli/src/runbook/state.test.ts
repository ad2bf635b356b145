import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { UsageError } from '@dmskit/shared';
import { describe, expect, it, onTestFinished } from 'vitest';
import { type CutoverState, defaultStateFile, fileStateStore, memoryStateStore } from './state.js';

const state: CutoverState = {
  version: 2,
  migration: 'shop',
  engine: 'native',
  status: 'in-progress',
  startedAt: '2026-11-21T08:00:00.000Z',
  fence: { method: 'read-only', database: 'shop', since: '2026-11-21T08:00:00.050Z', prior: null },
  steps: { preconditions: { at: '2026-11-21T08:00:00.100Z', ms: 12, detail: 'ok' } },
};

describe('cutover state', () => {
  it('a file store saves atomically and loads what it saved', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dmskit-state-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const store = fileStateStore(path.join(dir, 'nested', 'state.json'));
    expect(await store.load()).toBeUndefined();
    await store.save(state);
    expect(await store.load()).toEqual(state);
    expect(JSON.parse(await readFile(path.join(dir, 'nested', 'state.json'), 'utf8')).fence).toEqual({
      method: 'read-only',
      database: 'shop',
      since: '2026-11-21T08:00:00.050Z',
      prior: null,
    });
  });

  it('refuses a file that is not a cutover state, naming it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dmskit-state-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'state.json');
    await writeFile(file, '{"hello": 1}');
    await expect(fileStateStore(file).load()).rejects.toThrowError(UsageError);
    await expect(fileStateStore(file).load()).rejects.toThrowError(/state\.json: not a dmskit cutover state/);
  });

  it('refuses a state written by another dmskit version, saying so', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'dmskit-state-'));
    onTestFinished(() => rm(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'state.json');
    await writeFile(file, JSON.stringify({ ...state, version: 1 }));
    await expect(fileStateStore(file).load()).rejects.toThrowError(/a cutover state of version 1/);
  });

  it('a memory store hands out copies', async () => {
    const store = memoryStateStore();
    await store.save(state);
    const a = await store.load();
    a!.status = 'ready';
    expect((await store.load())?.status).toBe('in-progress');
  });

  it('the default file is per migration and environment', () => {
    expect(defaultStateFile('/repo/.dmskit', 'shop', 'prod')).toBe('/repo/.dmskit/cutover-shop-prod.json');
    expect(defaultStateFile('/s', 'shop', 'prod', 'start')).toBe('/s/start-shop-prod.json');
  });
});
