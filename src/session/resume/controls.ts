// The peer's control frames on a connected carrier: its Hello (resumption on or off for good, the server's first
// token) and its Resume frames Ack (releases the store), Token (the client's next one) and End (all acknowledged).
import { MuxError } from '../../errors.js';
import { FrameType } from '../../frame/constants.js';
import { encodeAck, encodeResumeFrame, HELLO_FLAG, HELLO_RESUME, ResumeKind, readU64, TOKEN_LENGTH } from '../../frame/resume.js';
import { readU32 } from '../../util/bytes.js';
import type { Mode } from './inbound.js';
import type { ReplayStore } from './store.js';
import { newToken } from './token.js';

/** What the control frames ask of the layer. */
export interface ControlsHost {
  mode: Mode;
  readonly role: 'client' | 'server';
  /** The token of the next resume. */
  token: Uint8Array | undefined;
  /** Position: bytes of the peer's sequence received. */
  readonly received: number;
  /** The position last acknowledged to the peer. */
  acked: number;
  peerEnded: boolean;
  /** Set once the session ended: 'end' lingers until the peer has every byte. */
  readonly ending: 'end' | 'destroy' | undefined;
  readonly store: ReplayStore;
  /** Server: the session has its token; its registry (if any) may route resumes to it. */
  register(): void;
  /** A frame of the layer, written between the session's frames. */
  inject(frame: Uint8Array): void;
  /** Lets the writer go on when both the carrier and the store have room. */
  unblock(): void;
  /** Ends the session with `error`. */
  fail(error: MuxError): void;
  /** Ends the carrier: the peer has every byte. */
  finalEnd(): void;
}

/** The peer's first frame, its header at `b[at]`: its Hello turns resumption on; anything else turns it off for good. */
export function readHello(link: ControlsHost, b: Uint8Array, at: number): void {
  const flags = (b[at + 2]! << 8) | b[at + 3]!;
  if (b[at] === 0 && b[at + 1] === FrameType.Ping && flags === HELLO_FLAG && readU32(b, at + 8) & HELLO_RESUME) {
    link.mode = 'on';
    if (link.role === 'server') {
      link.token = newToken();
      link.register();
      link.inject(encodeResumeFrame(ResumeKind.Token, link.token));
    }
    return;
  }
  link.mode = 'off';
  link.store.clear();
  link.unblock();
}

/** A whole Resume frame of the peer's, on a connected carrier. */
export function readResumeFrame(link: ControlsHost, kind: number, payload: Uint8Array): void {
  const store = link.store;
  switch (kind) {
    case ResumeKind.Ack: {
      const position = payload.byteLength === 8 ? readU64(payload, 0) : -1;
      if (position < 0 || position > store.end) {
        link.fail(new MuxError('ERR_MUX_PROTOCOL', `the peer acknowledged position ${position} beyond ${store.end}`, { wireCode: 1 }));
        return;
      }
      store.release(position);
      if (link.ending && store.bytes === 0) link.finalEnd();
      else link.unblock();
      return;
    }
    case ResumeKind.Token:
      if (link.role === 'client' && payload.byteLength === TOKEN_LENGTH) link.token = payload.slice();
      return;
    case ResumeKind.End:
      link.peerEnded = true;
      link.acked = link.received;
      link.inject(encodeAck(link.received));
      return;
    default:
      link.fail(new MuxError('ERR_MUX_PROTOCOL', `unexpected Resume frame kind ${kind}`, { wireCode: 1 }));
  }
}
