/**
 * Run by fallback.test.ts in a fresh process (the BLAS is looked for once per process): selects
 * wasm twice with the system search off, multiplies with a transpose, and prints its log lines
 * and the result as JSON lines on stdout.
 */
import { blasMatMulActive } from '../../../src/backend/blas/install.js';
import { selectBackend } from '../../../src/backend/select.js';
import { tf } from '../../../src/backend/tf.js';
import { createLogger } from '../../../src/log.js';

const log = createLogger({}, { write: (line) => process.stdout.write(`${line}\n`) });
await selectBackend('wasm', log, { blas: { systemSearch: false } });
await selectBackend('wasm', log, { blas: { systemSearch: false } });
const a = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
const b = tf.tensor3d([[[1, 0, 2], [0, 1, 1]], [[2, 2, 0], [1, -1, 3]]]);
// a [2,3] shared by both batches of b, times b[i]ᵀ: [2, 2, 2].
const y = tf.matMul(a, b, false, true);
process.stdout.write(`${JSON.stringify({ msg: 'result', active: blasMatMulActive(), shape: y.shape, values: Array.from(y.dataSync()) })}\n`);
