/**
 * @module collectives/bf1616
 * float32 ↔ bfloat16 conversion for gradient compression on the wire. bf16 keeps float32's 8-bit
 * exponent and the top 7 mantissa bits, so a value keeps its range and ~2–3 significant decimal
 * digits (relative rounding error ≤ 2⁻⁸ ≈ 0.39 %). Rounding is to nearest, ties to even, as in
 * PyTorch and TPUs; NaN stays NaN (quieted), ±Inf stays ±Inf, and finite values beyond the
 * largest bf16 round to ±Inf like any IEEE overflow.
 */

/** The bf16 bit pattern of one float32 bit pattern (`bits`, signed or unsigned 32-bit). */
export function bf16BitsOf(bits: number): number {
  const x = bits | 0; // int32 arithmetic throughout: V8 keeps it off the float64 path
  if ((x & 0x7fffffff) > 0x7f800000) return (x >>> 16) | 0x0040; // NaN: keep sign and payload top, set the quiet bit
  // Adding 0x7fff plus the lowest kept bit rounds to nearest with ties to even; the carry may
  // ripple into the exponent, which is exactly the right rounding (up to ±Inf at the top).
  return ((x + 0x7fff + ((x >>> 16) & 1)) | 0) >>> 16;
}

/** Rounds `src` to bf16 bit patterns, written to `dst` (allocated when omitted). */
export function float32ToBf16(src: Float32Array, dst: Uint16Array = new Uint16Array(src.length)): Uint16Array {
  const bits = new Int32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < bits.length; i++) dst[i] = bf16BitsOf(bits[i] as number);
  return dst;
}

/** Widens bf16 bit patterns to float32 (exact). */
export function bf16ToFloat32(src: Uint16Array, dst: Float32Array = new Float32Array(src.length)): Float32Array {
  const bits = new Int32Array(dst.buffer, dst.byteOffset, dst.length);
  for (let i = 0; i < src.length; i++) bits[i] = (src[i] as number) << 16;
  return dst;
}

/** Rounds every value of `values` to the nearest bf16 value, in place; returns `values`. */
export function roundToBf16InPlace(values: Float32Array): Float32Array {
  const bits = new Int32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < bits.length; i++) bits[i] = bf16BitsOf(bits[i] as number) << 16;
  return values;
}
