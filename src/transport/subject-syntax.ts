/**
 * @module transport/subject-syntax
 * NATS subject syntax, shared by both transports so they accept and match exactly the same
 * subjects: tokens separated by `.`, no empty tokens or whitespace; in subscriptions `*` matches
 * one token and a final `>` one or more. Validating before publishing matters for NATS too: a
 * malformed subject makes the server drop the whole connection.
 */
import { TransportError } from './transport.js';

const BAD_CHARS = /[\s]/;

/** Throws `TransportError('BAD_SUBJECT')` unless `subject` is valid (`wildcards`: allow `*`/`>` tokens). */
export function validateSubject(subject: string, wildcards: boolean): void {
  const fail = (why: string) => {
    throw new TransportError('BAD_SUBJECT', `invalid subject "${subject}": ${why}`);
  };
  if (subject.length === 0) fail('empty');
  if (BAD_CHARS.test(subject)) fail('contains whitespace');
  const tokens = subject.split('.');
  tokens.forEach((token, i) => {
    if (token.length === 0) fail('empty token');
    const isWildcard = token === '*' || token === '>';
    if (!isWildcard && (token.includes('*') || token.includes('>'))) fail(`"${token}" mixes a wildcard with text`);
    if (isWildcard && !wildcards) fail('wildcards are only allowed when subscribing');
    if (token === '>' && i !== tokens.length - 1) fail('">" must be the last token');
  });
}

/** True if the literal `subject` matches the (possibly wildcard) `pattern`. */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

/** True if `token` can be used as one subject token (no dots, wildcards or whitespace). */
export function isSubjectToken(token: string): boolean {
  return /^[A-Za-z0-9_-]+$/.test(token);
}
