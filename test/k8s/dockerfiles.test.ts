/**
 * Docker cannot run on the project's machines, so the images are checked by reading their
 * Dockerfiles: pinned bases (no `latest`, no missing tag), a numeric non-root USER in the final
 * stage, every COPY source present in the repo, the backend each image is for (cpu: wasm; gpu:
 * the cuda backend on a CUDA runtime image, no libtensorflow; tfjs-node-gpu: CUDA 11.2 with a
 * supplied libtensorflow), and the port the k8s manifests expect.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseDockerfile, type Stage } from './dockerfile.js';

const last = (s: Stage, op: string) => s.body.filter((i) => i.op === op).at(-1)?.args;

for (const file of ['docker/Dockerfile.cpu', 'docker/Dockerfile.gpu', 'docker/Dockerfile.tfjs-node-gpu']) {
  describe(file, () => {
    const { stages } = parseDockerfile(file);
    const final = stages.at(-1)!;

    it('pins every base image (explicit tag, never latest)', () => {
      const names = new Set(stages.map((s) => s.name).filter(Boolean));
      for (const s of stages.filter((x) => !names.has(x.from))) {
        assert.match(s.from, /^[\w./-]+:[\w.-]+$/, `${s.from}: needs an explicit tag`);
        assert.doesNotMatch(s.from, /:latest$/, s.from);
      }
    });

    it('runs the final stage as a numeric non-root user with the instructue entry point', () => {
      const user = last(final, 'USER');
      assert.ok(user, 'the final stage sets USER');
      assert.match(user!, /^[1-9]\d*(:\d+)?$/, 'numeric uid (Kubernetes runAsNonRoot can only verify a number), not 0');
      assert.equal(last(final, 'ENTRYPOINT'), '["node", "/app/bin/instructue.js"]');
      assert.equal(last(final, 'EXPOSE'), '8080', 'the control port of k8s/base/coordinator.yaml');
    });

    it('copies only paths that exist in the repo', () => {
      for (const s of stages) {
        for (const ins of s.body.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))) {
          const sources = ins.args.split(/\s+/).filter((a) => !a.startsWith('--')).slice(0, -1);
          for (const src of sources) assert.ok(existsSync(src), `${file}: COPY ${src} (missing in the repo)`);
        }
      }
    });

    it('builds for its backend', () => {
      const env = last(final, 'ENV') ?? '';
      const runs = stages.flatMap((s) => s.body.filter((i) => i.op === 'RUN').map((i) => i.args)).join('\n');
      assert.match(runs, /npx tsc -p tsconfig\.json/);
      if (file.endsWith('cpu')) {
        assert.match(stages[0]!.from, /^node:20-bookworm-slim$/);
        assert.match(final.from, /^node:20-bookworm-slim$/);
        assert.match(runs, /npm ci --omit=dev --ignore-scripts/);
        assert.doesNotMatch(runs, /--omit=optional/, "koffi's prebuilt addon (the BLAS path) is an optional dependency");
        assert.match(runs, /apt-get install -y --no-install-recommends libopenblas0-pthread/);
        assert.match(runs, /rm -rf node_modules\/@tensorflow\/tfjs-node node_modules\/@tensorflow\/tfjs-node-gpu/);
        assert.match(env, /INSTRUCTUE_BACKEND=wasm/);
      } else if (file.endsWith('Dockerfile.gpu')) {
        assert.match(final.from, /^nvidia\/cuda:1[2-9]\.\d+\.\d+-runtime-ubuntu\d+\.\d+$/, 'the cuda backend needs a CUDA runtime image (cuBLAS + NVRTC)');
        assert.match(runs, /npm ci --ignore-scripts/);
        assert.doesNotMatch(runs, /--omit=optional/, "koffi's prebuilt addon is an optional dependency");
        assert.match(runs, /rm -rf node_modules\/@tensorflow\/tfjs-node node_modules\/@tensorflow\/tfjs-node-gpu/);
        assert.match(runs, /test -d node_modules\/@koromix\/koffi-linux-x64/);
        assert.doesNotMatch(runs, /libtensorflow/, 'no libtensorflow for the cuda backend');
        assert.match(env, /INSTRUCTUE_BACKEND=cuda/);
      } else {
        assert.match(final.from, /^nvidia\/cuda:11\.2\.\d+-cudnn8-runtime-/, 'tfjs-node-gpu 4.22 needs CUDA 11.2 + cuDNN 8.1');
        assert.match(runs, /scripts\/install\.js gpu/);
        assert.match(runs, /test -e deps\/lib\/libtensorflow\.so\.2/, 'the build fails when libtensorflow was not supplied');
        assert.match(env, /INSTRUCTUE_BACKEND=tensorflow/);
      }
    });
  });
}
