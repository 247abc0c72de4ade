/**
 * @module data/synth/qa
 * Instruction–answer pairs of the synthetic UserQA (paper §3.2): descriptive questions answered
 * from the latent traits ("What is this user's dining preference?" → "The user prefers …"),
 * forward-looking ones answered from the future window ("Predict the user's food delivery spend
 * next month."), and the general-mode answer, a holistic profile that states every latent trait
 * the six scenarios depend on (so the universal embedding has something to learn for each).
 * Every answer depends on the trait or future behaviour its question asks about, and on nothing
 * else; no answer reads the future window except the forward-looking ones.
 */
import type { Rng } from '../../util/rng.js';
import { fill } from '../render-templates.js';
import { AGE_PHRASES, DINING, FILM_GENRES, POWER_LEVELS } from './catalog.js';
import { countOf, type WindowBehaviour } from './behaviour.js';
import { pick } from './draws.js';
import { futureFlags } from './scenarios.js';
import { powerLevel, type Traits } from './traits.js';

/** What an answer is computed from. */
export interface AnswerInput {
  traits: Traits;
  future: WindowBehaviour;
}

interface Question {
  /** Paraphrases; one is drawn per record. */
  instructions: readonly string[];
  /** Answer templates; `pick` chooses one and fills its slots. */
  answers: readonly string[];
  pick(u: AnswerInput): { answer: number; slots?: Record<string, string> };
}

const level3 = (z: number) => (z > 0.5 ? 0 : z > -0.5 ? 1 : 2);
const roundTo = (x: number, step: number) => String(Math.round(x / step) * step);

/** The question bank, keyed by topic. */
export const QUESTIONS: Record<string, Question> = {
  dining: {
    instructions: ["What is this user's dining preference?", 'Which dining category does this user prefer?'],
    answers: ['The user prefers {dining}.'],
    pick: (u) => ({ answer: 0, slots: { dining: DINING[u.traits.dining].phrase } }),
  },
  commute: {
    instructions: ['How does this user usually commute?', "What is this user's main way to get around?"],
    answers: ['The user mostly commutes by {commute}.'],
    pick: (u) => ({ answer: 0, slots: { commute: u.traits.commute } }),
  },
  power: {
    instructions: ["What is this user's purchasing power?", 'How much spending power does this user have?'],
    answers: ['The user has {level} purchasing power.'],
    pick: (u) => ({ answer: 0, slots: { level: POWER_LEVELS[powerLevel(u.traits)] } }),
  },
  age: {
    instructions: ['Which age group does this user belong to?', 'How old is this user?'],
    answers: ['The user is likely aged {age}.'],
    pick: (u) => ({ answer: 0, slots: { age: AGE_PHRASES[u.traits.age] } }),
  },
  gaming: {
    instructions: ['Is this user interested in mobile games?', 'How much does this user like mobile games?'],
    answers: ['The user plays mobile games a lot.', 'The user plays mobile games now and then.', 'The user rarely plays mobile games.'],
    pick: (u) => ({ answer: level3(u.traits.gaming) }),
  },
  eco: {
    instructions: ['How eco-minded is this user?', 'Does this user care about green living?'],
    answers: ['The user cares a lot about green living.', 'The user cares somewhat about green living.', 'The user shows little interest in green living.'],
    pick: (u) => ({ answer: level3(u.traits.eco) }),
  },
  film: {
    instructions: ['What kind of films does this user like?', 'Which film genre does this user prefer?'],
    answers: ['The user enjoys {genre} films.'],
    pick: (u) => ({ answer: 0, slots: { genre: FILM_GENRES[u.traits.film] } }),
  },
  delivery_spend: {
    instructions: ["Predict the user's food delivery spend next month.", 'How much will this user spend on food delivery next month?'],
    answers: ['The user will spend about {amount} yuan on food delivery next month.', 'The user will not order food delivery next month.'],
    pick: (u) => (u.future.spend.delivery > 0 ? { answer: 0, slots: { amount: roundTo(u.future.spend.delivery, 10) } } : { answer: 1 }),
  },
  transit_trips: {
    instructions: ['How often will this user ride public transit next month?', "Predict the user's public transit use next month."],
    answers: ['The user will take about {n} transit trips next month.', 'The user will not use public transit next month.'],
    pick: (u) => {
      const n = countOf(u.future, 'metro') + countOf(u.future, 'bus');
      return n > 0 ? { answer: 0, slots: { n: String(n) } } : { answer: 1 };
    },
  },
  game_topup: {
    instructions: ['Will this user top up a game next month?', 'Predict whether the user will buy game credits next month.'],
    answers: ['Yes, the user will top up a game next month.', 'No, the user will not top up a game next month.'],
    pick: (u) => ({ answer: futureFlags(u.future).gameTopup ? 0 : 1 }),
  },
  green_activity: {
    instructions: ['Will this user join a green activity next month?', 'Predict whether the user will collect energy points next month.'],
    answers: ['Yes, the user will join a green activity next month.', 'No, the user will skip green activities next month.'],
    pick: (u) => ({ answer: futureFlags(u.future).ecoClick ? 0 : 1 }),
  },
  movie_ticket: {
    instructions: ['Will this user buy a movie ticket next month?', 'Predict whether the user will go to the cinema next month.'],
    answers: ['Yes, the user will go to the cinema next month.', 'No, the user will not go to the cinema next month.'],
    pick: (u) => ({ answer: futureFlags(u.future).cinema ? 0 : 1 }),
  },
  total_spend: {
    instructions: ["Predict the user's total spend next month.", 'How much will this user spend next month?'],
    answers: ['The user will spend about {amount} yuan next month.'],
    pick: (u) => ({ answer: 0, slots: { amount: roundTo(Object.values(u.future.spend).reduce((a, b) => a + b, 0), 50) } }),
  },
};

/** Topics in a fixed order (the draw order of pairs). */
export const TOPICS = Object.keys(QUESTIONS);

/**
 * General-mode answer: a holistic profile in one sentence, with the level of each habit behind
 * the scenarios (gaming, green-mindedness, food delivery, cinema) in words the lexicon has.
 */
export const PROFILE_TEMPLATE =
  'Aged {age}, {level} purchasing power, commutes by {commute}, likes {dining} and {genre} films; mobile games: {gaming}; green living: {eco}; food delivery: {delivery}; cinema: {cinema}.';

/** How often a habit shows (latent score > 0.5, > −0.5, else), and how much green living matters. */
export const HABIT_LEVELS = ['often', 'now and then', 'rarely'] as const;
export const CARE_LEVELS = ['a lot', 'somewhat', 'little'] as const;

/** The answer text of `topic` for a user. */
export function answerFor(topic: string, u: AnswerInput): string {
  const q = QUESTIONS[topic];
  const { answer, slots } = q.pick(u);
  return fill(q.answers[answer], slots ?? {});
}

/** The general-mode answer of a user. */
export function profileSummary(t: Traits): string {
  return fill(PROFILE_TEMPLATE, {
    age: AGE_PHRASES[t.age],
    level: POWER_LEVELS[powerLevel(t)],
    commute: t.commute,
    dining: DINING[t.dining].category,
    genre: FILM_GENRES[t.film],
    gaming: HABIT_LEVELS[level3(t.gaming)],
    eco: CARE_LEVELS[level3(t.eco)],
    delivery: HABIT_LEVELS[level3(t.delivery)],
    cinema: HABIT_LEVELS[level3(t.cinema)],
  });
}

/** `count` distinct topics, each with one of its paraphrases, drawn with `rng`. */
export function drawPairs(u: AnswerInput, count: number, rng: Rng): Array<{ instruction: string; answer: string }> {
  const topics = rng.shuffle(TOPICS.slice()).slice(0, Math.min(count, TOPICS.length));
  return topics.map((topic) => ({ instruction: pick(rng, QUESTIONS[topic].instructions), answer: answerFor(topic, u) }));
}
