/** The small part of bpmux (CommonJS, no bundled types) the benchmark uses. */
declare module 'bpmux' {
  import type { EventEmitter } from 'node:events';
  import type { Duplex } from 'node:stream';

  interface BPMuxInstance extends EventEmitter {
    multiplex(options?: { handshake_data?: Buffer; max_write_size?: number }): Duplex;
  }
  const bpmux: {
    BPMux: new (carrier: Duplex, options?: Record<string, unknown>) => BPMuxInstance;
  };
  export = bpmux;
}
