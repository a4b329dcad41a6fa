// The inbound scan of the resumption layer: walks the peer's frames chunk by chunk, counts the position (all but
// Pings and Resume frames), collects Resume frames for the layer and hands the rest to the session unchanged.
import { MuxError } from '../../errors.js';
import { FrameType, HEADER_LENGTH } from '../../frame/constants.js';
import { MAX_RESUME_PAYLOAD, RESUME_FRAME_TYPE } from '../../frame/resume.js';
import { readU32 } from '../../util/bytes.js';

/** Resumption negotiated on, off, or not yet (until the peer's first frame). */
export type Mode = 'negotiating' | 'on' | 'off';

/** What the scan asks of the layer. */
export interface InboundHost {
  /** Generation of the current carrier (bumped whenever it changes). */
  readonly gen: number;
  readonly mode: Mode;
  /** Hands `chunk[from, to)` to the session, `counted` bytes of it in the position; false once the carrier changed. */
  forward(chunk: Uint8Array, from: number, to: number, counted: number, gen: number): boolean;
  /** The peer's first frame, its header at `b[at]`. */
  negotiate(b: Uint8Array, at: number): void;
  /** A whole Resume frame of the peer's. */
  onResumeFrame(kind: number, payload: Uint8Array): void;
  /** Ends the session with `error`. */
  fail(error: MuxError): void;
}

/** The peer's sequence as it arrives: inside a Data payload, inside a cut header, or collecting a Resume frame. */
export class InboundScan {
  /** Payload left in the peer's current Data frame. */
  private left = 0;
  /** A header cut across chunks. */
  private readonly hdr = new Uint8Array(HEADER_LENGTH);
  private have = 0;
  /** A Resume frame's payload being collected. */
  private ctl: Uint8Array | undefined;
  private ctlHave = 0;
  private ctlKind = 0;

  constructor(private readonly host: InboundHost) {}

  /** The carrier was lost: a header cut by the loss, or a Resume frame in progress, comes again in the replay. */
  reset(): void {
    this.have = 0;
    this.ctl = undefined;
  }

  /** Walks the peer's frames: counts the position, strips Resume frames, forwards the rest to the session. */
  scan(chunk: Uint8Array, gen: number): void {
    const host = this.host;
    const len = chunk.byteLength;
    let i = 0;
    let from = 0;
    let counted = 0;
    while (i < len) {
      if (this.left > 0) {
        const n = Math.min(this.left, len - i);
        i += n;
        this.left -= n;
        counted += n;
        continue;
      }
      if (this.ctl) {
        const n = Math.min(this.ctl.byteLength - this.ctlHave, len - i);
        this.ctl.set(chunk.subarray(i, i + n), this.ctlHave);
        this.ctlHave += n;
        i += n;
        from = i;
        if (this.ctlHave === this.ctl.byteLength) {
          const payload = this.ctl;
          this.ctl = undefined;
          host.onResumeFrame(this.ctlKind, payload);
          if (host.gen !== gen) return;
        }
        continue;
      }
      if (this.have > 0 || len - i < HEADER_LENGTH) {
        if (!host.forward(chunk, from, i, counted, gen)) return;
        counted = 0;
        const n = Math.min(HEADER_LENGTH - this.have, len - i);
        this.hdr.set(chunk.subarray(i, i + n), this.have);
        this.have += n;
        i += n;
        from = i;
        if (this.have < HEADER_LENGTH) break;
        this.have = 0;
        const header = this.hdr.slice();
        if (header[1] === RESUME_FRAME_TYPE && host.mode === 'on') {
          if (!this.startResumeFrame(header, 0)) return;
          if (host.gen !== gen) return;
          continue;
        }
        const c = this.header(header, 0);
        if (!host.forward(header, 0, HEADER_LENGTH, c, gen)) return;
        if (host.mode === 'off') {
          host.forward(chunk, from, len, 0, gen);
          return;
        }
        continue;
      }
      if (chunk[i + 1] === RESUME_FRAME_TYPE && host.mode === 'on') {
        if (!host.forward(chunk, from, i, counted, gen)) return;
        counted = 0;
        if (!this.startResumeFrame(chunk, i)) return;
        if (host.gen !== gen) return;
        i += HEADER_LENGTH;
        from = i;
        continue;
      }
      counted += this.header(chunk, i);
      i += HEADER_LENGTH;
      if (host.mode === 'off') break;
    }
    host.forward(chunk, from, len, counted, gen);
  }

  /** A whole header of the peer's (not a Resume frame): its bytes counted in the position (0 for a Ping). */
  private header(b: Uint8Array, at: number): number {
    const type = b[at + 1];
    const host = this.host;
    if (host.mode === 'negotiating') host.negotiate(b, at);
    if (type === FrameType.Data) this.left = readU32(b, at + 8);
    return type === FrameType.Ping ? 0 : HEADER_LENGTH;
  }

  /** Starts collecting a Resume frame whose header is at `b[at]`; false when it broke the rules (the session fails). */
  private startResumeFrame(b: Uint8Array, at: number): boolean {
    const length = readU32(b, at + 8);
    if (length > MAX_RESUME_PAYLOAD || b[at] !== 0 || readU32(b, at + 4) !== 0) {
      this.host.fail(new MuxError('ERR_MUX_PROTOCOL', `malformed Resume frame (payload ${length} bytes)`, { wireCode: 1 }));
      return false;
    }
    this.ctlKind = (b[at + 2]! << 8) | b[at + 3]!;
    if (length === 0) {
      this.host.onResumeFrame(this.ctlKind, new Uint8Array(0));
      return true;
    }
    this.ctl = new Uint8Array(length);
    this.ctlHave = 0;
    return true;
  }
}
