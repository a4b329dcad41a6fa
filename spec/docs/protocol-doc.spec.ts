import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { encodeFrame, fromHex, toHex, type Frame } from '../../src/index.js';
import { decodeAll } from '../../src/frame.js';
import { f } from '../../src/testing.js';

const doc = readFileSync(join(resolve(__dirname, '../..'), 'docs', 'PROTOCOL.md'), 'utf8');

/** Every `00 0t ffff iiiiiiii llllllll …` hex example in the document, by the table row it sits in. */
function hexRows(): Map<string, string> {
  const rows = new Map<string, string>();
  for (const line of doc.split('\n')) {
    const m = line.match(/`(00 0[0-3] [0-9a-f]{4} [0-9a-f]{8} [0-9a-f]{8}(?: [0-9a-f]+)*)`/);
    if (m) rows.set(line, m[1]!.replace(/ /g, ''));
  }
  return rows;
}

describe('docs/PROTOCOL.md', () => {
  it('every hex example decodes to exactly one frame that encodes back to the same bytes', () => {
    const rows = hexRows();
    expect(rows.size).toBeGreaterThanOrEqual(16);
    for (const hex of rows.values()) {
      const frames = decodeAll(fromHex(hex), { maxFrameSize: 1 << 20 });
      expect(frames).toHaveLength(1);
      expect(toHex(encodeFrame(frames[0]!))).toBe(hex);
    }
  });

  it.each<[string, Frame]>([
    ['open stream 1 with metadata `hi`', f.open(1, 'hi')],
    ['accept stream 1 with reply `ok`', f.accept(1, 'ok')],
    ['reject or reset stream 3, code 7, reason `bye`', f.reset(3, 7, 'bye')],
    ['open stream 1 with a 1 MiB receive window', f.syn(1, 1024 * 1024 - 256 * 1024)],
    ['accept stream 2 ', f.ack(2)],
    ['reject or reset stream 1 |', f.rst(1)],
    ['reject or reset stream 1 with code 42', f.rst(1, 42)],
    ['FIN for stream 1', f.fin(1)],
    ['Ping request, opaque 1', f.ping(1)],
    ['Ping answer, opaque 1', f.pong(1)],
    ['GoAway, protocol error (1)', f.goAway(1)],
  ])('the row "%s" shows the bytes rxmux writes for it', (label, frame) => {
    const row = [...hexRows()].find(([line]) => line.includes(label));
    expect(row).toBeDefined();
    expect(row![1]).toBe(toHex(encodeFrame(frame)));
  });
});
