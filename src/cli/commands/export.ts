/**
 * @module cli/commands/export
 * `instructue export --run RUN | --checkpoint DIR --out DIR [--base-model NAME]`: writes the
 * trained LoRA weights as a PEFT adapter (adapter_config.json + adapter_model.safetensors) that
 * Python loads with `PeftModel.from_pretrained(base, DIR)`, plus instructue_extras.safetensors
 * with the trainables PEFT has no slot for (source adapters, special-token rows).
 */
import { createLogger } from '../../log.js';
import { toPeftLayout } from '../../model/lora-export.js';
import { exportPeftAdapter } from '../../model/peft.js';
import { loadTrainedModel } from '../../train/load-trained.js';
import { parseFlags, required } from '../../config/flags.js';
import type { Command } from '../command.js';

const usage = `usage: instructue export (--run RUN | --checkpoint DIR) --out DIR [--base-model NAME]

  --run RUN          a training run folder (its newest valid checkpoint is exported)
  --checkpoint DIR   one checkpoint folder (RUN/checkpoints/step-NNNNNNNN)
  --out DIR          adapter folder to write
  --base-model NAME  base_model_name_or_path recorded in adapter_config.json
                     (default: the run's model.decoder.hf_dir, or "instructue-tiny-random")`;

const command: Command = {
  name: 'export',
  usage,
  async run(argv) {
    const { values } = parseFlags(argv, { run: { type: 'string' }, checkpoint: { type: 'string' }, out: { type: 'string' }, 'base-model': { type: 'string' } }, usage);
    const out = required(values.out, 'out', usage);
    const log = createLogger({ command: 'export' });
    const trained = await loadTrainedModel({ run: values.run, checkpoint: values.checkpoint, log });
    try {
      const lora = trained.config.model.lora;
      const { lora: tensors, extra } = toPeftLayout(trained.built.model.store.snapshot());
      await exportPeftAdapter(out, tensors, {
        r: lora.r, alpha: lora.alpha, dropout: lora.dropout, targetModules: [...lora.targets], useRslora: lora.use_rslora,
        baseModel: values['base-model'] ?? (trained.config.model.decoder.hf_dir || 'instructue-tiny-random'), extraTensors: extra,
      });
      console.log(`wrote PEFT adapter ${out} (${tensors.size} LoRA tensors, ${extra.size} extra tensors) from ${trained.checkpoint}`);
      return 0;
    } finally {
      trained.built.model.dispose();
    }
  },
};

export default command;
