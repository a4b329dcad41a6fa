// The replay store of one session: the bytes of its replayed sequence (Data, WindowUpdate and GoAway frames) from the
// peer's acknowledged position on, as views of what was written (no copies). Released by acknowledgements only.

/** Views of the replayed sequence from {@link base} to {@link end}. */
export class ReplayStore {
  private segs: Uint8Array[] = [];
  private head = 0;
  /** Position of the first byte held (everything before it was acknowledged). */
  base = 0;
  /** Position after the last byte written. */
  end = 0;
  /** Most bytes held at once. */
  peak = 0;

  /** Bytes held now. */
  get bytes(): number {
    return this.end - this.base;
  }

  /** Appends bytes of the sequence (kept as a view: the writer never reuses what it handed over). */
  push(view: Uint8Array): void {
    if (view.byteLength === 0) return;
    this.segs.push(view);
    this.end += view.byteLength;
    if (this.end - this.base > this.peak) this.peak = this.end - this.base;
  }

  /** True when the store holds every byte from `position` on. */
  holds(position: number): boolean {
    return position >= this.base && position <= this.end;
  }

  /** Forgets everything before `position` (at most {@link end}). */
  release(position: number): void {
    if (position <= this.base) return;
    const segs = this.segs;
    while (this.head < segs.length) {
      const seg = segs[this.head]!;
      const next = this.base + seg.byteLength;
      if (next <= position) {
        segs[this.head++] = EMPTY;
        this.base = next;
        continue;
      }
      segs[this.head] = seg.subarray(position - this.base);
      this.base = position;
      break;
    }
    if (this.head === segs.length) {
      this.segs = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > segs.length) {
      this.segs = segs.slice(this.head);
      this.head = 0;
    }
  }

  /** Views of every byte from `position` (held) to the end, in order. */
  from(position: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    let at = this.base;
    for (let i = this.head; i < this.segs.length; i++) {
      const seg = this.segs[i]!;
      const next = at + seg.byteLength;
      if (next > position) out.push(at >= position ? seg : seg.subarray(position - at));
      at = next;
    }
    return out;
  }

  /** Forgets everything (the peer does not resume, or the session is over). */
  clear(): void {
    this.segs = [];
    this.head = 0;
    this.base = this.end;
  }
}

const EMPTY = new Uint8Array(0);
