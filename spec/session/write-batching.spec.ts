/**
 * When frames reach the carrier: what one turn of calls makes leaves in one carrier write (in the frame that made
 * it, under virtual time), frames made while handling a carrier chunk leave at its end (every 64 frames of a long
 * one), and headers, small payloads and control frames travel as one chunk.
 */
import { firstValueFrom } from 'rxjs';
import { createSession, encodeFrames, type Channel, type Session } from '../../src/index.js';
import { f, virtualPeer } from '../../src/testing.js';
import { at, testScheduler } from '../support/marbles.js';

describe('write batching', () => {
  it('open, write and end on three channels in one turn make one carrier write of one chunk, in that virtual frame', () => {
    const chunksPerWrite: number[] = [];
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const write = peer.carrier.write.bind(peer.carrier);
      peer.carrier.write = (chunks) => {
        chunksPerWrite.push(chunks.length);
        return write(chunks);
      };
      const session = createSession(peer.carrier, { role: 'client', profile: 'yamux', keepAlive: false, openTimeout: 0, closeTimeout: 0 });
      at(hot, 2, () => {
        for (let i = 0; i < 3; i++) {
          session.open().subscribe((ch) => {
            void ch.write(`m${i}`);
            ch.end();
          });
        }
      });
      expectObservable(peer.written$).toBe('--(abcdeghij)', {
        a: f.syn(1),
        b: f.syn(3),
        c: f.syn(5),
        d: f.data(1, 'm0'),
        e: f.fin(1),
        g: f.data(3, 'm1'),
        h: f.fin(3),
        i: f.data(5, 'm2'),
        j: f.fin(5),
      });
    });
    expect(chunksPerWrite).toEqual([1]);
  });

  it('frames made while handling a carrier chunk leave at its end; a long chunk is answered every 64 frames', () => {
    const framesPerWrite: number[] = [];
    testScheduler().run(({ hot }) => {
      const peer = virtualPeer();
      createSession(peer.carrier, { role: 'server', keepAlive: false });
      let before = 0;
      const write = peer.carrier.write.bind(peer.carrier);
      peer.carrier.write = (chunks) => {
        const ok = write(chunks);
        framesPerWrite.push(peer.written.length - before);
        before = peer.written.length;
        return ok;
      };
      // 10 pings, then 150 pings, each batch in one chunk: every ping is answered with a pong.
      at(hot, 1, () => peer.send(encodeFrames(Array.from({ length: 10 }, (_, i) => f.ping(i + 1)))));
      at(hot, 3, () => peer.send(encodeFrames(Array.from({ length: 150 }, (_, i) => f.ping(i + 1)))));
    });
    expect(framesPerWrite).toEqual([10, 64, 64, 22]);
  });

  it('over a real clock, frames queued in one turn go out together at the end of the job (a microtask)', async () => {
    const peer = virtualPeer();
    const session: Session = createSession(peer.carrier, { role: 'client', profile: 'yamux', keepAlive: false });
    const ch: Channel = await firstValueFrom(session.open());
    await Promise.resolve();
    const calls = peer.writeCalls;
    void ch.write('a');
    void ch.write('b');
    ch.end();
    expect(peer.writeCalls).toBe(calls); // nothing written yet: the turn is not over
    await Promise.resolve();
    expect(peer.writeCalls).toBe(calls + 1);
    expect(peer.written.slice(-2)).toEqual([f.data(1, 'ab'), f.fin(1)]);
    session.destroy();
  });
});
