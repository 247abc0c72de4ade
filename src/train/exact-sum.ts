/**
 * @module train/exact-sum
 * A gradient sum whose bits do not depend on how the terms are grouped, so that 1, 2, 3 or 4
 * ranks — and any history of faults and resizes — follow the same trajectory to the bit
 * (float32 addition is not associative: over hundreds of Adam steps the rounding differences of
 * a rank-order sum grow into different weights).
 *
 * Each term (one micro-batch's gradient) is rounded to fixed point at a scale every rank agrees
 * on — per tensor, from the largest |value| of any term on any rank — and fixed-point values add
 * exactly. On the wire a sum travels as three 16-bit limbs in float32 (exact for fewer than 256
 * ranks), so the float32 all-reduce stays exact; the result is the exact sum of the rounded
 * terms, with 2⁻⁴⁶ of the tensor's largest term as resolution (finer than float32 near the top).
 */

/** One segment of the vector with its own scale (a tensor, or the LM loss sum). */
export interface Segment {
  offset: number;
  size: number;
}

/** Headroom: the exact local sum must stay below 2^53, the joined total below 2^47 (three 16-bit limbs). */
const TOTAL_BITS = 46;
const LIMB = 65536;

/** Largest |value| per segment over `terms`. */
export function segmentMaxima(terms: readonly Float32Array[], segments: readonly Segment[]): Float32Array {
  const out = new Float32Array(segments.length);
  segments.forEach((seg, s) => {
    let m = 0;
    for (const t of terms) for (let i = seg.offset; i < seg.offset + seg.size; i++) m = Math.max(m, Math.abs(t[i]!));
    out[s] = m;
  });
  return out;
}

/** Per segment, the power-of-two scale at which `count` terms of at most `maxAbs` sum below 2^46. */
export function segmentScales(maxAbs: ArrayLike<number>, count: number): Float64Array {
  const out = new Float64Array(maxAbs.length);
  for (let s = 0; s < maxAbs.length; s++) {
    const bound = (maxAbs[s] ?? 0) * Math.max(1, count);
    out[s] = bound > 0 ? 2 ** (TOTAL_BITS - Math.ceil(Math.log2(bound)) - 1) : 1;
  }
  return out;
}

/** The exact fixed-point sum of `terms` (integers in float64), each value rounded at its segment's scale. */
export function fixedPointSum(terms: readonly Float32Array[], segments: readonly Segment[], scales: Float64Array, length: number): Float64Array {
  const acc = new Float64Array(length);
  segments.forEach((seg, s) => {
    const scale = scales[s]!;
    for (const t of terms) for (let i = seg.offset; i < seg.offset + seg.size; i++) acc[i]! += Math.round(t[i]! * scale);
  });
  return acc;
}

/** A fixed-point vector as three float32 limbs per value (low, middle, signed high), laid out [low | mid | high]. */
export function toLimbs(acc: Float64Array): Float32Array {
  const n = acc.length;
  const out = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    const v = acc[i]!;
    const high = Math.floor(v / (LIMB * LIMB));
    const rest = v - high * LIMB * LIMB;
    const mid = Math.floor(rest / LIMB);
    out[i] = rest - mid * LIMB;
    out[n + i] = mid;
    out[2 * n + i] = high;
  }
  return out;
}

/** Summed limbs back to float32 values (divided by their segment's scale). */
export function fromLimbs(limbs: Float32Array, segments: readonly Segment[], scales: Float64Array): Float32Array {
  const n = limbs.length / 3;
  const out = new Float32Array(n);
  segments.forEach((seg, s) => {
    const inv = 1 / scales[s]!;
    for (let i = seg.offset; i < seg.offset + seg.size; i++) {
      out[i] = (limbs[i]! + LIMB * limbs[n + i]! + LIMB * LIMB * limbs[2 * n + i]!) * inv;
    }
  });
  return out;
}
