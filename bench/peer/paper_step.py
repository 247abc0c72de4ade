#!/usr/bin/env python3
"""PyTorch + transformers + peft peer of bench/paper-step.ts: the same train step on the same shapes.

Usage: python3 bench/peer/paper_step.py '{"batch": 16, "prompt_len": ..., "device": "cuda", ...}'
(the spec bench/paper-step.ts prints and passes; "dry_run": true checks it without torch).
Prints one JSON line: {"who", "step_ms", "peak_mib", "tokens", "attn"}.

The step, as instructue's (src/train/step.ts) on one worker:
  1. the frozen BERT encoder (gte-base-shaped, random init) over the records, mean-pooled, then a
     trainable adapter to the decoder width; the adapter rows replace token embeddings in the prompt
     (soft tokens);
  2. pass 1 without gradient: the Qwen2 decoder (Qwen2.5-0.5B-shaped, random init, LoRA r/alpha on
     q,k,v,o,gate,up,down via peft) over the prompts (user embedding = last position) and over the
     answers (answer embedding = last position);
  3. the contrastive loss (u-a, u-u, a-a blocks, tau 0.05) and its gradient w.r.t. u and a;
  4. pass 2 with gradient over prompt+answer (LM loss on the answer positions) and the answers
     again, objective = LM + <u, du> + <a, da>; backward; AdamW on the trainable weights.
float32 everywhere and TF32 off (PyTorch's defaults for matmuls); attention is transformers'
default implementation (reported).
"""
import json
import sys
import time

REQUIRED = ["batch", "prompt_len", "full_len", "answer_len", "records", "record_len", "lm_targets", "tokens", "vocab", "encoder_vocab", "decoder", "encoder", "lora", "device"]
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def main():
    spec = json.loads(sys.argv[1])
    missing = [k for k in REQUIRED if k not in spec]
    if missing:
        raise SystemExit(f"paper_step.py: the spec lacks {missing}")
    if spec.get("dry_run"):
        print(json.dumps({"plan": {k: spec[k] for k in REQUIRED}, "steps": spec.get("steps", 2)}))
        return

    import torch
    import torch.nn.functional as F
    import transformers
    import peft
    from transformers import BertConfig, BertModel, Qwen2Config, Qwen2ForCausalLM

    dev = torch.device(spec["device"])
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.manual_seed(0)
    d, e = spec["decoder"], spec["encoder"]
    B, Tp, Tf, Ta = spec["batch"], spec["prompt_len"], spec["full_len"], spec["answer_len"]
    qcfg = Qwen2Config(vocab_size=spec["vocab"], hidden_size=d["hidden"], intermediate_size=d["intermediate"],
                       num_hidden_layers=d["layers"], num_attention_heads=d["heads"], num_key_value_heads=d["kv_heads"],
                       max_position_embeddings=max(1024, Tf), rope_theta=1e6, rms_norm_eps=1e-6, tie_word_embeddings=True,
                       initializer_range=0.02)
    decoder = Qwen2ForCausalLM(qcfg).to(dev)
    lora = peft.LoraConfig(r=spec["lora"]["r"], lora_alpha=spec["lora"]["alpha"], lora_dropout=0.0, target_modules=TARGETS, bias="none")
    decoder = peft.get_peft_model(decoder, lora)
    bcfg = BertConfig(vocab_size=max(2, spec["encoder_vocab"]), hidden_size=e["hidden"], num_hidden_layers=e["layers"],
                      num_attention_heads=e["heads"], intermediate_size=e["intermediate"], max_position_embeddings=512)
    encoder = BertModel(bcfg, add_pooling_layer=False).to(dev).eval()
    for p in encoder.parameters():
        p.requires_grad_(False)
    adapter = torch.nn.Linear(e["hidden"], d["hidden"]).to(dev)
    trainable = [p for p in decoder.parameters() if p.requires_grad] + list(adapter.parameters())
    opt = torch.optim.AdamW(trainable, lr=2e-4, weight_decay=0.01)
    attn = getattr(decoder.config, "_attn_implementation", "default")

    g = torch.Generator(device="cpu").manual_seed(1)
    prompt_ids = torch.randint(0, spec["vocab"], (B, Tp), generator=g).to(dev)
    full_ids = torch.randint(0, spec["vocab"], (B, Tf), generator=g).to(dev)
    answer_ids = torch.randint(0, spec["vocab"], (B, Ta), generator=g).to(dev)
    n_rec = max(1, spec["records"])
    record_ids = torch.randint(0, max(2, spec["encoder_vocab"]), (n_rec, max(1, spec["record_len"])), generator=g).to(dev)
    per_row = min(n_rec // B, Tp - 2)
    labels = torch.full((B, Tf), -100, dtype=torch.long, device=dev)
    answer_positions = max(1, spec["lm_targets"] // B)
    labels[:, Tf - answer_positions:] = full_ids[:, Tf - answer_positions:]
    embed = decoder.get_input_embeddings()
    eye = torch.eye(B, device=dev) * 1e9

    def with_soft(ids, soft):
        x = embed(ids)
        if per_row > 0:
            x = torch.cat([x[:, :1], soft[: B * per_row].reshape(B, per_row, -1), x[:, 1 + per_row:]], 1)
        return x

    def last_hidden(out):
        return out.hidden_states[-1]

    def step():
        with torch.no_grad():
            pooled = encoder(input_ids=record_ids).last_hidden_state.mean(1)
        with torch.no_grad():
            soft = adapter(pooled)
            u = last_hidden(decoder(inputs_embeds=with_soft(prompt_ids, soft), output_hidden_states=True))[:, -1]
            a = last_hidden(decoder(input_ids=answer_ids, output_hidden_states=True))[:, -1]
        u_ = u.clone().requires_grad_(True)
        a_ = a.clone().requires_grad_(True)
        un, an = F.normalize(u_, dim=-1), F.normalize(a_, dim=-1)
        logits = torch.cat([un @ an.T, un @ un.T - eye, an @ an.T - eye], 1) / 0.05
        loss_cl = F.cross_entropy(logits, torch.arange(B, device=dev))
        du, da = torch.autograd.grad(loss_cl, [u_, a_])
        soft = adapter(pooled)
        out = decoder(inputs_embeds=with_soft(full_ids, soft), labels=labels, output_hidden_states=True)
        u2 = last_hidden(out)[:, Tp - 1]
        a2 = last_hidden(decoder(input_ids=answer_ids, output_hidden_states=True))[:, -1]
        total = out.loss + (u2 * du).sum() + (a2 * da).sum()
        total.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        if dev.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(spec.get("warmup", 1)):
        step()
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(spec.get("steps", 2)):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    peak = round(torch.cuda.max_memory_allocated() / 2 ** 20) if dev.type == "cuda" else None
    who = f"torch {torch.__version__} + transformers {transformers.__version__} + peft {peft.__version__} {dev.type} float32 ({attn} attention)"
    print(json.dumps({"who": who, "step_ms": times[len(times) // 2], "peak_mib": peak, "tokens": spec["tokens"], "attn": attn}))


if __name__ == "__main__":
    main()
