/**
 * Mocha's globals as the compliance runs use them (the repository's type checking knows jest's, which differ), and a
 * guard that fails the run unless the expected number of tests passed: a suite that registered nothing, or fewer
 * tests than it should, must not pass.
 */
interface MochaContext {
  currentTest?: { state?: string; fullTitle(): string };
}

interface MochaGlobals {
  describe(title: string, fn: () => void): void;
  beforeEach(fn: () => Promise<void>): void;
  afterEach(fn: (this: MochaContext) => void): void;
  after(fn: () => Promise<void> | void): void;
}

/** Mocha's describe/hooks (the run is mocha's, not jest's). */
export const mocha = globalThis as unknown as MochaGlobals;

/** Fails the run in a root `after` hook unless exactly `expected` tests passed. */
export function expectPassed(expected: number, label: string): void {
  let passed = 0;
  const failed: string[] = [];
  mocha.afterEach(function () {
    if (this.currentTest?.state === 'passed') passed++;
    else if (this.currentTest) failed.push(this.currentTest.fullTitle());
  });
  mocha.after(() => {
    console.log(`${label}: ${passed}/${expected} passed`);
    if (passed !== expected)
      throw new Error(`${label}: ${passed} of ${expected} tests passed${failed.length ? ` (failed: ${failed.join('; ')})` : ''}`);
  });
}
