/**
 * @module data/topics
 * The topic of a training record for instruction-grouped batching (`data.batching =
 * by_instruction`): its instruction text, the records without one forming their own topic. The
 * data set index stores one 32-bit key per record (computed while indexing, so grouping costs
 * no extra read); `topicGroups` turns the keys into dense group ids in key order, the same on
 * every rank.
 */

/** 32-bit key of an instruction: 0 for none, else its FNV-1a hash (never 0). */
export function topicKey(instruction: string | null | undefined): number {
  if (instruction === null || instruction === undefined) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < instruction.length; i++) {
    h ^= instruction.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h === 0 ? 1 : h;
}

/** Dense group ids 0..G−1 of the keys, in ascending key order (no instruction = group 0 when present). */
export function topicGroups(keys: Uint32Array): { groupOf: Int32Array; groups: number } {
  const distinct = [...new Set(keys)].sort((a, b) => a - b);
  const id = new Map(distinct.map((k, g) => [k, g]));
  return { groupOf: Int32Array.from(keys, (k) => id.get(k)!), groups: distinct.length };
}
