import net from 'node:net';
import type { Duplex } from 'node:stream';

/**
 * The socket reads of a node-postgres connection, for the COPY relay ({@link relayCopy}).
 *
 * A socket that allocates a new buffer for every read makes V8 account each one as external memory, and
 * past a few tens of MB of it V8 runs a full mark-compact: about 35 per GB relayed, most of the relay's
 * CPU. A socket from {@link pooledSocket} reads into buffers from a {@link ReadPool} instead (Node.js:
 * "net", `socket.connect(options)`, `onread`), and a buffer goes back to the pool only once what was read
 * into it has been copied for node-postgres or written to the target.
 */

/** Size of one read, in bytes (what libuv asks for on a TCP stream). */
const READ_BYTES = 64 * 1024;
/** Free buffers a pool keeps; more are left to the garbage collector. */
const MAX_FREE = 64;

/** Reusable read buffers of {@link READ_BYTES}. */
export class ReadPool {
  private readonly free: Buffer[] = [];

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(READ_BYTES);
  }

  give(buffer: Buffer): void {
    if (this.free.length < MAX_FREE) this.free.push(buffer);
  }
}

/**
 * Who reads a tapped socket: gets each read and the function that returns its buffer (call it once the
 * bytes are no longer needed); returns false to stop reading until {@link ReadTap.resume}.
 */
export type ReadConsumer = (chunk: Buffer, release: () => void) => boolean;

/** The reads of a connection's socket, taken from node-postgres for a while. */
export interface ReadTap {
  /** Reads from now on go to `consumer`. */
  take(consumer: ReadConsumer): void;
  /** Reads go to node-postgres again, `rest` (bytes of the last read it must parse) first. */
  giveBack(rest: Buffer): void;
  /** Reads again after the consumer stopped them. */
  resume(): void;
}

const TAP = Symbol('dmskit.readTap');

interface PooledSocket extends net.Socket {
  [TAP]?: { consumer: ReadConsumer | undefined };
  _read(n: number): void;
}

/**
 * A TCP or Unix socket for node-postgres (its `stream` option) that reads into `pool`'s buffers. While
 * no consumer has taken its reads, each read is copied and emitted as `data`, as a plain socket's.
 */
export function pooledSocket(pool: ReadPool): net.Socket {
  const state: { consumer: ReadConsumer | undefined } = { consumer: undefined };
  // `onread` is taken by the constructor too (net.js), though the types list it for connect() only.
  const options: net.SocketConstructorOpts & { onread: net.OnReadOpts } = {
    onread: {
      // Called for the first read and after each one: a buffer no read is using.
      buffer: () => pool.take(),
      callback: (nread: number, buffer: Uint8Array) => {
        const read = buffer as Buffer;
        const chunk = read.subarray(0, nread);
        let released = false;
        const release = () => {
          if (released) return;
          released = true;
          pool.give(read);
        };
        if (state.consumer) return state.consumer(chunk, release);
        socket.emit('data', Buffer.from(chunk));
        release();
        return true;
      },
    },
  };
  const socket = new net.Socket(options) as PooledSocket;
  socket[TAP] = state;
  return socket;
}

/**
 * The read tap of `stream`: a {@link pooledSocket}'s own, or for any other stream (a TLS socket) one that
 * swaps node-postgres' `data` listener out and back (its reads are not pooled).
 */
export function tapReads(stream: Duplex): ReadTap {
  const pooled = (stream as PooledSocket)[TAP];
  if (pooled) {
    return {
      take: (consumer) => {
        pooled.consumer = consumer;
      },
      giveBack: (rest) => {
        pooled.consumer = undefined;
        if (rest.length) stream.emit('data', Buffer.from(rest));
        (stream as PooledSocket)._read(0);
      },
      // Socket#_read starts reading again when it was stopped (Node.js: "Implementing a readable stream").
      resume: () => (stream as PooledSocket)._read(0),
    };
  }
  let pgHandler: ((chunk: Buffer) => void) | undefined;
  let onData: ((chunk: Buffer) => void) | undefined;
  const noop = () => undefined;
  return {
    take: (consumer) => {
      const listeners = stream.listeners('data') as ((chunk: Buffer) => void)[];
      pgHandler = listeners[listeners.length - 1];
      if (pgHandler) stream.removeListener('data', pgHandler);
      onData = (chunk) => {
        if (!consumer(chunk, noop)) stream.pause();
      };
      stream.on('data', onData);
    },
    giveBack: (rest) => {
      if (onData) stream.removeListener('data', onData);
      if (pgHandler) {
        stream.on('data', pgHandler);
        if (rest.length) pgHandler(rest);
      }
      stream.resume();
    },
    resume: () => stream.resume(),
  };
}

/**
 * node-postgres' `stream` option for a session whose reads are pooled: a {@link pooledSocket}, or a plain
 * socket when the session uses TLS (node-postgres wraps it; TLS reads are not pooled).
 */
export function pooledStream(pool: ReadPool): (config: { ssl?: unknown }) => net.Socket {
  return (config) => (config.ssl ? new net.Socket() : pooledSocket(pool));
}
