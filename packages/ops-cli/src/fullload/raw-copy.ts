import { Readable } from 'node:stream';
import { from as copyFrom } from 'pg-copy-streams';

/**
 * Byte-level COPY relay between two node-postgres sessions. The source's `COPY ... TO STDOUT` arrives as
 * CopyData messages (`d`, Int32 length, data), and the target's `COPY ... FROM STDIN` takes CopyData
 * messages in exactly that framing (PostgreSQL: "Message Formats", "COPY Operations"; COPY FROM ignores
 * message boundaries). So the relay forwards the source's CopyData messages to the target unchanged, as
 * slices of the socket's own buffers: no per-row allocation, no re-framing. Only the headers are read, to
 * find where the copy ends; any other message (CopyOutResponse, a notice, CopyDone, an error) is left to
 * node-postgres.
 */

const COPY_DATA = 0x64; // 'd'
const COPY_DONE = 0x63; // 'c'
const ERROR = 0x45; // 'E'

interface PgConnection {
  stream: NodeJS.ReadableStream & NodeJS.WritableStream & { read(): Buffer | null };
  query(text: string): void;
}

/**
 * A Readable of the raw CopyData messages of one `COPY ... TO STDOUT`, for `client.query(...)`
 * (node-postgres' submittable protocol, as pg-copy-streams uses it). `payloadBytes` counts the data
 * without the 5-byte headers.
 */
export class RawCopyOut extends Readable {
  payloadBytes = 0;
  private connection: PgConnection | undefined;
  private pgHandler: ((chunk: Buffer) => void) | undefined;
  /** Bytes of the current message still to come (its header read already). */
  private left = 0;
  /** Whether the current message is forwarded. */
  private forwarding = false;
  /** A header split across socket reads. */
  private header: Buffer = Buffer.alloc(0);
  private wanted = false;
  private reading = false;
  private readonly onReadable = () => this.pump();

  constructor(private readonly text: string) {
    super({ highWaterMark: 256 * 1024 });
  }

  /** Called by node-postgres with the connection when the query's turn comes. */
  submit(connection: PgConnection): void {
    this.connection = connection;
    const stream = connection.stream;
    const listeners = stream.listeners('data') as ((chunk: Buffer) => void)[];
    this.pgHandler = listeners[listeners.length - 1];
    if (this.pgHandler) stream.removeListener('data', this.pgHandler);
    stream.pause();
    stream.on('readable', this.onReadable);
    connection.query(this.text);
  }

  override _read(): void {
    this.wanted = true;
    this.pump();
  }

  private pump(): void {
    if (this.reading || !this.wanted || !this.connection) return;
    this.reading = true;
    while (this.wanted && this.connection) {
      const chunk = this.connection.stream.read() as Buffer | null;
      if (chunk === null) break;
      this.wanted = this.scan(chunk);
    }
    this.reading = false;
  }

  /** Forwards the CopyData bytes of `chunk`; at the end, hands the rest back to node-postgres. */
  private scan(chunk: Buffer): boolean {
    let i = 0;
    let runStart = -1;
    let more = true;
    const flushRun = (end: number) => {
      if (runStart >= 0 && end > runStart) more = this.push(chunk.subarray(runStart, end)) && more;
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
      const need = 5 - this.header.length;
      if (this.header.length > 0 || chunk.length - i < 5) {
        const take = Math.min(need, chunk.length - i);
        flushRun(i);
        this.header = Buffer.concat([this.header, chunk.subarray(i, i + take)]);
        i += take;
        if (this.header.length < 5) break;
        const code = this.header[0] as number;
        if (code === COPY_DONE || code === ERROR) return this.finish(chunk, i, this.header);
        this.left = this.header.readUInt32BE(1) - 4;
        this.forwarding = code === COPY_DATA;
        if (this.forwarding) more = this.push(this.header) && more;
        this.header = Buffer.alloc(0);
        continue;
      }
      const code = chunk[i] as number;
      if (code !== COPY_DATA) {
        const len = chunk.readUInt32BE(i + 1);
        if (code === COPY_DONE || code === ERROR) {
          flushRun(i);
          return this.finish(chunk, i, undefined);
        }
        // CopyOutResponse, a notice, a parameter change: not data, skipped (node-postgres has no use for it
        // in the middle of a COPY; pg-copy-streams skips them the same way).
        flushRun(i);
        this.left = len - 4;
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
    return more;
  }

  /**
   * The copy's data ended at `chunk[at]` (or in `header`): node-postgres reads the rest. The stream ends
   * only when the server confirms the COPY ({@link handleCommandComplete}); an error destroys it instead,
   * so a target never commits a copy the source did not finish.
   */
  private finish(chunk: Buffer, at: number, header: Buffer | undefined): boolean {
    const connection = this.connection as PgConnection;
    this.connection = undefined;
    const rest = header ? Buffer.concat([header, chunk.subarray(at)]) : chunk.subarray(at);
    connection.stream.removeListener('readable', this.onReadable);
    if (this.pgHandler) {
      connection.stream.on('data', this.pgHandler);
      this.pgHandler(rest);
    }
    process.nextTick(() => connection.stream.resume());
    return false;
  }

  /** node-postgres: the server reported an error (or the connection ended). */
  handleError(error: Error): void {
    this.destroy(error);
  }

  /** node-postgres: `COPY n`, the source sent every row. */
  handleCommandComplete(): void {
    this.push(null);
  }

  handleReadyForQuery(): void {}
}

/**
 * A pg-copy-streams `COPY ... FROM STDIN` that writes what it is given to the socket as it is: the chunks
 * are CopyData messages already (from {@link RawCopyOut}).
 */
export function rawCopyIn(sql: string): ReturnType<typeof copyFrom> {
  const into = copyFrom(sql);
  const raw = into as unknown as {
    connection: PgConnection;
    flushChunk(chunk: Buffer): boolean;
  };
  raw.flushChunk = (chunk: Buffer) => raw.connection.stream.write(chunk);
  return into;
}
