// The real carrier under the resumption layer, one at a time, and the layer's phase: subscribing to the carrier,
// writing to it, letting it go. Its generation is bumped at every change: events of a carrier let go are ignored.
import type { Subscription } from 'rxjs';
import type { Carrier } from '../../carrier.js';
import type { ResolvedOptions } from '../../options.js';

/** On a carrier (connected, or resuming over it: handshake), without one (suspended), or closed for good. */
type Phase = 'connected' | 'handshake' | 'suspended' | 'closed';

/** What the slot asks of the layer. */
export interface SlotHost {
  /** A chunk from the current carrier (generation `gen`). */
  onChunk(chunk: Uint8Array, gen: number): void;
  /** The current carrier ended (`completed`) or failed with `cause` (a write that threw included). */
  lost(cause: unknown, completed: boolean): void;
  /** The current carrier drained: the writer may go on. */
  unblock(): void;
}

/** Holds the real carrier of the moment. */
export class CarrierSlot {
  /** The layer's phase: set with each carrier taken or let go. */
  phase: Phase = 'connected';
  /** Bumped whenever the carrier changes: events of an old carrier are ignored. */
  gen = 0;
  /** The current carrier's last write returned false and it has not drained since. */
  carrierFull = false;
  private carrier: Carrier | undefined;
  private subs: Subscription[] = [];

  constructor(
    private readonly host: SlotHost,
    private readonly scheduler: ResolvedOptions['scheduler'],
  ) {}

  /** True while a carrier is held. */
  get attached(): boolean {
    return this.carrier !== undefined;
  }

  /** Subscribes to a carrier (drain first, as the session does) in place of the current one; returns its generation. */
  attach(carrier: Carrier, phase: Phase): number {
    this.detach('keep');
    const gen = ++this.gen;
    this.carrier = carrier;
    this.carrierFull = false;
    this.phase = phase;
    this.subs.push(
      carrier.drain$.subscribe(() => {
        if (this.gen !== gen) return;
        this.carrierFull = false;
        this.host.unblock();
      }),
    );
    this.subs.push(
      carrier.incoming$.subscribe({
        next: (chunk) => {
          if (this.gen === gen) this.host.onChunk(chunk, gen);
        },
        error: (e) => {
          if (this.gen === gen) this.host.lost(e, false);
        },
        complete: () => {
          if (this.gen === gen) this.host.lost(undefined, true);
        },
      }),
    );
    return gen;
  }

  /** Lets the current carrier go: kept open (`keep`), ended or destroyed. */
  detach(how: 'keep' | 'end' | 'destroy', error?: unknown): void {
    const carrier = this.carrier;
    const subs = this.subs;
    this.subs = [];
    this.carrier = undefined;
    this.gen++;
    for (const s of subs) s.unsubscribe();
    if (!carrier || how === 'keep') return;
    try {
      if (how === 'end') carrier.end();
      else carrier.destroy(error);
    } catch {
      // Released either way.
    }
  }

  /** Lets the current carrier go and stands suspended. */
  drop(): void {
    this.detach('destroy');
    this.phase = 'suspended';
  }

  /** Writes to the current carrier (if any); a write that throws loses the carrier, on the next turn. */
  write(chunks: readonly Uint8Array[]): void {
    const carrier = this.carrier;
    if (!carrier) return;
    try {
      if (!carrier.write(chunks)) this.carrierFull = true;
    } catch (e) {
      const gen = this.gen;
      this.scheduler.schedule(() => {
        if (this.gen === gen) this.host.lost(e, false);
      });
    }
  }
}
