/**
 * @module backend/matmul-dims
 * The dimensions of tfjs's `BatchMatMul` as every native kernel reads them (the BLAS kernel on
 * wasm, the cuda backend): a [..., m, k] (or [..., k, m] with transposeA) times b [..., k, n] (or
 * [..., n, k] with transposeB) gives [..., m, n], the leading axes broadcast numpy-style. Throws
 * tfjs's own errors for mismatched inner or batch shapes.
 */
import { tf } from './tf.js';

export interface BatchMatMulDims {
  m: number;
  k: number;
  n: number;
  /** The broadcast leading shape of the output. */
  batchShape: number[];
}

export function batchMatMulDims(aShape: readonly number[], bShape: readonly number[], transposeA: boolean, transposeB: boolean): BatchMatMulDims {
  const ra = aShape.length;
  const rb = bShape.length;
  const m = transposeA ? aShape[ra - 1]! : aShape[ra - 2]!;
  const k = transposeA ? aShape[ra - 2]! : aShape[ra - 1]!;
  const kb = transposeB ? bShape[rb - 1]! : bShape[rb - 2]!;
  const n = transposeB ? bShape[rb - 2]! : bShape[rb - 1]!;
  if (k !== kb) {
    throw new Error(`Error in matMul: inner shapes (${k}) and (${kb}) of Tensors with shapes ${aShape} and ${bShape} and transposeA=${transposeA} and transposeB=${transposeB} must match.`);
  }
  return { m, k, n, batchShape: tf.backend_util.assertAndGetBroadcastShape(aShape.slice(0, -2), bShape.slice(0, -2)) };
}
