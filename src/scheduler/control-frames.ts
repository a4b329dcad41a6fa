// Control frames waiting for the writer: encoded back to back in one buffer that grows for a burst (no allocation per
// frame), and taken whole into the next batch.
import { HEADER_LENGTH } from '../frame/constants.js';
import { writeHeader } from '../frame/encode.js';

/** Initial size, and the size past which the buffer is let go once taken. */
const INITIAL = 256;
const KEEP = 16 * 1024;

/** The writer's control frames, in `buf[0, bytes)`. */
export class ControlFrames {
  private buf = new Uint8Array(INITIAL);
  bytes = 0;
  count = 0;

  /** Encodes a frame at the end of the queue. */
  push(type: number, flags: number, streamId: number, length: number, payload?: Uint8Array): void {
    const n = HEADER_LENGTH + (payload ? payload.byteLength : 0);
    const at = this.bytes;
    if (at + n > this.buf.byteLength) {
      const grown = new Uint8Array(Math.max(2 * this.buf.byteLength, at + n));
      grown.set(this.buf.subarray(0, at));
      this.buf = grown;
    }
    writeHeader(this.buf, at, type, flags, streamId, length);
    if (payload) this.buf.set(payload, at + HEADER_LENGTH);
    this.bytes = at + n;
    this.count++;
  }

  /** Copies every frame into `into` at `at` (room for {@link bytes} is the caller's) and empties the queue. */
  moveTo(into: Uint8Array, at: number): void {
    into.set(this.buf.subarray(0, this.bytes), at);
    this.clear();
    // A burst (many refusals, pongs) may have grown the buffer: do not keep it.
    if (this.buf.byteLength > KEEP) this.buf = new Uint8Array(INITIAL);
  }

  /** The frames as one new array, the queue emptied; undefined when there are none. */
  take(): Uint8Array | undefined {
    if (this.count === 0) return undefined;
    const bytes = this.buf.slice(0, this.bytes);
    this.clear();
    return bytes;
  }

  clear(): void {
    this.bytes = 0;
    this.count = 0;
  }
}
