import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { configFlagOptions, parseFlags } from '../../src/config/flags.js';
import { runIdentity, runIdentityHash } from '../../src/config/identity.js';
import { configHash, loadConfig } from '../../src/config/load.js';
import { schemaLeaves } from '../../src/config/schema-leaves.js';
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
    assert.throws(() => loadConfig({ overrides: { 'model.lora.dropout': 0.05 }, env: {} }), /model\.lora\.dropout \(0\.05\) is not applied by this trainer.*set it to 0/);
  });

  const flags = (argv: string[]) => parseFlags(argv, { ...configFlagOptions(['steps', 'global-batch', 'backend']), set: { type: 'string', multiple: true } }, 'usage').values;

  it('takes flags and environment, flags last', () => {
    const config = loadConfig({ flags: flags(['--steps', '7']), env: { INSTRUCTUE_BACKEND: 'cpu' } });
    assert.equal(config.train.steps, 7);
    assert.equal(config.backend, 'cpu');
    assert.equal(loadConfig({ flags: flags(['--backend', 'wasm']), env: { INSTRUCTUE_BACKEND: 'cpu' } }).backend, 'wasm');
  });

  it('names the flag (not the config file) when a flag or --set value is wrong', () => {
    const values = flags(['--global-batch=-1', '--set', 'train.lr=-1']);
    assert.throws(() => loadConfig({ file: join(configsDir, 'tiny.json'), flags: values, sets: values.set, env: {} }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /^invalid configuration \(from .*tiny\.json and command-line flags\):/);
      assert.match(err.message, /train\.global_batch: .*\[set by --global-batch\]/);
      assert.match(err.message, /train\.lr: .*\[set by --set train\.lr\]/);
      return true;
    });
    assert.throws(() => loadConfig({ flags: flags(['--global-batch', '1.5']), env: {} }), /^UsageError: --global-batch must be an integer \(config key train\.global_batch\); got "1\.5"/);
    assert.throws(() => loadConfig({ sets: ['train.nope=1'], env: {} }), /^ConfigError: --set train\.nope: unknown config key "train\.nope"/);
  });

  it('counts every key in the run identity unless the schema says identity: false', () => {
    const outside = schemaLeaves().filter((l) => l.identity === false).map((l) => l.key);
    assert.deepEqual(outside.filter((k) => !/^(dist|control|cuda|webgpu)\./.test(k)), ['name', 'backend', 'blas_threads', 'data.eval', 'data.cache_dir', 'train.checkpoint_every', 'train.keep_last', 'train.log_every', 'train.memory_check', 'train.memory_limit_mb']);
    const base = loadConfig({ env: {} });
    const same = loadConfig({ overrides: { 'train.checkpoint_every': 3, 'dist.workers': 4, backend: 'cpu', blas_threads: 1, 'cuda.tf32': true, 'data.eval': 'elsewhere' }, env: {} });
    assert.equal(runIdentityHash(same), runIdentityHash(base));
    for (const key of ['seed', 'train.lr', 'train.steps', 'data.virtual_shards', 'model.lora.r']) {
      const changed = loadConfig({ overrides: { [key]: key === 'model.lora.r' ? 4 : 3 }, env: {} });
      assert.notEqual(runIdentityHash(changed), runIdentityHash(base), key);
    }
    assert.deepEqual(Object.keys(runIdentity(base) as object).sort(), ['data', 'model', 'seed', 'train']);
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
