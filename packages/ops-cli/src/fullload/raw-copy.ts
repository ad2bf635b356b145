import type { Duplex } from 'node:stream';
import type pg from 'pg';
import { type ReadTap, tapReads } from './socket-reads.js';

/**
 * Byte-level COPY relay between two node-postgres sessions. The source's `COPY ... TO STDOUT` arrives as
 * CopyData messages (`d`, Int32 length, data), and the target's `COPY ... FROM STDIN` takes CopyData
 * messages in exactly that framing (PostgreSQL: "Message Formats", "COPY Operations"; COPY FROM ignores
 * message boundaries). So the relay writes the source's CopyData messages to the target's socket
 * unchanged, as slices of the source socket's own reads: no per-row allocation, no re-framing, no stream
 * in between. Only the headers are read, to find where the copy ends; any other message (CopyOutResponse,
 * a notice, CopyDone, an error) is left to node-postgres.
 */

const COPY_DATA = 0x64; // 'd'
const COPY_DONE = 0x63; // 'c'
const ERROR = 0x45; // 'E'
/** CopyDone: 'c', length 4. */
const COPY_DONE_MESSAGE = Buffer.from([COPY_DONE, 0, 0, 0, 4]);
/** Bytes the target's socket may hold unsent before the source is paused (bounds memory per relay). */
const SINK_LIMIT = 1024 * 1024;

/** node-postgres' connection, with the CopyFail it sends (not in its types). */
type PgConnection = pg.Connection & { sendCopyFail?(message: string): void };

/**
 * Finds the CopyData messages in the bytes of a `COPY ... TO STDOUT` as they come off the socket, in
 * reads of any size (a header may be split across reads). `feed` passes each run of whole or partial
 * CopyData messages, headers included, to `emit` as slices of the chunk, skips other messages (the
 * CopyOutResponse, notices), and stops at the CopyDone or an ErrorResponse.
 */
export class CopyDataScanner {
  /** CopyData payload bytes seen, without the 5-byte headers. */
  payloadBytes = 0;
  /** Bytes of the current message still to come (its header read already). */
  private left = 0;
  /** Whether the current message is CopyData (forwarded). */
  private forwarding = false;
  /** A header split across reads. */
  private header: Buffer = Buffer.alloc(0);

  constructor(private readonly emit: (slice: Buffer) => void) {}

  /** Whether everything emitted so far ends with a whole message (what a CopyFail may follow). */
  get atMessageBoundary(): boolean {
    return this.left === 0 || !this.forwarding;
  }

  /**
   * Scans `chunk`. @returns -1 when the copy's data goes on; else where the data ended: the bytes from
   * there on (with `header`, a partial header taken from earlier reads, in front) belong to node-postgres
   */
  feed(chunk: Buffer): { end: number; header?: Buffer } {
    let i = 0;
    let runStart = -1;
    const flushRun = (end: number) => {
      if (runStart >= 0 && end > runStart) this.emit(chunk.subarray(runStart, end));
      runStart = -1;
    };
    while (i < chunk.length) {
      if (this.left > 0) {
        const n = Math.min(this.left, chunk.length - i);
        if (this.forwarding) {
          if (runStart < 0) runStart = i;
          this.payloadBytes += n;
        }
        this.left -= n;
        i += n;
        continue;
      }
      // A new message: its 5-byte header, possibly split across reads.
      if (this.header.length > 0 || chunk.length - i < 5) {
        const take = Math.min(5 - this.header.length, chunk.length - i);
        flushRun(i);
        this.header = Buffer.concat([this.header, chunk.subarray(i, i + take)]);
        i += take;
        if (this.header.length < 5) break;
        const header = this.header;
        this.header = Buffer.alloc(0);
        const code = header[0] as number;
        if (code === COPY_DONE || code === ERROR) return { end: i, header };
        this.left = header.readUInt32BE(1) - 4;
        this.forwarding = code === COPY_DATA;
        if (this.forwarding) this.emit(header);
        continue;
      }
      const code = chunk[i] as number;
      if (code !== COPY_DATA) {
        flushRun(i);
        if (code === COPY_DONE || code === ERROR) return { end: i };
        // CopyOutResponse, a notice, a parameter change: not data, skipped (node-postgres has no use for
        // it in the middle of a COPY; pg-copy-streams skips them the same way).
        this.left = chunk.readUInt32BE(i + 1) - 4;
        this.forwarding = false;
        i += 5;
        continue;
      }
      if (runStart < 0) runStart = i;
      this.left = chunk.readUInt32BE(i + 1) - 4;
      this.forwarding = true;
      i += 5;
    }
    flushRun(i);
    return { end: -1 };
  }
}

/** A promise with its settle functions, and a no-op catch so that an early rejection is never unhandled. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/**
 * The target's `COPY ... FROM STDIN` as a node-postgres submittable: `ready` gives the connection once
 * the server's CopyInResponse arrives, `done` the rows of its `COPY n`.
 */
class CopyIn implements pg.Submittable {
  readonly ready = deferred<PgConnection>();
  readonly done = deferred<number>();
  private rows = 0;
  private failed = false;

  constructor(private readonly text: string) {}

  submit(connection: PgConnection): void {
    connection.query(this.text);
  }

  handleCopyInResponse(connection: PgConnection): void {
    this.ready.resolve(connection);
  }

  handleCommandComplete(msg: { text?: string }): void {
    this.rows = Number(/^COPY (\d+)/.exec(msg.text ?? '')?.[1] ?? 0);
  }

  handleReadyForQuery(): void {
    if (!this.failed) this.done.resolve(this.rows);
  }

  handleError(error: Error): void {
    this.failed = true;
    this.ready.reject(error);
    this.done.reject(error);
  }

  // node-postgres calls these for other queries' messages; a COPY FROM gets none of them.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
}

/**
 * The source's `COPY ... TO STDOUT` as a node-postgres submittable that takes the socket's reads from
 * node-postgres while the copy's data flows ({@link tapReads}), writes its CopyData to `sink`, and stops
 * reading while the sink holds more than {@link SINK_LIMIT} bytes unsent. A read's buffer is released
 * once the last write of its bytes is done.
 */
class CopyOutRelay implements pg.Submittable {
  readonly done = deferred<void>();
  readonly scanner: CopyDataScanner;
  private tap: ReadTap | undefined;
  private failed = false;
  /** Slices of the current read to write. */
  private readonly slices: Buffer[] = [];
  private readonly onDrain = () => this.tap?.resume();

  constructor(
    private readonly text: string,
    private readonly sink: Duplex,
  ) {
    this.scanner = new CopyDataScanner((slice) => this.slices.push(slice));
  }

  submit(connection: pg.Connection): void {
    this.tap = tapReads(connection.stream);
    this.tap.take((chunk, release) => this.data(chunk, release));
    connection.query(this.text);
  }

  private data(chunk: Buffer, release: () => void): boolean {
    const { end, header } = this.scanner.feed(chunk);
    this.write(release);
    if (end >= 0) {
      // The copy's data ended: node-postgres reads the rest (CopyDone, CommandComplete, or the error).
      const tap = this.tap as ReadTap;
      this.tap = undefined;
      this.sink.removeListener('drain', this.onDrain);
      tap.giveBack(header ? Buffer.concat([header, chunk.subarray(end)]) : chunk.subarray(end));
      return true;
    }
    if (this.sink.writableLength <= SINK_LIMIT) return true;
    this.sink.once('drain', this.onDrain);
    return false;
  }

  /** Writes the current read's slices; the read's buffer is released when the last write is done. */
  private write(release: () => void): void {
    const n = this.slices.length;
    if (this.failed || n === 0) {
      this.slices.length = 0;
      release();
      return;
    }
    for (let i = 0; i < n - 1; i++) this.sink.write(this.slices[i] as Buffer);
    this.sink.write(this.slices[n - 1] as Buffer, () => release());
    this.slices.length = 0;
  }

  /** The target failed: nothing more is written to it (the caller ends both sessions). */
  stopWriting(): void {
    this.failed = true;
  }

  handleCommandComplete(): void {}

  handleReadyForQuery(): void {
    if (!this.failed) this.done.resolve();
  }

  handleError(error: Error): void {
    this.failed = true;
    this.sink.removeListener('drain', this.onDrain);
    this.done.reject(error);
  }

  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handleCopyData(): void {}
}

/**
 * Copies one COPY's rows from `source` to `target`: `outSql` (`COPY ... TO STDOUT`) on the source,
 * `inSql` (`COPY ... FROM STDIN`, same format) on the target, the bytes relayed as they arrive with at
 * most about 1 MB held per relay. `onBytes` gets the payload bytes relayed so far, every 200 ms and at
 * the end.
 * @returns the rows the target's COPY took
 * @throws the server's error (or node-postgres' "Connection terminated") when either COPY fails. The
 *   other session may then still be in its COPY: the caller ends both sessions, and the target's
 *   transaction, never committed, takes none of the rows
 */
export async function relayCopy(
  source: pg.Client,
  target: pg.Client,
  outSql: string,
  inSql: string,
  onBytes?: (bytes: number) => void,
): Promise<{ rows: number; bytes: number }> {
  const into = new CopyIn(inSql);
  target.query(into);
  const targetConnection = await into.ready.promise;
  const sink = targetConnection.stream;
  const out = new CopyOutRelay(outSql, sink);
  const counting = onBytes ? setInterval(() => onBytes(out.scanner.payloadBytes), 200) : undefined;
  try {
    source.query(out);
    // The source's COPY ends, or the target's fails first (then nothing more is written to it).
    const targetFailed = into.done.promise.then(
      () => undefined,
      (error: unknown) => {
        out.stopWriting();
        throw error;
      },
    );
    await Promise.race([
      out.done.promise.catch((error: unknown) => {
        // The source failed. At a message boundary the target's COPY is failed too (CopyFail), which
        // rolls back what it took; in the middle of a message the target waits for the rest of it, and
        // only ending its session ends the COPY.
        if (out.scanner.atMessageBoundary) {
          try {
            targetConnection.sendCopyFail?.(`source COPY failed: ${(error as Error).message}`);
          } catch {
            // The target's connection is gone already.
          }
        }
        throw error;
      }),
      targetFailed,
    ]);
    sink.write(COPY_DONE_MESSAGE);
  } finally {
    if (counting) clearInterval(counting);
  }
  const rows = await into.done.promise;
  onBytes?.(out.scanner.payloadBytes);
  return { rows, bytes: out.scanner.payloadBytes };
}
