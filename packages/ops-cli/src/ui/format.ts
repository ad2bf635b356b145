import prettyBytes from 'pretty-bytes';
import prettyMilliseconds from 'pretty-ms';

/**
 * `1.2 MiB`, `512 B`: bytes for people, in powers of 1024 with their IEC names (pretty-bytes), one
 * decimal at most.
 */
export function formatBytes(bytes: number): string {
  return prettyBytes(bytes, { binary: true, maximumFractionDigits: 1 });
}

/** `1,234,567`: counts with thousands separators. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** `850ms`, `12.3s`, `4m 5s`, `1h 2m 5s`: a duration in ms for people (pretty-ms). */
export function formatDuration(ms: number): string {
  return prettyMilliseconds(Math.max(0, ms), { secondsDecimalDigits: 1, millisecondsDecimalDigits: 0 });
}
