/**
 * Promise.withResolvers (Node 22+), which @chainsafe/libp2p-yamux and @libp2p/utils call; Node 20 lacks it.
 * A function, not a side-effect import: package.json says `"sideEffects": false`, so a bundler may drop bare imports.
 */
export function installPolyfills(): void {
  const P = Promise as unknown as { withResolvers?: () => unknown };
  if (typeof P.withResolvers === 'function') return;
  P.withResolvers = function withResolvers<T>() {
    let resolve!: (value: T | PromiseLike<T>) => void;
    let reject!: (reason?: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}
