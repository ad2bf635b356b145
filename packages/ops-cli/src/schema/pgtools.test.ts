import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findPgTool } from './pgtools.js';

/** A shell script that answers `--version` like pg_dump of `version`, and notes each run in `log`. */
const fakeProgram = (version: string, log: string) =>
  `#!/bin/sh\necho "$0" >> '${log}'\necho "pg_dump (PostgreSQL) ${version}"\n`;

describe('findPgTool', () => {
  let dir: string;
  let log: string;
  const saved = { path: process.env.PATH, bin: process.env.DMSKIT_PG_BIN };

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'dmskit-pgtools-'));
    log = path.join(dir, 'runs.log');
    await writeFile(log, '');
  });
  afterEach(async () => {
    process.env.PATH = saved.path;
    if (saved.bin === undefined) delete process.env.DMSKIT_PG_BIN;
    else process.env.DMSKIT_PG_BIN = saved.bin;
    await rm(dir, { recursive: true, force: true });
  });

  async function program(folder: string, version: string, name = 'pg_dump'): Promise<string> {
    await mkdir(folder, { recursive: true });
    const file = path.join(folder, name);
    await writeFile(file, fakeProgram(version, log));
    await chmod(file, 0o755);
    return file;
  }

  it('takes the program itself over a launcher of the same version, and never runs the launcher', async () => {
    const real = await program(path.join(dir, 'lib/98/bin'), '98.1');
    // A launcher, as Debian's /usr/bin/pg_dump -> pg_wrapper: a file of another name, linked as pg_dump.
    const launcher = await program(path.join(dir, 'share'), '98.1', 'pg_wrapper');
    await mkdir(path.join(dir, 'bin'));
    await symlink(launcher, path.join(dir, 'bin/pg_dump'));
    process.env.PATH = [path.join(dir, 'bin'), path.join(dir, 'lib/98/bin'), saved.path].join(':');
    delete process.env.DMSKIT_PG_BIN;

    const tool = await findPgTool('pg_dump', 98);
    expect(tool).toEqual({ path: real, major: 98, version: '98.1' });
    const runs = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
    expect(runs).toEqual([real]);
  });

  it('asks a file reached through two folders once, and falls back to a launcher when nothing else fits', async () => {
    const launcher = await program(path.join(dir, 'share'), '97.2', 'pg_wrapper');
    await mkdir(path.join(dir, 'usr/bin'), { recursive: true });
    await symlink(launcher, path.join(dir, 'usr/bin/pg_dump'));
    await symlink(path.join(dir, 'usr/bin'), path.join(dir, 'bin')); // merged /usr: /bin -> usr/bin
    process.env.PATH = [path.join(dir, 'usr/bin'), path.join(dir, 'bin'), saved.path].join(':');
    delete process.env.DMSKIT_PG_BIN;

    const tool = await findPgTool('pg_dump', 97);
    expect(tool).toEqual({ path: path.join(dir, 'usr/bin/pg_dump'), major: 97, version: '97.2' });
    const runs = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
    expect(runs).toHaveLength(1);
  });

  it('names every version it found when none is new enough', async () => {
    const old = await program(path.join(dir, 'old'), '9.6');
    process.env.DMSKIT_PG_BIN = path.join(dir, 'old');
    await expect(findPgTool('pg_dump', 99)).rejects.toThrow(
      new RegExp(`^pg_dump is too old for the server \\(PostgreSQL 99\\): found .*${old} \\(9\\.6\\)`),
    );
  });
});
