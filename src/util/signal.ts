// Lazy observables of a value set once or a value that changes (OnceSignal, Watched): nothing is allocated until someone subscribes.
import { Observable, type Subscriber } from 'rxjs';

/**
 * A value that is set once and replayed to every subscriber, who then completes.
 * Lighter than a ReplaySubject: nothing is allocated until someone subscribes.
 */
export class OnceSignal<T> {
  private subs: Subscriber<T>[] | undefined;
  private set = false;
  private value: T | undefined;

  emit(value: T): void {
    if (this.set) return;
    this.set = true;
    this.value = value;
    const subs = this.subs;
    this.subs = undefined;
    if (subs)
      for (const s of subs) {
        s.next(value);
        s.complete();
      }
  }

  readonly observable: Observable<T> = new Observable<T>((s) => {
    if (this.set) {
      s.next(this.value as T);
      s.complete();
      return;
    }
    (this.subs ??= []).push(s);
    return () => {
      const subs = this.subs;
      if (!subs) return;
      const i = subs.indexOf(s);
      if (i >= 0) subs.splice(i, 1);
    };
  });
}

/**
 * A current value whose changes reach subscribers; the current value is sent on subscribe.
 * Costs nothing while nobody listens.
 */
export class Watched<T> {
  private subs: Subscriber<T>[] | undefined;
  private done = false;

  constructor(private value: T) {}

  set(value: T): void {
    if (value === this.value) return;
    this.value = value;
    const subs = this.subs;
    if (subs) for (const s of subs.slice()) s.next(value);
  }

  /** Completes every subscriber; later subscribers get the last value and completion. */
  complete(): void {
    this.done = true;
    const subs = this.subs;
    this.subs = undefined;
    if (subs) for (const s of subs) s.complete();
  }

  readonly observable: Observable<T> = new Observable<T>((s) => {
    s.next(this.value);
    if (this.done) {
      s.complete();
      return;
    }
    (this.subs ??= []).push(s);
    return () => {
      const subs = this.subs;
      if (!subs) return;
      const i = subs.indexOf(s);
      if (i >= 0) subs.splice(i, 1);
    };
  });
}
