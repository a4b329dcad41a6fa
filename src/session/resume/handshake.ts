// The server side of a resume handshake outside any session: reading a new carrier's first frame (a Resume
// request or not) and refusing attempts; plus the refusal codes both sides map to errors.
import { Observable } from 'rxjs';
import type { Carrier } from '../../carrier.js';
import { MuxError, type MuxErrorCode } from '../../errors.js';
import { HEADER_LENGTH } from '../../frame/constants.js';
import {
  encodeRefused,
  parseResumeFrame,
  RESUME_FRAME_TYPE,
  ResumeKind,
  ResumeRefusal,
  readU64,
  TOKEN_LENGTH,
} from '../../frame/resume.js';
import type { ResolvedOptions } from '../../options.js';
import { RelayCarrier } from './relay.js';

/** A resume request read from the first frame of a new server-side carrier. */
export interface ResumeRequest {
  /** The token presented (24 bytes). */
  readonly token: Uint8Array;
  /** The client's position. */
  readonly position: number;
}

export const REFUSAL_CODES: Record<number, MuxErrorCode> = {
  [ResumeRefusal.Token]: 'ERR_MUX_RESUME_TOKEN',
  [ResumeRefusal.Position]: 'ERR_MUX_RESUME_POSITION',
  [ResumeRefusal.InUse]: 'ERR_MUX_RESUME_IN_USE',
  [ResumeRefusal.Attempts]: 'ERR_MUX_RESUME_ATTEMPTS',
};

/** Answers a resume attempt with Refused and ends its carrier; returns the error it stands for. */
export function refuseCarrier(carrier: Carrier, code: number, reason: string): MuxError {
  try {
    carrier.write([encodeRefused(code, reason)]);
    carrier.end();
  } catch {
    // The refused carrier is let go either way.
  }
  return new MuxError(REFUSAL_CODES[code]!, `resume refused: ${reason}`, { wireCode: code });
}

/** Refuses a resume naming no session this server holds (ERR_MUX_RESUME_TOKEN). */
export function refuseUnknown(carrier: Carrier): MuxError {
  return refuseCarrier(carrier, ResumeRefusal.Token, 'no such session');
}

/** The error for a server-side `resume(carrier)` whose first frame is no Resume. */
export function notResume(carrier: Carrier): MuxError {
  carrier.destroy();
  return new MuxError('ERR_MUX_PROTOCOL', 'the carrier does not start with a Resume frame');
}

/** ms of complete silence after which a new connection is taken as new (not a resumption). */
const QUIET = 1000;

/**
 * Reads the first frame of a new server-side carrier: emits the Resume request it starts with (then `carrier`
 * carries the bytes after it), or no request (then `carrier` carries every byte, the first frame included).
 */
export function readResumeRequest(
  carrier: Carrier,
  scheduler: ResolvedOptions['scheduler'],
  timeout: number,
): Observable<{ request: ResumeRequest | undefined; carrier: Carrier }> {
  return new Observable((subscriber) => {
    const relay = new RelayCarrier(carrier);
    let head = new Uint8Array(0);
    let decided = false;
    const decide = (request: ResumeRequest | undefined, rest: Uint8Array): void => {
      decided = true;
      limit.unsubscribe();
      quiet.unsubscribe();
      relay.hold(rest);
      subscriber.next({ request, carrier: relay });
      subscriber.complete();
    };
    // A connection that sends nothing at all for QUIET ms is a new one whose client waits for the server to speak
    // (a resuming client sends its Resume frame at once).
    const quiet = scheduler.schedule(
      () => {
        if (!decided && head.byteLength === 0) decide(undefined, head);
      },
      Math.min(QUIET, timeout),
    );
    const limit = scheduler.schedule(() => {
      if (decided) return;
      decided = true;
      relay.destroy();
      subscriber.error(new MuxError('ERR_MUX_TIMEOUT', `a new carrier sent no whole first frame within ${timeout} ms`));
    }, timeout);
    relay.start({
      chunk: (chunk) => {
        if (decided) return false;
        const bytes = new Uint8Array(head.byteLength + chunk.byteLength);
        bytes.set(head, 0);
        bytes.set(chunk, head.byteLength);
        head = bytes;
        if (bytes.byteLength < HEADER_LENGTH) return true;
        if (bytes[1] !== RESUME_FRAME_TYPE || ((bytes[2]! << 8) | bytes[3]!) !== ResumeKind.Resume) {
          decide(undefined, bytes);
          return true;
        }
        let parsed: ReturnType<typeof parseResumeFrame>;
        try {
          parsed = parseResumeFrame(bytes);
        } catch {
          decide(undefined, bytes);
          return true;
        }
        if (!parsed) return true;
        const p = parsed.frame.payload;
        if (p.byteLength !== TOKEN_LENGTH + 8) {
          decide(undefined, bytes);
          return true;
        }
        decide({ token: p.slice(0, TOKEN_LENGTH), position: readU64(p, TOKEN_LENGTH) }, bytes.subarray(parsed.size));
        return true;
      },
      ended: () => {
        if (!decided) decide(undefined, head);
      },
    });
    return () => {
      limit.unsubscribe();
      quiet.unsubscribe();
      if (!decided) relay.destroy();
    };
  });
}
