import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalServer, startEmbeddedServer } from '../servers/embedded.js';
import { CopyDataScanner, relayCopy } from './raw-copy.js';
import { pooledStream, ReadPool } from './socket-reads.js';

function message(code: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(code, 0, 'latin1');
  head.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

/** A COPY TO exchange as the server sends it: CopyOutResponse, rows, a notice among them, CopyDone, CommandComplete, ReadyForQuery. */
function exchange(rows: Buffer[]): { wire: Buffer; data: Buffer; tail: Buffer } {
  const data = Buffer.concat(rows.map((r) => message('d', r)));
  const tail = Buffer.concat([
    message('c', Buffer.alloc(0)),
    message('C', Buffer.from('COPY 3\0')),
    message('Z', Buffer.from('I')),
  ]);
  const wire = Buffer.concat([
    message('H', Buffer.from([0, 0, 1, 0, 0])),
    data.subarray(0, 5 + (rows[0]?.length ?? 0)),
    message('N', Buffer.from('Snotice\0\0')),
    data.subarray(5 + (rows[0]?.length ?? 0)),
    tail,
  ]);
  return { wire, data, tail };
}

/** Feeds `wire` to a scanner in reads of `size` bytes: what it emits, and what it leaves to node-postgres. */
function scan(wire: Buffer, size: number): { out: Buffer; handed: Buffer; payload: number } {
  const emitted: Buffer[] = [];
  const scanner = new CopyDataScanner((slice) => emitted.push(Buffer.from(slice)));
  let handed = Buffer.alloc(0);
  for (let i = 0; i < wire.length; i += size) {
    const chunk = wire.subarray(i, i + size);
    const { end, header } = scanner.feed(chunk);
    if (end >= 0) {
      handed = Buffer.concat([header ?? Buffer.alloc(0), chunk.subarray(end), wire.subarray(i + size)]);
      break;
    }
  }
  return { out: Buffer.concat(emitted), handed, payload: scanner.payloadBytes };
}

describe('CopyDataScanner: CopyData messages forwarded unchanged, the rest left to node-postgres', () => {
  const rows = [Buffer.from('1\tone\n'), Buffer.alloc(70_000, 7), Buffer.from('3\tthree\n')];
  const { wire, data, tail } = exchange(rows);

  for (const size of [1, 2, 3, 4, 5, 6, 7, 11, 64, 1000, 65_536, wire.length]) {
    it(`socket reads of ${size} bytes`, () => {
      const { out, handed, payload } = scan(wire, size);
      expect(out.equals(data)).toBe(true);
      expect(handed.equals(tail)).toBe(true);
      expect(payload).toBe(rows.reduce((n, r) => n + r.length, 0));
    });
  }

  it('stops at an ErrorResponse and leaves it to node-postgres', () => {
    const error = message('E', Buffer.from('SERROR\0Mboom\0\0'));
    const wireWithError = Buffer.concat([wire.subarray(0, wire.length - tail.length), error]);
    for (const size of [3, 5, 4096]) {
      const { handed } = scan(wireWithError, size);
      expect(handed.equals(error)).toBe(true);
    }
  });
});

describe('relayCopy between two servers', () => {
  let source: LocalServer;
  let target: LocalServer;
  let certDir = '';
  const open = async (url: string, pooled = false, tls = false) => {
    const c = new pg.Client({
      connectionString: url,
      ...((pooled ? { stream: pooledStream(new ReadPool()) } : {}) as pg.ClientConfig),
      ...(tls ? { ssl: { rejectUnauthorized: false } } : {}),
    });
    c.on('error', () => undefined);
    await c.connect();
    return c;
  };
  const digest = async (url: string, sql: string) => {
    const c = await open(url);
    try {
      const { rows } = await c.query(sql);
      return createHash('sha256').update(JSON.stringify(rows)).digest('hex');
    } finally {
      await c.end();
    }
  };
  const TABLE = 'CREATE TABLE t (id int PRIMARY KEY, label text NOT NULL, doc jsonb, blob bytea)';

  beforeAll(async () => {
    [source, target] = await Promise.all([
      startEmbeddedServer({ name: 'relay-source', logical: false }),
      startEmbeddedServer({ name: 'relay-target', logical: false }),
    ]);
    const s = await open(source.url);
    await s.query(`${TABLE};
      INSERT INTO t SELECT g, md5(g::text) || repeat('x', g % 50), jsonb_build_object('g', g), decode(md5(g::text), 'hex')
        FROM generate_series(1, 200000) g;
      INSERT INTO t VALUES (0, 'big', NULL, decode(repeat('ab', 6 * 1024 * 1024), 'hex'))`);
    await s.end();
    const t = await open(target.url);
    await t.query(`${TABLE}; CREATE TABLE u (id int, label text NOT NULL, doc jsonb, blob bytea)`);
    await t.end();
    // TLS on both servers (a self-signed certificate, owned by the user the servers run as).
    certDir = await mkdtemp(path.join(tmpdir(), 'dmskit-relay-tls-'));
    const [crt, key] = [path.join(certDir, 'server.crt'), path.join(certDir, 'server.key')];
    await promisify(execFile)('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-keyout',
      key,
      '-out',
      crt,
    ]);
    for (const server of [source, target]) {
      const c = await open(server.url);
      const pid = (await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
      const uid = Number(/^Uid:\s+(\d+)/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1]);
      await Promise.all([chown(certDir, uid, -1), chown(crt, uid, -1), chown(key, uid, -1)]);
      await c.query(`ALTER SYSTEM SET ssl_cert_file = '${crt}'`);
      await c.query(`ALTER SYSTEM SET ssl_key_file = '${key}'`);
      await c.query('ALTER SYSTEM SET ssl = on');
      await c.query('SELECT pg_reload_conf()');
      await c.end();
    }
  }, 120_000);

  afterAll(async () => {
    await Promise.all([source?.stop(), target?.stop()]);
    if (certDir) await rm(certDir, { recursive: true, force: true });
  });

  it('copies every row exactly over TLS on both sides', async () => {
    const s = await open(source.url, true, true);
    const t = await open(target.url, false, true);
    try {
      const encrypted = 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()';
      expect((await s.query(encrypted)).rows[0]).toEqual({ ssl: true });
      expect((await t.query(encrypted)).rows[0]).toEqual({ ssl: true });
      await t.query('BEGIN');
      await t.query('TRUNCATE t');
      const r = await relayCopy(
        s,
        t,
        'COPY t TO STDOUT (FORMAT binary)',
        'COPY t FROM STDIN (FORMAT binary)',
      );
      await t.query('COMMIT');
      expect(r.rows).toBe(200_001);
      expect((await s.query('SELECT count(*)::int AS n FROM t')).rows[0]).toEqual({ n: 200_001 });
    } finally {
      await Promise.all([s.end(), t.end()]);
    }
    expect(await digest(target.url, ALL)).toBe(await digest(source.url, ALL));
  }, 60_000);

  const ALL = 'SELECT id, label, doc::text, md5(blob) FROM t ORDER BY id';

  for (const [format, pooled] of [
    ['binary', true],
    ['text', true],
    // A TLS session's reads are not pooled: node-postgres' listener is swapped out and back instead.
    ['binary', false],
  ] as const) {
    it(`copies every row exactly (${format}, ${pooled ? 'pooled reads' : 'plain socket'}), a 6 MB bytea included; the source session stays usable`, async () => {
      const s = await open(source.url, pooled);
      const t = await open(target.url);
      try {
        await t.query('BEGIN');
        await t.query('TRUNCATE t');
        const opts = format === 'binary' ? ' (FORMAT binary)' : '';
        let reported = 0;
        const r = await relayCopy(s, t, `COPY t TO STDOUT${opts}`, `COPY t FROM STDIN${opts}`, (b) => {
          reported = b;
        });
        await t.query('COMMIT');
        expect(r.rows).toBe(200_001);
        expect(r.bytes).toBeGreaterThan(12 * 1024 * 1024);
        expect(reported).toBe(r.bytes);
        // The pooled session parses ordinary results again, twice in a row.
        expect((await s.query('SELECT count(*)::int AS n FROM t')).rows[0]).toEqual({ n: 200_001 });
        expect((await s.query("SELECT repeat('y', 200000) AS y")).rows[0].y).toHaveLength(200_000);
      } finally {
        await Promise.all([s.end(), t.end()]);
      }
      expect(await digest(target.url, ALL)).toBe(await digest(source.url, ALL));
    }, 60_000);
  }

  const ENDLESS =
    "COPY (SELECT g, repeat('z', 200), NULL::jsonb, NULL::bytea FROM generate_series(1, 20000000) g) TO STDOUT";
  const rowsOf = async (url: string, table: string) => {
    const c = await open(url);
    try {
      return (await c.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n as number;
    } finally {
      await c.end();
    }
  };
  /** Relays ENDLESS into u, ending the session `victim` picks once bytes flow; the relay's error. */
  const relayKilling = async (victim: 'source' | 'target'): Promise<Error> => {
    const s = await open(source.url, true);
    const t = await open(target.url);
    const admin = await open(victim === 'source' ? source.url : target.url);
    try {
      await t.query('BEGIN');
      let killing: Promise<unknown> | undefined;
      const pid = (c: pg.Client) => (c as unknown as { processID: number }).processID;
      const error = await relayCopy(s, t, ENDLESS, 'COPY u FROM STDIN', (bytes) => {
        if (bytes > 0 && !killing)
          killing = admin.query('SELECT pg_terminate_backend($1)', [pid(victim === 'source' ? s : t)]);
      }).then(
        () => new Error('the relay succeeded'),
        (e: Error) => e,
      );
      expect(killing).toBeDefined();
      // The relay may fail before the admin session hears back: its answer is awaited before it ends.
      await killing;
      return error;
    } finally {
      // What the caller does after a failure: both sessions ended.
      await Promise.all([s.end().catch(() => undefined), t.end().catch(() => undefined), admin.end()]);
    }
  };

  it("a source session ended mid-copy fails the relay with the source's error; the target takes no row", async () => {
    const error = await relayKilling('source');
    expect(error.message).toMatch(/terminat/);
    expect(await rowsOf(target.url, 'u')).toBe(0);
  }, 60_000);

  it('a target session ended mid-copy fails the relay (no hang); the target takes no row', async () => {
    const error = await relayKilling('target');
    expect(error.message).toMatch(/terminat/);
    expect(await rowsOf(target.url, 'u')).toBe(0);
  }, 60_000);

  it("a row the target refuses fails the relay with the target's error, and the sessions stay usable", async () => {
    const s = await open(source.url, true);
    const t = await open(target.url);
    try {
      await t.query('BEGIN');
      await expect(
        relayCopy(
          s,
          t,
          'COPY (SELECT 1, NULL::text, NULL::jsonb, NULL::bytea) TO STDOUT',
          'COPY u FROM STDIN',
        ),
      ).rejects.toThrow(/null value in column "label"/);
      await t.query('ROLLBACK');
      // The source's COPY had ended before the target's error: its session is free again.
      expect((await s.query('SELECT 1 AS one')).rows[0]).toEqual({ one: 1 });
    } finally {
      await Promise.all([s.end(), t.end()]);
    }
    expect(await rowsOf(target.url, 'u')).toBe(0);
  }, 60_000);
});
