/**
 * @module data/synth/scenarios
 * The six evaluation scenarios of the paper's Table 1, for synthetic users: binary labels from
 * latent traits (public transit, purchasing power) or from behaviour in the unseen future window
 * (the other four), so no single visible event decides a label; and one manual instruction per
 * scenario for the "instruction-manual" evaluation rows.
 */
import { countOf, type WindowBehaviour } from './behaviour.js';
import { powerLevel, type Traits } from './traits.js';

export const SCENARIO_NAMES = ['eco_activity_click', 'game_topup', 'public_transit', 'purchasing_power', 'food_preference', 'film_preference'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

/** A hand-written instruction per scenario (also one of the training paraphrases). */
export const SCENARIO_INSTRUCTIONS: Record<ScenarioName, string> = {
  eco_activity_click: 'Will this user join a green activity next month?',
  game_topup: 'Will this user top up a game next month?',
  public_transit: 'How does this user usually commute?',
  purchasing_power: "What is this user's purchasing power?",
  food_preference: "Predict the user's food delivery spend next month.",
  film_preference: 'Will this user buy a movie ticket next month?',
};

/** Yes/no facts of the future window that both labels and forward-looking answers use. */
export function futureFlags(future: WindowBehaviour): { ecoClick: boolean; gameTopup: boolean; deliveryFan: boolean; cinema: boolean } {
  return {
    ecoClick: countOf(future, 'eco', ['minipro', 'spm']) >= 1,
    gameTopup: countOf(future, 'game', ['bill']) >= 1,
    deliveryFan: countOf(future, 'delivery', ['bill', 'minipro']) >= 2,
    cinema: countOf(future, 'movie', ['bill', 'spm']) >= 1,
  };
}

/** The six labels of a user. */
export function scenarioLabels(traits: Traits, future: WindowBehaviour): Record<ScenarioName, 0 | 1> {
  const f = futureFlags(future);
  const bit = (b: boolean): 0 | 1 => (b ? 1 : 0);
  return {
    eco_activity_click: bit(f.ecoClick),
    game_topup: bit(f.gameTopup),
    public_transit: bit(traits.commute === 'metro' || traits.commute === 'bus'),
    purchasing_power: bit(powerLevel(traits) === 2),
    food_preference: bit(f.deliveryFan),
    film_preference: bit(f.cinema),
  };
}
