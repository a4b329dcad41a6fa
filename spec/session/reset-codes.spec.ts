/**
 * Reset codes as go-yamux v5 carries them: the length field of a WindowUpdate|RST is the code. Checked byte for byte
 * against hand-made frames (the bytes a go-yamux v5 `Stream.ResetWithError(code)` writes), both directions.
 */
import type { Channel, MuxError } from '../../src/index.js';
import { createSession, encodeFrames, fromHex, toHex } from '../../src/index.js';
import { f, virtualPeer } from '../../src/testing.js';
import { at, testScheduler } from '../support/marbles.js';

const base = { profile: 'yamux', keepAlive: false, openTimeout: 0, closeTimeout: 0 } as const;

describe('reading a reset code from WindowUpdate|RST', () => {
  it.each([
    ['00 01 0008 00000001 0000002a', 42],
    ['00 01 0008 00000001 ffffffff', 0xffffffff],
    ['00 01 0008 00000001 00000000', 0],
  ])('the hand-made frame %s fails the open channel with ERR_MUX_RESET, wireCode %d', (hex, code) => {
    const errors: MuxError[] = [];
    let credit = -1;
    testScheduler().run(({ hot }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { ...base, role: 'server' });
      session.incoming$.subscribe((req) => {
        const ch = req.accept();
        ch.closed$.subscribe(({ error }) => errors.push(error!));
        ch.credit$.subscribe((c) => (credit = c));
      });
      peer.feed(hot('-s-r', { s: f.syn(1), r: fromHex(hex.replace(/ /g, '')) }));
      at(hot, 4, () => expect(session.isClosed).toBe(false));
    });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'ERR_MUX_RESET', wireCode: code, remote: true });
    // The code is not credit: the window stayed at 256 KiB.
    expect(credit).toBe(256 * 1024);
  });

  it('an ACK|RST answering our open resets it with the code; a code past 2^32 - 256 KiB is no window overflow', () => {
    const errors: MuxError[] = [];
    testScheduler().run(({ hot }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { ...base, role: 'client' });
      at(hot, 1, () => session.open({ waitForAccept: true }).subscribe((ch) => ch.closed$.subscribe(({ error }) => errors.push(error!))));
      peer.feed(hot('--r', { r: fromHex('0001000a00000001fffffff0') }));
      at(hot, 3, () => expect(session.isClosed).toBe(false));
    });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'ERR_MUX_RESET', wireCode: 0xfffffff0, remote: true });
  });

  it('a Data|RST in the yamux profile carries no code: its length counts payload bytes', () => {
    const errors: MuxError[] = [];
    const got: number[] = [];
    testScheduler().run(({ hot }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { ...base, role: 'server' });
      session.incoming$.subscribe((req) => {
        const ch = req.accept();
        ch.incoming$.subscribe({ next: (d) => got.push(d.byteLength), error: (e: MuxError) => errors.push(e) });
      });
      peer.feed(hot('-s-r', { s: f.syn(1), r: fromHex('000000080000000100000003616263') }));
    });
    expect(got).toEqual([3]);
    expect(errors).toEqual([expect.objectContaining({ code: 'ERR_MUX_RESET', wireCode: 0 })]);
  });
});

describe('writing a reset code', () => {
  it('reset(code) writes the exact bytes of a go-yamux v5 ResetWithError(code); reject(reason, code) does too', () => {
    let hex = '';
    testScheduler().run(({ hot }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { ...base, role: 'server' });
      let n = 0;
      session.incoming$.subscribe((req) => {
        if (n++ === 0) req.accept().reset(0xdeadbeef);
        else req.reject('busy', 503);
      });
      peer.feed(hot('-ab', { a: f.syn(1), b: f.syn(3) }));
      at(hot, 3, () => (hex = toHex(encodeFrames(peer.written.slice()))));
    });
    expect(hex).toBe(
      [
        '000100020000000100000000', // ACK
        '0001000800000001deadbeef', // RST, code 0xdeadbeef
        '0001000800000003000001f7', // RST refusing stream 3, code 503
      ].join(''),
    );
  });

  it('in the rxmux profile the bare RST used when the reason does not fit the credit carries the code', () => {
    // The first write uses up the peer's whole window: the Data|RST form (code and reason) cannot fit.
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'server', keepAlive: false, closeTimeout: 0, maxFrameSize: 256 * 1024 });
      let ch!: Channel;
      session.incoming$.subscribe((req) => {
        ch = req.accept();
      });
      peer.feed(hot('-o', { o: f.open(1) }));
      at(hot, 2, () => void ch.write(new Uint8Array(256 * 1024)));
      at(hot, 3, () => ch.reset(9, 'no room for this reason'));
      expectObservable(peer.written$).toBe('-adr', { a: f.accept(1), d: f.data(1, new Uint8Array(256 * 1024)), r: f.rst(1, 9) });
    });
  });

  it.each([-1, 1.5, 2 ** 32, Number.NaN])('reset(%p) throws ERR_MUX_INVALID_ARGUMENT and leaves the channel open', (code) => {
    testScheduler().run(({ hot }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { ...base, role: 'client' });
      at(hot, 1, () =>
        session.open().subscribe((ch) => {
          expect(() => ch.reset(code)).toThrow(expect.objectContaining({ code: 'ERR_MUX_INVALID_ARGUMENT' }));
          expect(ch.state).toBe('opening');
        }),
      );
    });
  });
});
