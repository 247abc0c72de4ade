/**
 * @module config/formats
 * convict format helpers that give messages naming the allowed values.
 */

/** A string that must be one of `values`. */
export function oneOf<T extends string>(values: readonly T[]): (val: unknown) => void {
  return (val: unknown) => {
    if (typeof val !== 'string' || !values.includes(val as T)) {
      throw new Error(`must be one of ${values.map((v) => JSON.stringify(v)).join(', ')}; got ${JSON.stringify(val)}`);
    }
  };
}

/** An array of strings, each from `allowed` when given. */
export function stringList(allowed?: readonly string[]): (val: unknown) => void {
  return (val: unknown) => {
    if (!Array.isArray(val) || val.some((v) => typeof v !== 'string')) {
      throw new Error(`must be an array of strings; got ${JSON.stringify(val)}`);
    }
    if (allowed) {
      const bad = val.filter((v) => !allowed.includes(v));
      if (bad.length) throw new Error(`unknown entries ${JSON.stringify(bad)}; allowed: ${allowed.join(', ')}`);
    }
  };
}

/** A finite number in [min, max]. */
export function range(min: number, max: number): (val: unknown) => void {
  return (val: unknown) => {
    if (typeof val !== 'number' || !Number.isFinite(val) || val < min || val > max) {
      throw new Error(`must be a number in [${min}, ${max}]; got ${JSON.stringify(val)}`);
    }
  };
}

/** A finite number greater than zero. */
export function positive(val: unknown): void {
  if (typeof val !== 'number' || !Number.isFinite(val) || val <= 0) throw new Error(`must be a number > 0; got ${JSON.stringify(val)}`);
}

/** A finite number >= 0. */
export function nonNegative(val: unknown): void {
  if (typeof val !== 'number' || !Number.isFinite(val) || val < 0) throw new Error(`must be a number >= 0; got ${JSON.stringify(val)}`);
}
