/**
 * @module tokenizers/wordpiece-trainer
 * Learns a WordPiece vocabulary from text, as Hugging Face's `WordPieceTrainer` does: words are
 * normalised and split exactly as the written `tokenizer.json` will split them (BERT normaliser,
 * lowercase, BERT pre-tokenizer — run through `@huggingface/tokenizers` itself, so training and
 * use cannot disagree), start as characters (`h ##e ##l ##l ##o`), and the most frequent adjacent
 * pair is merged until the vocabulary has `size` tokens or no pair occurs `minFrequency` times.
 * Inference then matches greedily longest-first, as BERT does. Frequent words end up as one
 * token each; rare ones split into pieces instead of letters.
 *
 * Vocabulary order: the five BERT specials, every printable ASCII character and its `##` form
 * (so any ASCII text tokenizes without [UNK], like the built-in tiny vocabulary), the other
 * characters seen (most frequent first, at most `maxAlphabet`), then the merges in the order
 * they were learned. Deterministic: ties go to the pair that sorts first.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { UsageError } from '../errors.js';
import { WORDPIECE_TOKENIZER_CONFIG, wordPieceTokenizerJson } from './hf-tokenizer.js';

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

export interface WordPieceTrainOptions {
  /** Vocabulary size, specials and characters included. */
  size: number;
  /** A pair merges only when it occurs at least this often (default 2). */
  minFrequency?: number;
  /** Non-ASCII characters kept (most frequent first; default 1000). */
  maxAlphabet?: number;
}

export interface TrainedVocabulary {
  /** Tokens, id = index. */
  vocab: string[];
  /** HF tokenizer.json object of the vocabulary (BERT uncased). */
  tokenizerJson: object;
  /** Distinct words seen, and how many of them are one token each. */
  words: number;
  wholeWords: number;
  /** Share of word occurrences that are one token. */
  wholeWordShare: number;
}

/** Counts words the way the WordPiece tokenizer will see them. */
export class WordCounter {
  readonly counts = new Map<string, number>();
  private readonly tok = new Tokenizer(wordPieceTokenizerJson(SPECIALS, { lowercase: true }), WORDPIECE_TOKENIZER_CONFIG);

  add(text: string, times = 1): void {
    if (text === '') return;
    const normalised = this.tok.normalizer ? this.tok.normalizer(text) : text;
    const words = this.tok.pre_tokenizer ? this.tok.pre_tokenizer(normalised) : normalised.split(/\s+/);
    for (const w of words) if (w !== '') this.counts.set(w, (this.counts.get(w) ?? 0) + times);
  }
}

/** Learns the vocabulary from word counts. @throws UsageError when `size` cannot hold the specials and characters. */
export function trainWordPiece(counts: ReadonlyMap<string, number>, opts: WordPieceTrainOptions): TrainedVocabulary {
  const minFrequency = opts.minFrequency ?? 2;
  const vocab = [...SPECIALS];
  const have = new Set(vocab);
  const addToken = (t: string) => {
    if (!have.has(t)) {
      have.add(t);
      vocab.push(t);
    }
  };
  for (let code = 0x21; code <= 0x7e; code++) {
    const c = String.fromCharCode(code);
    if (c === c.toLowerCase()) {
      addToken(c);
      addToken(`##${c}`);
    }
  }
  const charCounts = new Map<string, number>();
  for (const [w, n] of counts) for (const c of w) charCounts.set(c, (charCounts.get(c) ?? 0) + n);
  const extra = [...charCounts].filter(([c]) => !have.has(c)).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, opts.maxAlphabet ?? 1000);
  for (const [c] of extra) {
    addToken(c);
    addToken(`##${c}`);
  }
  if (opts.size < vocab.length) {
    throw new UsageError(`--size ${opts.size} cannot hold the ${SPECIALS.length} special tokens and the ${vocab.length - SPECIALS.length} character tokens; use at least ${vocab.length}`);
  }

  // Words as symbol lists; characters outside the alphabet make the word unmergeable ([UNK] at use).
  const words: string[][] = [];
  const freq: number[] = [];
  for (const [w, n] of [...counts].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const chars = [...w];
    if (chars.some((c) => !have.has(c))) continue;
    words.push(chars.map((c, i) => (i === 0 ? c : `##${c}`)));
    freq.push(n);
  }
  const pairs = new PairTable();
  words.forEach((symbols, w) => pairs.addWord(symbols, w, freq[w]!));
  while (vocab.length < opts.size) {
    const best = pairs.popBest(minFrequency);
    if (!best) break;
    const [a, b] = best;
    const merged = a + b.slice(2);
    for (const w of pairs.wordsWith(a, b)) {
      const symbols = words[w]!;
      pairs.addWord(symbols, w, -freq[w]!);
      const next: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i + 1 < symbols.length && symbols[i] === a && symbols[i + 1] === b) {
          next.push(merged);
          i++;
        } else next.push(symbols[i]!);
      }
      words[w] = next;
      pairs.addWord(next, w, freq[w]!);
    }
    addToken(merged);
  }
  const tokenizerJson = wordPieceTokenizerJson(vocab, { lowercase: true });
  let whole = 0;
  let wholeOcc = 0;
  let occ = 0;
  for (const [w, n] of counts) {
    occ += n;
    if (have.has(w)) {
      whole++;
      wholeOcc += n;
    }
  }
  return { vocab, tokenizerJson, words: counts.size, wholeWords: whole, wholeWordShare: occ === 0 ? 0 : wholeOcc / occ };
}

/** Adjacent-pair counts with the words holding each pair, and a max-heap with lazy deletion. */
class PairTable {
  private readonly count = new Map<string, number>();
  private readonly holders = new Map<string, Set<number>>();
  private readonly heap: Array<{ key: string; n: number }> = [];

  addWord(symbols: string[], w: number, n: number): void {
    for (let i = 0; i + 1 < symbols.length; i++) {
      const key = `${symbols[i]} ${symbols[i + 1]}`;
      const c = (this.count.get(key) ?? 0) + n;
      if (c === 0) this.count.delete(key);
      else this.count.set(key, c);
      let h = this.holders.get(key);
      if (!h) this.holders.set(key, (h = new Set()));
      if (n > 0) {
        h.add(w);
        this.push({ key, n: c });
      } else if (c === 0) this.holders.delete(key);
    }
  }

  /** Words that held the pair (a superset: some may no longer hold it; merging those is a no-op). */
  wordsWith(a: string, b: string): number[] {
    return [...(this.holders.get(`${a} ${b}`) ?? [])].sort((x, y) => x - y);
  }

  popBest(minFrequency: number): [string, string] | null {
    while (this.heap.length > 0) {
      const top = this.pop();
      const current = this.count.get(top.key) ?? 0;
      if (current !== top.n) continue; // stale entry
      if (current < minFrequency) return null;
      // The count drops to 0 as the caller re-adds the merged words.
      return top.key.split(' ') as [string, string];
    }
    return null;
  }

  private better(x: { key: string; n: number }, y: { key: string; n: number }): boolean {
    return x.n > y.n || (x.n === y.n && x.key < y.key);
  }

  private push(e: { key: string; n: number }): void {
    const h = this.heap;
    h.push(e);
    for (let i = h.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (!this.better(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): { key: string; n: number } {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.better(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.better(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
