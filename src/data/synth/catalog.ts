/**
 * @module data/synth/catalog
 * The words of the synthetic world, as plain tables: trait values and the items, apps, pages and
 * queries each behaviour kind can produce. Kept free of logic so the lexicon
 * (src/data/synth/lexicon.ts) can list every string by walking these objects.
 */

export const AGE_BANDS = ['18-24', '25-34', '35-44', '45-54', '55+'] as const;
/** How each age band reads in answers ("aged 25 to 34"). */
export const AGE_PHRASES = ['18 to 24', '25 to 34', '35 to 44', '45 to 54', 'over 55'] as const;
export const CITY_TIERS = ['1', '2', '3', '4'] as const;

export const COMMUTES = ['metro', 'bus', 'car', 'bike'] as const;
export type Commute = (typeof COMMUTES)[number];

/** Dining categories: bill items, how answers name them, and a typical price in yuan. */
export const DINING = [
  { category: 'fast food', items: ['a burger meal', 'a fried chicken combo'], phrase: 'fast food', price: 35 },
  { category: 'hotpot', items: ['a hotpot dinner', 'a spicy hotpot set'], phrase: 'hotpot restaurants', price: 110 },
  { category: 'fine dining', items: ['a tasting menu', 'a steak dinner'], phrase: 'high-end dining establishments', price: 360 },
  { category: 'healthy food', items: ['a salad bowl', 'a vegan lunch'], phrase: 'healthy light meals', price: 45 },
  { category: 'noodles', items: ['a bowl of beef noodles', 'a ramen set'], phrase: 'noodle shops', price: 30 },
  { category: 'barbecue', items: ['a barbecue platter', 'grilled skewers'], phrase: 'barbecue places', price: 85 },
] as const;

export const FILM_GENRES = ['action', 'comedy', 'romance', 'documentary', 'animation', 'thriller'] as const;

export const CHANNELS = ['mobile wallet', 'credit card', 'debit card', 'bank transfer'] as const;

/** Purchasing power levels (answers) and phone tiers (tabular), low → high. */
export const POWER_LEVELS = ['low', 'medium', 'high'] as const;
export const PHONE_TIERS = ['budget', 'mid', 'flagship'] as const;
export const MEMBERSHIPS = ['none', 'silver', 'gold'] as const;

/** Bill lines per behaviour kind: item, category and a typical amount in yuan (`{genre}` = the user's film taste). */
export const BILL_ITEMS = {
  delivery: { items: ['a food delivery order', 'a takeaway lunch'], category: 'food delivery', price: 40 },
  metro: { items: ['a metro ride', 'a metro card top-up'], category: 'public transit', price: 5 },
  bus: { items: ['a bus fare', 'a bus card top-up'], category: 'public transit', price: 3 },
  car: { items: ['fuel', 'a parking fee', 'a car wash'], category: 'car', price: 120 },
  bike: { items: ['a bike share ride', 'a monthly bike pass'], category: 'bike share', price: 4 },
  game: { items: ['game credits', 'a game item pack'], category: 'mobile games', price: 60 },
  movie: { items: ['a ticket for a {genre} film', 'cinema snacks'], category: 'cinema', price: 45 },
  eco: { items: ['a reusable water bottle', 'second-hand books'], category: 'green goods', price: 50 },
  luxury: { items: ['a designer handbag', 'a silk scarf'], category: 'luxury', price: 2400 },
  clothing: { items: ['a cotton t-shirt', 'running shoes'], category: 'clothing', price: 160 },
  noise: [
    { items: ['groceries'], category: 'supermarket', price: 90 },
    { items: ['a phone bill'], category: 'telecom', price: 60 },
    { items: ['an electricity bill'], category: 'utilities', price: 150 },
    { items: ['cold medicine'], category: 'pharmacy', price: 30 },
    { items: ['snacks', 'bottled water'], category: 'convenience store', price: 15 },
    { items: ['a haircut'], category: 'personal care', price: 50 },
  ],
} as const;

/** Mini-program lines per behaviour kind: app and action. */
export const MINIPRO_APPS = {
  delivery: { app: 'food delivery', actions: ['place an order', 'track an order'] },
  metro: { app: 'metro pass', actions: ['show a ride code'] },
  bus: { app: 'bus pass', actions: ['check bus arrival', 'show a ride code'] },
  car: { app: 'parking', actions: ['pay for parking', 'find a parking spot'] },
  bike: { app: 'bike share', actions: ['unlock a bike'] },
  game: { app: 'game center', actions: ['claim daily rewards', 'join a game event'] },
  movie: { app: 'movie tickets', actions: ['browse showtimes', 'pick seats'] },
  eco: { app: 'green energy', actions: ['collect energy points', 'water a virtual tree'] },
  dining: { app: 'restaurant reviews', actions: ['book a table', 'read reviews'] },
  wealth: { app: 'wealth manager', actions: ['check fund returns', 'buy a fund'] },
  noise: [
    { app: 'weather', actions: ['check the forecast'] },
    { app: 'express delivery', actions: ['track a parcel'] },
    { app: 'utilities', actions: ['pay a bill'] },
    { app: 'health', actions: ['book a checkup'] },
  ],
} as const;

/** Page-position (SPM) lines per behaviour kind: page and clicked element. */
export const SPM_PAGES = {
  eco: { page: 'green energy', elements: ['plant a tree banner', 'energy ranking list'] },
  game: { page: 'games', elements: ['top-up offer', 'new game trailer'] },
  movie: { page: 'movies', elements: ['{genre} film trailer', 'showtime list'] },
  delivery: { page: 'food', elements: ['delivery coupon'] },
  dining: { page: 'food', elements: ['restaurant deals'] },
  metro: { page: 'travel', elements: ['metro line map'] },
  bus: { page: 'travel', elements: ['bus route card'] },
  car: { page: 'travel', elements: ['fuel coupon', 'parking finder'] },
  bike: { page: 'travel', elements: ['bike share card'] },
  wealth: { page: 'wealth', elements: ['fund ranking', 'premium card offer'] },
  noise: [
    { page: 'home', elements: ['news feed', 'daily check-in'] },
    { page: 'coupons', elements: ['coupon center'] },
    { page: 'me', elements: ['settings', 'bill summary'] },
  ],
} as const;

/** Search queries per behaviour kind; `{dining}` and `{genre}` take the user's taste. */
export const SEARCH_QUERIES = {
  dining: ['{dining} near me', 'best {dining} in town'],
  delivery: ['food delivery coupon', 'late night delivery'],
  metro: ['metro line map', 'metro first train time'],
  bus: ['bus route to work', 'bus arrival time'],
  car: ['cheap fuel nearby', 'parking near office'],
  bike: ['bike share pass', 'bike lanes nearby'],
  game: ['game top-up discount', 'new mobile games'],
  movie: ['{genre} films this week', 'cinema showtimes'],
  eco: ['how to plant a tree', 'energy points tips'],
  wealth: ['high yield funds', 'luxury watches'],
  noise: ['weather tomorrow', 'phone recharge', 'parcel tracking', 'holiday schedule', 'news today'],
} as const;
