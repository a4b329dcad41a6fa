// Resume tokens: an 8-byte session id (for lookup) and a 16-byte secret (128 bits from crypto.getRandomValues),
// compared in constant time. Never logged, never in stats or errors.
import { TOKEN_ID_LENGTH, TOKEN_LENGTH } from '../../frame/resume.js';

/** Random bytes from the platform's cryptographic generator (`crypto.getRandomValues`). */
function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  globalThis.crypto.getRandomValues(out);
  return out;
}

/** A new token for the session `id` (a fresh id when none is given): id, then a fresh 128-bit secret. */
export function newToken(id?: Uint8Array): Uint8Array {
  const token = randomBytes(TOKEN_LENGTH);
  if (id) token.set(id.subarray(0, TOKEN_ID_LENGTH), 0);
  return token;
}

/** The session id of a token, as hex (the registry's key; not secret). */
export function tokenId(token: Uint8Array): string {
  let s = '';
  for (let i = 0; i < TOKEN_ID_LENGTH; i++) s += token[i]!.toString(16).padStart(2, '0');
  return s;
}

/** True when `a` and `b` are equal tokens; the time taken does not depend on where they differ. */
export function sameToken(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.byteLength ^ TOKEN_LENGTH;
  diff |= b.byteLength ^ TOKEN_LENGTH;
  for (let i = 0; i < TOKEN_LENGTH; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}
