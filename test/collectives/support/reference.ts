/**
 * Reference results for collective tests, computed the plain way: inputs drawn from a seeded
 * RNG per rank, and the sum folded rank by rank in float32 (the documented order), with the
 * documented bf16 rounding when bf16 travels.
 */
import { roundToBf16InPlace } from '../../../src/collectives/bf16.js';
import type { WireDtype } from '../../../src/protocol/messages.js';
import { Rng } from '../../../src/util/rng.js';

/** Rank `rank`'s test input of `length` values, reproducible in any process. */
export function rankInput(seed: string, rank: number, length: number): Float32Array {
  return new Rng(seed, rank).normalArray(length, 1);
}

/** x_0 + x_1 + … + x_{n−1}, left to right in float32; bf16: bf16(Σ bf16(x_r)). */
export function referenceSum(inputs: Float32Array[], wire: WireDtype = 'float32'): Float32Array {
  const cast = (x: Float32Array) => (wire === 'bf16' ? roundToBf16InPlace(x.slice()) : x);
  const acc = cast(inputs[0] as Float32Array).slice();
  for (const x of inputs.slice(1).map(cast)) for (let i = 0; i < acc.length; i++) acc[i] = (acc[i] as number) + (x[i] as number);
  return wire === 'bf16' ? roundToBf16InPlace(acc) : acc;
}

/** The raw bits, for bit-for-bit comparisons that also distinguish -0 and NaN payloads. */
export function bits(values: Float32Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length);
}
