import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { pooledSocket, ReadPool, tapReads } from './socket-reads.js';

/** A loopback server that sends `payload` to each connection and closes it. */
async function sender(payload: Buffer): Promise<{ port: number; close: () => void }> {
  const server = net.createServer((c) => c.end(payload));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

describe('pooledSocket: reads into reused buffers, never one still in use', () => {
  const payload = randomBytes(3 * 1024 * 1024);

  it('emits `data` like a plain socket while nothing has taken its reads', async () => {
    const server = await sender(payload);
    try {
      const socket = pooledSocket(new ReadPool());
      const got: Buffer[] = [];
      socket.on('data', (b: Buffer) => got.push(b));
      await new Promise<void>((resolve) => {
        socket.on('end', resolve);
        socket.connect(server.port, '127.0.0.1');
      });
      expect(Buffer.concat(got).equals(payload)).toBe(true);
    } finally {
      server.close();
    }
  });

  it('a consumer that holds reads and releases them late sees every byte intact; paused, it resumes', async () => {
    const server = await sender(payload);
    try {
      const pool = new ReadPool();
      const socket = pooledSocket(pool);
      const tap = tapReads(socket);
      const held: { chunk: Buffer; copy: Buffer; release: () => void }[] = [];
      const checked: Buffer[] = [];
      let reads = 0;
      const releaseOldest = () => {
        const h = held.shift();
        if (!h) return;
        // Still what was read into it: no later read reused the buffer.
        expect(h.chunk.equals(h.copy)).toBe(true);
        checked.push(h.copy);
        h.release();
      };
      tap.take((chunk, release) => {
        held.push({ chunk, copy: Buffer.from(chunk), release });
        reads++;
        // Every third read pauses the socket until the held reads are released, a tick later.
        if (reads % 3 === 0) {
          setImmediate(() => {
            while (held.length) releaseOldest();
            tap.resume();
          });
          return false;
        }
        if (held.length > 4) releaseOldest();
        return true;
      });
      await new Promise<void>((resolve) => {
        socket.on('end', resolve);
        socket.connect(server.port, '127.0.0.1');
      });
      while (held.length) releaseOldest();
      expect(Buffer.concat(checked).equals(payload)).toBe(true);
      expect(reads).toBeGreaterThan(3);
    } finally {
      server.close();
    }
  });

  it('gives the reads back: the rest of a read first, then the following reads as `data`', async () => {
    const server = await sender(payload);
    try {
      const socket = pooledSocket(new ReadPool());
      const tap = tapReads(socket);
      const got: Buffer[] = [];
      socket.on('data', (b: Buffer) => got.push(b));
      let taken = Buffer.alloc(0);
      tap.take((chunk, release) => {
        // The first 1000 bytes of the first read are the consumer's; the rest goes back.
        taken = Buffer.from(chunk.subarray(0, 1000));
        tap.giveBack(chunk.subarray(1000));
        release();
        return true;
      });
      await new Promise<void>((resolve) => {
        socket.on('end', resolve);
        socket.connect(server.port, '127.0.0.1');
      });
      expect(Buffer.concat([taken, ...got]).equals(payload)).toBe(true);
    } finally {
      server.close();
    }
  });
});
