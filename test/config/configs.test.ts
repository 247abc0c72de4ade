import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configHash, loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { readFileSync } from 'node:fs';
import { configDocs } from '../../scripts/config-docs.js';

const configsDir = join(process.cwd(), 'configs');

describe('configs', () => {
  for (const file of readdirSync(configsDir).filter((f) => f.endsWith('.json'))) {
    it(`${file} validates strictly`, () => {
      const config = loadConfig({ file: join(configsDir, file), env: {} });
      assert.equal(config.name, file.replace(/\.json$/, ''));
      assert.ok(Object.isFrozen(config.model.decoder));
    });
  }

  it('reports every bad key at once, naming each', () => {
    assert.throws(
      () => loadConfig({ overrides: { 'train.tau': 'hot', 'model.pooling': 'max' }, env: {} }),
      (err: unknown) => err instanceof ConfigError && /train\.tau/.test(err.message) && /model\.pooling/.test(err.message) && /user_token/.test(err.message),
    );
  });

  it('refuses unknown keys in a file (strict)', () => {
    assert.throws(() => loadConfig({ overrides: { 'train.nope': 1 }, env: {} }), /unknown config key "train\.nope"/);
  });

  it('checks cross-field rules', () => {
    assert.throws(() => loadConfig({ overrides: { 'model.decoder.kv_heads': 3 }, env: {} }), /multiple of model\.decoder\.kv_heads/);
  });

  it('takes flags and environment, flags last', () => {
    const config = loadConfig({ args: ['--steps', '7'], env: { INSTRUCTUE_BACKEND: 'cpu' } });
    assert.equal(config.train.steps, 7);
    assert.equal(config.backend, 'cpu');
  });

  it('configs/README.md documents every key as the schema does (regenerate with scripts/config-docs)', () => {
    assert.equal(readFileSync(join(configsDir, 'README.md'), 'utf8'), configDocs());
  });

  it('hashes configs stably and sensitively', () => {
    const a = loadConfig({ env: {} });
    const b = loadConfig({ env: {} });
    const c = loadConfig({ overrides: { 'train.lr': 1e-3 }, env: {} });
    assert.equal(configHash(a), configHash(b));
    assert.notEqual(configHash(a), configHash(c));
  });
});
