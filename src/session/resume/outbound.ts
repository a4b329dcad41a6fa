// The outbound scan of the resumption layer: walks the session's frames as they are written and keeps all but
// Pings in the replay store (as views, no copies); knows whether the writer stands between two frames.
import { FrameType, HEADER_LENGTH } from '../../frame/constants.js';
import { readU32 } from '../../util/bytes.js';
import type { ReplayStore } from './store.js';

/** Where the session's written sequence stands: inside a Data payload, inside a cut header, or between frames. */
export class OutboundScan {
  /** Payload bytes left in the session's current frame. */
  private left = 0;
  /** A header cut across chunks. */
  private readonly hdr = new Uint8Array(HEADER_LENGTH);
  private have = 0;

  constructor(private readonly store: ReplayStore) {}

  /** True between two of the session's frames (a frame of the layer may go in here). */
  get atBoundary(): boolean {
    return this.left === 0 && this.have === 0;
  }

  /** Walks the session's frames in `c`: keeps all but Pings in the store. */
  scan(c: Uint8Array): void {
    const len = c.byteLength;
    const store = this.store;
    let i = 0;
    let from = 0;
    while (i < len) {
      if (this.left > 0) {
        const n = Math.min(this.left, len - i);
        i += n;
        this.left -= n;
        continue;
      }
      if (this.have > 0 || len - i < HEADER_LENGTH) {
        if (i > from) store.push(c.subarray(from, i));
        const n = Math.min(HEADER_LENGTH - this.have, len - i);
        this.hdr.set(c.subarray(i, i + n), this.have);
        this.have += n;
        i += n;
        from = i;
        if (this.have < HEADER_LENGTH) return;
        this.have = 0;
        if (this.hdr[1] !== FrameType.Ping) {
          store.push(this.hdr.slice());
          if (this.hdr[1] === FrameType.Data) this.left = readU32(this.hdr, 8);
        }
        continue;
      }
      const type = c[i + 1];
      if (type === FrameType.Ping) {
        if (i > from) store.push(c.subarray(from, i));
        i += HEADER_LENGTH;
        from = i;
        continue;
      }
      if (type === FrameType.Data) this.left = readU32(c, i + 8);
      i += HEADER_LENGTH;
    }
    if (len > from) store.push(from === 0 ? c : c.subarray(from, len));
  }
}
