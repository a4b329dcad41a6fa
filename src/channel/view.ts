// What applications hold of a channel: the public Channel interface and nothing else. The session-side methods
// and writable fields of the channel behind it are out of reach (an ES private field).
import type { Observable } from 'rxjs';
import type { ChannelImpl } from './channel.js';
import type { ByteSource, Channel, ChannelEnd, ChannelState, ChannelStats, SendOptions } from './types.js';

/** The public face of one channel (one per channel: identity is stable). See {@link Channel} for each member. */
export class ChannelView implements Channel {
  readonly #c: ChannelImpl;

  constructor(c: ChannelImpl) {
    this.#c = c;
  }

  get id(): number {
    return this.#c.id;
  }
  get origin(): 'local' | 'remote' {
    return this.#c.origin;
  }
  get meta(): Uint8Array {
    return this.#c.meta;
  }
  get replyMeta(): Uint8Array {
    return this.#c.replyMeta;
  }
  get state(): ChannelState {
    return this.#c.state;
  }
  get incoming$(): Observable<Uint8Array> {
    return this.#c.incoming$;
  }
  read(): Promise<Uint8Array | null> {
    return this.#c.read();
  }
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    const c = this.#c;
    return {
      next: async () => {
        const chunk = await c.read();
        return chunk === null ? { done: true, value: undefined } : { done: false, value: chunk };
      },
      return: async () => {
        c.stopReading();
        return { done: true, value: undefined };
      },
    };
  }
  pause(): void {
    this.#c.pause();
  }
  resume(): void {
    this.#c.resume();
  }
  write(data: Uint8Array | string): Promise<void> {
    return this.#c.write(data);
  }
  send(source: ByteSource, options?: SendOptions): Observable<never> {
    return this.#c.send(source, options);
  }
  get desiredSize(): number {
    return this.#c.desiredSize;
  }
  get drain$(): Observable<void> {
    return this.#c.drain$;
  }
  get flushed$(): Observable<void> {
    return this.#c.flushed$;
  }
  get preserveWrites(): boolean {
    return this.#c.preserveWrites;
  }
  set preserveWrites(value: boolean) {
    this.#c.preserveWrites = value;
  }
  end(): void {
    this.#c.end();
  }
  reset(code?: number, reason?: string): void {
    this.#c.reset(code, reason);
  }
  get credit$(): Observable<number> {
    return this.#c.credit$;
  }
  get closed$(): Observable<ChannelEnd> {
    return this.#c.closed$;
  }
  get weight(): number {
    return this.#c.weight;
  }
  set weight(value: number) {
    this.#c.weight = value;
  }
  stats(): ChannelStats {
    return this.#c.stats();
  }
}
