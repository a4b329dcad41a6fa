// The one option validator: every bad option of every API is a MuxError ERR_MUX_INVALID_OPTION with one message
// shape, "<api>: option <name>: expected <what>, got <value>".
import type { SchedulerLike } from 'rxjs';
import { MuxError } from '../errors.js';

/** The error for a bad option. `where` names the API (`memoryPair`), or is empty for session options. */
export function badOption(where: string, name: string, expected: string, ...got: [unknown?]): MuxError {
  const value = got[0];
  const shown = got.length > 0 ? `, got ${typeof value === 'string' ? `'${value}'` : String(value)}` : '';
  return new MuxError('ERR_MUX_INVALID_OPTION', `${where ? `${where}: ` : ''}option ${name}: expected ${expected}${shown}`);
}

/** Throws unless `options` is an object. */
export function checkOptionsObject(where: string, options: unknown): void {
  if (options === null || typeof options !== 'object') {
    throw new MuxError(
      'ERR_MUX_INVALID_OPTION',
      `${where ? `${where}: ` : ''}options: expected an object, got ${options === null ? 'null' : typeof options}`,
    );
  }
}

/** An integer option from `min` to `max` (inclusive); `fallback` when undefined. */
export function intOption(
  where: string,
  name: string,
  value: unknown,
  fallback: number,
  min: number,
  max: number = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw badOption(where, name, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

/** A boolean option; `fallback` when undefined. */
export function boolOption<F extends boolean | undefined>(where: string, name: string, value: unknown, fallback: F): boolean | F {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw badOption(where, name, 'a boolean', value);
  return value;
}

/** One of `allowed`; `fallback` when undefined. */
export function oneOfOption<T extends string>(where: string, name: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw badOption(
      where,
      name,
      allowed
        .map((a) => `'${a}'`)
        .join(', ')
        .replace(/, ([^,]*)$/, ' or $1'),
      value,
    );
  }
  return value as T;
}

/** A function option (undefined allowed). */
export function fnOption<F extends (...args: never[]) => unknown>(where: string, name: string, value: unknown): F | undefined {
  if (value !== undefined && typeof value !== 'function') throw badOption(where, name, 'a function', typeof value);
  return value as F | undefined;
}

/** An RxJS SchedulerLike option; `fallback` when undefined. */
export function schedulerOption(where: string, value: unknown, fallback: SchedulerLike): SchedulerLike {
  if (value === undefined) return fallback;
  const s = value as SchedulerLike;
  if (s === null || typeof s !== 'object' || typeof s.schedule !== 'function' || typeof s.now !== 'function') {
    throw badOption(where, 'scheduler', 'an RxJS SchedulerLike');
  }
  return s;
}
