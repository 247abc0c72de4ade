#!/usr/bin/env python3
"""Golden numerics for instructue's Qwen2 decoder and BERT encoder, produced by transformers.

Usage: python3 scripts/golden/make_golden.py OUT_DIR

Builds a tiny random Qwen2ForCausalLM and BertModel with transformers (float32, eager attention,
exact GELU, eval mode, CPU so that no TF32 or GPU kernel choice enters the numbers), saves each with
save_pretrained into OUT_DIR/qwen2-tiny and OUT_DIR/bert-tiny, and writes next to them
expected.safetensors with fixed inputs and the outputs transformers computes for them. Biases and
norm weights, which initialise to 0/1, get small random values so that they are exercised too.
See scripts/golden/README.md for the file contents.
"""
import datetime
import inspect
import json
import os
import platform
import sys

import safetensors
import torch
import transformers
from safetensors.torch import save_file
from transformers import BertConfig, BertModel, Qwen2Config, Qwen2ForCausalLM

SEED = 1234


def perturb_biases_and_norms(model, gen, scale=0.1):
    """Biases → scale·N(0,1); norm weights → 1 + scale·N(0,1) (RMSNorm and LayerNorm)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen) * scale
            if name.endswith(".bias"):
                p.copy_(noise)
            elif "norm" in name.lower() and name.endswith(".weight"):
                p.copy_(1.0 + noise)


def eager(model):
    """Selects the eager (reference) attention path and checks it took effect."""
    if hasattr(model, "set_attn_implementation"):
        model.set_attn_implementation("eager")
    else:  # transformers < 4.53
        model.config._attn_implementation = "eager"
    assert model.config._attn_implementation == "eager", model.config._attn_implementation
    return model.eval()


def save(model, out):
    # safe_serialization is the default (and the only format in transformers 5); pass it where accepted.
    kwargs = {"safe_serialization": True} if "safe_serialization" in inspect.signature(model.save_pretrained).parameters else {}
    model.save_pretrained(out, **kwargs)
    assert os.path.exists(os.path.join(out, "model.safetensors")), f"{out}: save_pretrained wrote no model.safetensors"


def first(output):
    """Decoder layers return a tensor (transformers 5) or a tuple starting with one (4.x)."""
    return output[0] if isinstance(output, tuple) else output


def padded_mask(batch, length, pad):
    mask = torch.ones(batch, length, dtype=torch.int64)
    mask[1, length - pad:] = 0  # row 1 is right-padded
    return mask


def make_qwen2(out, gen):
    cfg = Qwen2Config(
        vocab_size=512, hidden_size=64, intermediate_size=176, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, hidden_act="silu", max_position_embeddings=128, rope_theta=1e6, rms_norm_eps=1e-6,
        tie_word_embeddings=True, initializer_range=0.2, use_sliding_window=False, attention_dropout=0.0,
    )
    rope = getattr(cfg, "rope_parameters", None) or {}
    assert rope.get("rope_theta", getattr(cfg, "rope_theta", None)) == 1e6, "rope_theta did not reach the config"
    cfg._attn_implementation = "eager"
    torch.manual_seed(SEED)
    model = eager(Qwen2ForCausalLM(cfg))
    perturb_biases_and_norms(model, gen)
    assert "lm_head.weight" not in dict(model.named_parameters()), "embeddings must be tied"

    input_ids = torch.randint(0, cfg.vocab_size, (2, 12), generator=gen)
    attention_mask = padded_mask(2, 12, 4)
    captured = {}
    hooks = [model.model.embed_tokens.register_forward_hook(lambda m, i, o: captured.__setitem__("hidden_state_0", o))]
    for k, layer in enumerate(model.model.layers):
        hooks.append(layer.register_forward_hook(lambda m, i, o, k=k: captured.__setitem__(f"hidden_state_{k + 1}", first(o))))
    hooks.append(model.model.norm.register_forward_hook(lambda m, i, o: captured.__setitem__("last_hidden_state", o)))
    with torch.no_grad():
        logits = model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).logits
    for h in hooks:
        h.remove()

    save(model, out)
    with torch.no_grad():  # the saved folder must reproduce these numbers
        again = eager(Qwen2ForCausalLM.from_pretrained(out, attn_implementation="eager"))(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).logits
    assert torch.equal(again, logits), "reloaded Qwen2 gives different logits"
    return {"input_ids": input_ids, "attention_mask": attention_mask, "logits": logits, **captured}


def make_bert(out, gen):
    cfg = BertConfig(
        vocab_size=256, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=64, type_vocab_size=2, layer_norm_eps=1e-12, hidden_act="gelu",
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, initializer_range=0.2, pad_token_id=0,
    )
    assert cfg.hidden_act == "gelu"  # transformers' "gelu" is the exact erf GELU
    cfg._attn_implementation = "eager"
    torch.manual_seed(SEED + 1)
    model = eager(BertModel(cfg, add_pooling_layer=False))
    perturb_biases_and_norms(model, gen)

    input_ids = torch.randint(1, cfg.vocab_size, (2, 10), generator=gen)
    attention_mask = padded_mask(2, 10, 4)
    input_ids[attention_mask == 0] = cfg.pad_token_id
    token_type_ids = torch.zeros_like(input_ids)
    with torch.no_grad():
        hidden = model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
    weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
    mean_pooled = (hidden * weights).sum(1) / weights.sum(1)

    save(model, out)
    with torch.no_grad():
        again = eager(BertModel.from_pretrained(out, add_pooling_layer=False, attn_implementation="eager"))(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).last_hidden_state
    assert torch.equal(again, hidden), "reloaded BERT gives different hidden states"
    return {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": token_type_ids,
            "last_hidden_state": hidden, "mean_pooled": mean_pooled}


def write_expected(path, tensors):
    as_stored = {k: (v.to(torch.int32) if not v.is_floating_point() else v.to(torch.float32)).contiguous() for k, v in tensors.items()}
    save_file(as_stored, path, metadata={"format": "pt"})
    for k in sorted(as_stored):
        v = as_stored[k]
        print(f"  {k:18s} {str(v.dtype):14s} {list(v.shape)}  mean {v.double().mean():+.6f}  absmax {v.double().abs().max():.6f}")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: python3 scripts/golden/make_golden.py OUT_DIR")
    out_dir = sys.argv[1]
    torch.set_float32_matmul_precision("highest")
    gen = torch.Generator().manual_seed(SEED)
    for name, make in (("qwen2-tiny", make_qwen2), ("bert-tiny", make_bert)):
        folder = os.path.join(out_dir, name)
        os.makedirs(folder, exist_ok=True)
        print(f"{folder}:")
        write_expected(os.path.join(folder, "expected.safetensors"), make(folder, gen))
    versions = {
        "python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__,
        "safetensors": safetensors.__version__, "device": "cpu", "seed": SEED,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    with open(os.path.join(out_dir, "versions.json"), "w") as f:
        json.dump(versions, f, indent=2)
        f.write("\n")
    print(f"versions: python {versions['python']}, torch {versions['torch']}, transformers {versions['transformers']}")


if __name__ == "__main__":
    main()
