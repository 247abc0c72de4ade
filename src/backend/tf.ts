/**
 * @module backend/tf
 * The single import point of TensorFlow.js. Everything else imports `tf` from here, so that the
 * library (and the optional native packages, which re-export it) are loaded in one place.
 */
import * as tf from '@tensorflow/tfjs';

export { tf };
export type Tensor = tf.Tensor;
export type Variable = tf.Variable;
