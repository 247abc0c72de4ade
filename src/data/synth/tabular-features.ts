/**
 * @module data/synth/tabular-features
 * The synthetic tabular profile: eight features, each a noisy view of the traits (or, for
 * account_years, of nothing at all), with the odd value missing. The categorical vocabularies
 * are fixed here; numeric means and stds come from the generated users (src/data/synth/write.ts).
 */
import type { Rng } from '../../util/rng.js';
import { chance } from './draws.js';
import { AGE_BANDS, CITY_TIERS, MEMBERSHIPS, PHONE_TIERS } from './catalog.js';
import type { Traits } from './traits.js';

/** Feature names and kinds in schema order; categorical ones list their categories. */
export const SYNTH_TABULAR_FEATURES = [
  { name: 'age_band', kind: 'categorical', categories: [...AGE_BANDS] },
  { name: 'city_tier', kind: 'categorical', categories: [...CITY_TIERS] },
  { name: 'phone_tier', kind: 'categorical', categories: [...PHONE_TIERS] },
  { name: 'membership', kind: 'categorical', categories: [...MEMBERSHIPS] },
  { name: 'monthly_income', kind: 'numeric' },
  { name: 'credit_score', kind: 'numeric' },
  { name: 'account_years', kind: 'numeric' },
  { name: 'active_days', kind: 'numeric' },
] as const;

/** Probability that a numeric value is missing from a profile. */
const MISSING_VALUE = 0.04;

/**
 * One user's tabular values; `noise` is the std of the observation noise on the purchasing-power
 * signals (income, credit score, phone tier), in units of the latent score.
 */
export function tabularOf(t: Traits, rng: Rng, noise: number): Record<string, number | string> {
  const seen = (scale: number) => t.power + scale * noise * rng.normal();
  const phone = seen(1.3);
  const member = 0.8 * Math.log(t.activity) + 0.5 * seen(1.5);
  const values: Record<string, number | string> = {
    age_band: AGE_BANDS[t.age],
    city_tier: CITY_TIERS[t.city],
    phone_tier: PHONE_TIERS[phone < -0.5 ? 0 : phone < 0.7 ? 1 : 2],
    membership: MEMBERSHIPS[member < -0.3 ? 0 : member < 0.5 ? 1 : 2],
    monthly_income: Math.round((8000 * Math.exp(0.45 * seen(1))) / 100) * 100,
    credit_score: Math.round(650 + 60 * seen(1.2)),
    account_years: Math.round((0.5 + 9.5 * rng.next()) * 10) / 10,
    active_days: Math.max(1, Math.min(60, Math.round(24 * t.activity + 4 * rng.normal()))),
  };
  for (const name of ['monthly_income', 'credit_score', 'account_years', 'active_days']) {
    if (chance(rng, MISSING_VALUE)) delete values[name];
  }
  return values;
}
