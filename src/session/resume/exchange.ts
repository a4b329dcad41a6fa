// The client side of a resume exchange: reading the server's answer (Resumed or Refused) from the bytes of a new
// carrier, and the reconnect loop (new carriers from `reconnect`, retried with `retryDelay` until one resumes).
import { defer, from, isObservable, type Observable, retry, type Subscription, switchMap, take, throwError, timer } from 'rxjs';
import type { Carrier } from '../../carrier.js';
import { MuxError } from '../../errors.js';
import { parseResumeFrame, ResumeKind, readU64, TOKEN_LENGTH } from '../../frame/resume.js';
import type { ResolvedOptions } from '../../options.js';
import { readU32, utf8 } from '../../util/bytes.js';
import { REFUSAL_CODES } from './handshake.js';
import type { ResolvedResume } from './options.js';

/** The server's answer so far: not whole yet, a failure of the attempt, or Resumed. */
type Answer =
  | { readonly kind: 'partial'; readonly bytes: Uint8Array }
  | { readonly kind: 'failed'; readonly error: MuxError }
  | {
      readonly kind: 'resumed';
      /** The server's position. */
      readonly position: number;
      /** The token for the next resume. */
      readonly token: Uint8Array;
      /** Everything received, the answer first. */
      readonly bytes: Uint8Array;
      /** Bytes of the answer in `bytes` (the rest goes on as usual). */
      readonly size: number;
    };

/** Reads the answer to a resume from `have` (bytes so far) and `chunk`. */
export function readAnswer(have: Uint8Array, chunk: Uint8Array): Answer {
  const bytes = new Uint8Array(have.byteLength + chunk.byteLength);
  bytes.set(have, 0);
  bytes.set(chunk, have.byteLength);
  let parsed: ReturnType<typeof parseResumeFrame>;
  try {
    parsed = parseResumeFrame(bytes);
  } catch {
    return { kind: 'failed', error: new MuxError('ERR_MUX_PROTOCOL', 'the answer to a resume is not a Resume frame') };
  }
  if (!parsed) return { kind: 'partial', bytes };
  const { frame, size } = parsed;
  if (frame.kind === ResumeKind.Refused && frame.payload.byteLength >= 4) {
    const code = readU32(frame.payload, 0);
    const reason = utf8(frame.payload.subarray(4));
    return {
      kind: 'failed',
      error: new MuxError(REFUSAL_CODES[code] ?? 'ERR_MUX_RESUME_TOKEN', `resume refused: ${reason}`, {
        wireCode: code,
        reason,
        remote: true,
      }),
    };
  }
  if (frame.kind !== ResumeKind.Resumed || frame.payload.byteLength !== 8 + TOKEN_LENGTH) {
    return {
      kind: 'failed',
      error: new MuxError('ERR_MUX_PROTOCOL', `unexpected Resume frame kind ${frame.kind} in answer to a resume`),
    };
  }
  return { kind: 'resumed', position: readU64(frame.payload, 0), token: frame.payload.slice(8), bytes, size };
}

/** Refusals after which retrying cannot help (the server lost the session). */
export function terminal(error: unknown): boolean {
  return error instanceof MuxError && (error.code === 'ERR_MUX_RESUME_TOKEN' || error.code === 'ERR_MUX_RESUME_POSITION');
}

/**
 * Tries carriers from `opts.reconnect` with `resume` until one resumes, a refusal is {@link terminal}, `closed()`
 * holds, or `opts.maxAttempts` were made; then `failed` gets the last error and the number of attempts made.
 */
export function reconnectLoop(
  opts: ResolvedResume,
  scheduler: ResolvedOptions['scheduler'],
  resume: (carrier: Carrier) => Observable<void>,
  closed: () => boolean,
  failed: (error: unknown, attempts: number) => void,
): Subscription {
  const reconnect = opts.reconnect!;
  let attempt = 0;
  return defer(() => {
    attempt++;
    const made = reconnect();
    return isObservable(made) ? made.pipe(take(1)) : from(Promise.resolve(made));
  })
    .pipe(
      switchMap((carrier) => resume(carrier)),
      retry({
        count: opts.maxAttempts - 1,
        delay: (error: unknown) =>
          terminal(error) || closed() ? throwError(() => error) : timer(opts.retryDelay(attempt, error), scheduler),
      }),
    )
    .subscribe({ error: (e: unknown) => failed(e, attempt) });
}
