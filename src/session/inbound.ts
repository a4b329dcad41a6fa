// The session's inbound side: the decoder, and this as its FrameSink (header checks before any payload is read, then
// each frame to its owner: pings, GoAway, or the channel, which reads its own flags; no object per frame); the frame timeout.
import { MuxError } from '../errors.js';
import { Flag, FrameType, GoAwayCode, INITIAL_WINDOW } from '../frame/constants.js';
import type { HeaderVerdict } from '../frame/header-check.js';
import { FrameReader, type FrameSink } from '../frame/reader.js';
import type { Expiring } from '../util/deadlines.js';
import type { SessionImpl } from './session.js';

const EMPTY = new Uint8Array(0);

/** While handling one carrier chunk, what was made so far is written after every this many frames. */
const MID_CHUNK_FLUSH_FRAMES = 64;

/** Routes decoded frames. */
export class InboundFrames implements FrameSink {
  framesIn = 0;
  droppedFrames = 0;
  /** Frames handled so far in the current carrier chunk. */
  private chunkFrames = 0;

  private readonly decoder: FrameReader;
  /** The peer's frame in progress: session-clock ms when it began arriving, -1 while none spans chunks. */
  private frameSince = -1;
  /** True while the session is suspended (resumption): the frame timeout does not run. */
  private framePaused = false;
  private readonly frameWatch: Expiring = {
    deadline: () => (this.frameSince < 0 || this.s.isClosed ? undefined : this.frameSince + this.s.options.frameTimeout),
    expire: () => this.frameExpired(),
  };

  constructor(private readonly s: SessionImpl) {
    this.decoder = new FrameReader(this, Math.max(s.options.maxReceiveWindow, INITIAL_WINDOW));
  }

  /** Decodes a carrier chunk (throws a MuxError on a violation). */
  push(chunk: Uint8Array): void {
    this.chunkFrames = 0;
    this.decoder.push(chunk);
  }

  /** After a chunk: starts or ends the frame timeout (a frame spanning chunks must be whole within `frameTimeout` ms). */
  trackFrame(): void {
    const s = this.s;
    if (s.isClosed || s.options.frameTimeout === 0) return;
    if (this.decoder.idle) {
      this.frameSince = -1;
      return;
    }
    if (this.frameSince >= 0) {
      if (s.clock() - this.frameSince >= s.options.frameTimeout) this.frameExpired();
      return;
    }
    this.frameSince = s.clock();
    s.watch(this.frameWatch);
  }

  /** The carrier was lost (resumption): the frame in progress finishes on the next carrier, its clock stops. */
  pauseFrameTimeout(): void {
    this.framePaused = true;
  }

  /** A new carrier resumed the session: the frame in progress has `frameTimeout` ms again from now. */
  resumeFrameTimeout(): void {
    this.framePaused = false;
    if (this.frameSince < 0) return;
    this.frameSince = this.s.clock();
    this.s.watch(this.frameWatch);
  }

  private frameExpired(): void {
    const s = this.s;
    if (s.isClosed || this.frameSince < 0 || this.framePaused) return;
    const took = s.clock() - this.frameSince;
    const limit = s.options.frameTimeout;
    if (took < limit) return;
    s.ending.finish(
      new MuxError('ERR_MUX_TIMEOUT', `the peer's frame has been arriving for ${took} ms (frameTimeout ${limit} ms)`),
      'destroy',
    );
  }

  header(type: number, flags: number, id: number, length: number): HeaderVerdict {
    const s = this.s;
    // A frame earlier in this chunk ended the session (e.g. a WindowUpdate overflow): stop decoding the rest, or
    // later SYNs would register channels on a closed session.
    if (s.isClosed) return s.closedWith ?? s.closedError();
    if (type !== FrameType.Data || length === 0) return undefined;
    if (flags & Flag.SYN) {
      // The window rule first (as for ACK): more than the initial window is a violation, not oversized metadata.
      if (length > INITIAL_WINDOW)
        return new MuxError('ERR_MUX_PROTOCOL', `Data on new channel ${id} exceeds the initial window`, {
          wireCode: GoAwayCode.ProtocolError,
        });
      if (s.profile === 'rxmux' && length > s.options.maxMetadata) return 'skip';
      return undefined;
    }
    const ch = s.channel(id);
    return ch ? ch.checkData(flags, length) : 'skip';
  }

  frame(type: number, flags: number, id: number, length: number, data: Uint8Array): void {
    this.framesIn++;
    const s = this.s;
    if (type === FrameType.Ping) s.pings.onPing(flags, length);
    else if (type === FrameType.GoAway) s.ending.onGoAway(length);
    else this.stream(type === FrameType.Data, flags, id, length, type === FrameType.Data ? data : EMPTY);
    // A chunk of many frames (a burst of opens, say): write the answers so far every so often, so the peer works on
    // them while this side handles the rest, instead of both sides taking turns.
    if (++this.chunkFrames % MID_CHUNK_FLUSH_FRAMES === 0) s.writeNow();
  }

  /** A frame whose payload the header check skipped. */
  skipped(_type: number, flags: number, id: number, length: number): void {
    const s = this.s;
    if (flags & Flag.SYN) {
      // Oversized open metadata: answer with RST, nothing buffered.
      if (s.opens.admitPeerId(id)) s.opens.refuse(id, `metadata of ${length} bytes over the limit of ${s.options.maxMetadata}`);
      return;
    }
    const ch = s.channel(id);
    if (ch && ch.state === 'opening' && flags & Flag.ACK) ch.oversizedReply(length);
    else this.droppedFrames++;
  }

  /** A piece of a flagless Data frame whose payload spans carrier chunks (its header passed {@link header}). */
  dataPart(id: number, data: Uint8Array, last: boolean): void {
    if (last) this.framesIn++;
    const ch = this.s.channel(id);
    if (ch) ch.data(data, !last);
    else if (last) this.droppedFrames++;
  }

  /** A Data or WindowUpdate frame: a SYN makes the channel (when admitted), then the channel takes the frame. */
  private stream(isData: boolean, flags: number, id: number, length: number, payload: Uint8Array): void {
    const s = this.s;
    if (flags & Flag.SYN) {
      if (!s.opens.admitPeerId(id)) return;
      const ch = s.opens.admit(id);
      if (!ch) return;
      const rest = ch.admit(isData, flags, length, payload);
      if (s.isClosed) return;
      s.opens.announce(ch);
      ch.receive(isData, flags, length, rest);
      return;
    }
    const ch = s.channel(id);
    if (ch) ch.receive(isData, flags, length, payload);
    else this.droppedFrames++;
  }
}
