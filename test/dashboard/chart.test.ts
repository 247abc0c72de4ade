/**
 * The dashboard's axis arithmetic (dashboard/chart.js is a browser module with no DOM use at
 * import, so node can load it as it is).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';

interface ChartModule {
  niceTicks(lo: number, hi: number, count: number): number[];
  formatTick(v: number): string;
}

describe('dashboard/chart.js axes', () => {
  it('picks round ticks near the asked count', async () => {
    const chart = (await import(pathToFileURL(join(process.cwd(), 'dashboard', 'chart.js')).href)) as ChartModule;
    assert.deepEqual(chart.niceTicks(1.3, 9.6, 4), [2, 4, 6, 8]);
    assert.deepEqual(chart.niceTicks(0, 0.0031, 4), [0, 0.001, 0.002, 0.003]);
    assert.deepEqual(chart.niceTicks(1, 40, 6), [10, 20, 30, 40]);
    assert.deepEqual(chart.niceTicks(0.38, 3.55, 4), [1, 2, 3]);
    assert.deepEqual(chart.niceTicks(3950, 4420, 4), [4000, 4200, 4400]);
    assert.deepEqual(chart.niceTicks(5, 5, 4), [5]);
    assert.deepEqual(['0', '0.003', '1.25', '4.4e+5', '-2.5e-4'], [0, 0.003, 1.2512, 440000, -0.00025].map(chart.formatTick));
  });
});
