import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { recentEvents, renderEvent, renderTabular, renderUserText } from '../../src/data/render.js';
import { PREAMBLE } from '../../src/data/render-templates.js';
import { record } from './helpers.js';

describe('renderers', () => {
  it('renders each source by its template', () => {
    assert.deepEqual(
      [
        renderEvent('bill', { ts: '2024-03-02', amount: 38.5, item: 'a burger meal', category: 'fast food', channel: 'mobile wallet' }),
        renderEvent('minipro', { ts: '2024-03-02T08:15:00', app: 'bike share', action: 'unlock a bike' }),
        renderEvent('spm', { ts: '2024-03-03', page: 'games', element: 'top-up offer' }),
        renderEvent('search', { ts: '2024-03-04', text: 'hotpot near me' }),
      ],
      [
        'On 2024-03-02 paid 38.50 yuan for a burger meal (fast food) via mobile wallet',
        'On 2024-03-02 at 08:15 opened the bike share mini program to unlock a bike',
        'On 2024-03-03 clicked the top-up offer on the games page',
        'On 2024-03-04 searched for "hotpot near me"',
      ],
    );
  });

  it('leaves out missing clauses and appends unknown fields and text', () => {
    assert.equal(
      renderEvent('bill', { ts: '2024-03-02', amount: 12, merchant_city: 'Hangzhou', refund: false, text: 'team lunch' }),
      'On 2024-03-02 paid 12 yuan team lunch merchant city Hangzhou refund no',
    );
  });

  it('renders tabular values in key order', () => {
    assert.equal(renderTabular({ age_band: '25-34', monthly_income: 8200, city_tier: '2' }), 'age band 25-34, monthly income 8200, city tier 2');
  });

  it('keeps the most recent events, oldest first, sorting when needed', () => {
    const events = [{ ts: '2024-01-05' }, { ts: '2024-01-01' }, { ts: '2024-01-09' }, { ts: '2024-01-03' }];
    assert.deepEqual(recentEvents(events, 3), [{ ts: '2024-01-03' }, { ts: '2024-01-05' }, { ts: '2024-01-09' }]);
  });

  it('builds the Fig. 3 text form', () => {
    const r = record(1);
    const body =
      '<bill> On 2024-01-02 paid 11 yuan for a burger meal (fast food) via mobile wallet </bill> <minipro> </minipro> ' +
      '<spm> On 2024-01-03 clicked the top-up offer on the games page </spm> <search> On 2024-01-04 searched for "query 1" </search> ' +
      '<tabular> age band 25-34, monthly income 8001 </tabular>';
    assert.equal(renderUserText(r), `${PREAMBLE} ${body} Instruction: question 1? <USER>`);
    assert.equal(renderUserText({ ...r, instruction: null }, { preamble: 'none' }), `${body} <USER>`);
    assert.equal(renderUserText(r, { preamble: 'none', useSequences: false }), '<tabular> age band 25-34, monthly income 8001 </tabular> Instruction: question 1? <USER>');
  });
});
