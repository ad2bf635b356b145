import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { RawCopyOut } from './raw-copy.js';

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

async function relay(wire: Buffer, size: number): Promise<{ out: Buffer; handed: Buffer }> {
  const stream = new PassThrough();
  const handed: Buffer[] = [];
  const pgHandler = (chunk: Buffer) => handed.push(chunk);
  stream.on('data', pgHandler);
  const copy = new RawCopyOut('COPY t TO STDOUT');
  const connection = {
    stream,
    query: () => {
      for (let i = 0; i < wire.length; i += size) stream.write(wire.subarray(i, i + size));
    },
  };
  copy.submit(connection as never);
  const out: Buffer[] = [];
  copy.on('data', (b: Buffer) => out.push(b));
  // node-postgres would call this on the CommandComplete it parses from what was handed back.
  await new Promise((r) => setTimeout(r, 5));
  copy.handleCommandComplete();
  await new Promise((r) => copy.on('end', r));
  return { out: Buffer.concat(out), handed: Buffer.concat(handed) };
}

describe('RawCopyOut: CopyData messages forwarded unchanged, the rest left to node-postgres', () => {
  const rows = [Buffer.from('1\tone\n'), Buffer.alloc(70_000, 7), Buffer.from('3\tthree\n')];
  const { wire, data, tail } = exchange(rows);

  for (const size of [1, 2, 3, 4, 5, 6, 7, 11, 64, 1000, 65_536, wire.length]) {
    it(`socket reads of ${size} bytes`, async () => {
      const { out, handed } = await relay(wire, size);
      expect(out.equals(data)).toBe(true);
      expect(handed.equals(tail)).toBe(true);
    });
  }

  it('counts the payload bytes without the headers', async () => {
    const stream = new PassThrough();
    stream.on('data', () => undefined);
    const copy = new RawCopyOut('COPY t TO STDOUT');
    copy.submit({ stream, query: () => stream.write(wire) } as never);
    copy.resume();
    await new Promise((r) => setTimeout(r, 5));
    expect(copy.payloadBytes).toBe(rows.reduce((n, r) => n + r.length, 0));
  });
});
