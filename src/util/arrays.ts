// Small array helpers for hot paths.
/** Empties a short array in place: `pop()` stays in compiled code where `length = 0` is a runtime call. */
export function clear(a: unknown[]): void {
  while (a.length > 0) a.pop();
}
