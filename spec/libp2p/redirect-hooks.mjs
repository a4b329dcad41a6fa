// Module hooks for the compliance suite's interop run: the suite's imports of @libp2p/utils resolve to
// spec/libp2p/socket-pair.ts (the same exports, with connection pairs over real sockets). Registered by
// spec/libp2p/register-socket-pair.mjs.
const shim = new URL('./socket-pair.ts', import.meta.url).href;

export async function resolve(specifier, context, next) {
  if (specifier === '@libp2p/utils' && context.parentURL?.includes('/@libp2p/interface-compliance-tests/')) {
    return { url: shim, shortCircuit: true };
  }
  return next(specifier, context);
}
