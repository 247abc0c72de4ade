/**
 * @module data/synth/user
 * One synthetic user from (seed, user index): traits, history and future behaviour, tabular
 * profile, and the UserQA lines made from them. Each part draws from its own seeded stream, so a
 * user is the same whatever else is generated (other users, other record counts), and the
 * difficulty knob maps to the few generator parameters it controls.
 */
import { Rng } from '../../util/rng.js';
import { SOURCE_NAMES, type SourceName } from '../types.js';
import { chance } from './draws.js';
import { FUTURE_WINDOW, HISTORY_WINDOW, generateWindow, type WindowBehaviour } from './behaviour.js';
import type { BehaviourParams } from './event-kinds.js';
import { drawPairs, profileSummary } from './qa.js';
import { scenarioLabels } from './scenarios.js';
import { tabularOf } from './tabular-features.js';
import { sampleTraits, type Traits } from './traits.js';

export interface GeneratorParams {
  seed: number;
  /** 0 = clean, strong signals; 1 = noisy, weak signals (default 0.5). */
  difficulty: number;
  /** Instruction–answer records per training user (plus one general-mode record). */
  pairsPerUser: number;
  /** Most recent history events kept per source. */
  maxEvents: number;
}

/** What the difficulty knob sets. */
export interface DifficultySettings {
  behaviour: BehaviourParams;
  /** Probability that a source has no data for a user. */
  missingSource: number;
  /** Observation noise on the tabular purchasing-power signals. */
  tabularNoise: number;
}

/** Linear in the difficulty d ∈ [0, 1]; at d = 0.5 about a third of all events are irrelevant (test/data/synth.test.ts). */
export function difficultySettings(d: number): DifficultySettings {
  return {
    behaviour: { signal: 1.5 - d, noiseRate: 1 + 6 * d, offModeRate: 0.1 + 0.5 * d },
    missingSource: 0.04 + 0.16 * d,
    tabularNoise: 0.7 + d,
  };
}

/** Training and evaluation users are different people: separate index spaces and id prefixes. */
export type Population = 'train' | 'eval';

export interface SynthUser {
  id: string;
  population: Population;
  index: number;
  traits: Traits;
  history: WindowBehaviour;
  future: WindowBehaviour;
  tabular: Record<string, number | string>;
}

const enum Stream {
  Traits = 1,
  History,
  Future,
  Tabular,
  Pairs,
}

/**
 * User `index` of a population (`u<index>` in training, `e<index>` in evaluation). The
 * evaluation set does not depend on how many training users there are.
 */
export function generateUser(index: number, params: GeneratorParams, population: Population = 'train', settings = difficultySettings(params.difficulty)): SynthUser {
  const rng = (stream: Stream) => userRng(params.seed, population, index, stream);
  const traits = sampleTraits(rng(Stream.Traits));
  const historyRng = rng(Stream.History);
  const missing = new Set<SourceName>(SOURCE_NAMES.filter(() => chance(historyRng, settings.missingSource)));
  if (missing.size === SOURCE_NAMES.length) missing.delete('bill');
  const history = generateWindow(traits, historyRng, settings.behaviour, HISTORY_WINDOW, { missing, maxEvents: params.maxEvents });
  const future = generateWindow(traits, rng(Stream.Future), settings.behaviour, FUTURE_WINDOW);
  const tabular = tabularOf(traits, rng(Stream.Tabular), settings.tabularNoise);
  return { id: `${population === 'train' ? 'u' : 'e'}${index}`, population, index, traits, history, future, tabular };
}

function userRng(seed: number, population: Population, index: number, stream: Stream): Rng {
  return new Rng(seed, 'synth', population, index, stream);
}

/** Training lines of a user: one general-mode record, then `pairsPerUser` instruction records. */
export function trainingLines(user: SynthUser, params: GeneratorParams): string[] {
  const head = profileHead(user);
  const pairs = drawPairs(user, params.pairsPerUser, userRng(params.seed, user.population, user.index, Stream.Pairs));
  return [
    line(head, null, profileSummary(user.traits)),
    ...pairs.map((p) => line(head, p.instruction, p.answer)),
  ];
}

/** The evaluation line of a user: general mode, empty answer, the six scenario labels. */
export function evaluationLine(user: SynthUser): string {
  return `${line(profileHead(user), null, '').slice(0, -1)},"labels":${JSON.stringify(scenarioLabels(user.traits, user.future))}}`;
}

/** `{"user_id":…,"sources":…,"tabular":…` — shared by all of a user's lines, serialised once. */
function profileHead(user: SynthUser): string {
  return JSON.stringify({ user_id: user.id, sources: user.history.events, tabular: user.tabular }).slice(0, -1);
}

function line(head: string, instruction: string | null, answer: string): string {
  return `${head},"instruction":${JSON.stringify(instruction)},"answer":${JSON.stringify(answer)}}`;
}
