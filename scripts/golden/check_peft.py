#!/usr/bin/env python3
"""Loads an adapter exported by instructue with PEFT and compares hidden states.

Usage: python3 scripts/golden/check_peft.py PROBE_DIR BASE_MODEL_DIR
PROBE_DIR holds adapter/ and ours.safetensors (written by dist/scripts/golden/make-peft-probe.js).
Prints one JSON object; exits 1 when the max difference over unpadded positions exceeds 1e-4.
"""
import json
import sys

import torch
from peft import PeftModel
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

probe, base_dir = sys.argv[1], sys.argv[2]
ours = load_file(f"{probe}/ours.safetensors")
base = AutoModelForCausalLM.from_pretrained(base_dir, torch_dtype=torch.float32, attn_implementation="eager").eval()
model = PeftModel.from_pretrained(base, f"{probe}/adapter").eval()
with torch.no_grad():
    inner = model.base_model.model.model  # Qwen2Model with the LoRA layers injected
    hidden = inner(input_ids=ours["input_ids"].long(), attention_mask=ours["attention_mask"].long()).last_hidden_state
mask = ours["attention_mask"].bool()
diff = (hidden - ours["last_hidden_state"]).abs()[mask].max().item()
lora_modules = sum(1 for n, _ in model.named_modules() if n.endswith("lora_A"))
result = {"max_abs_diff": diff, "lora_modules": lora_modules, "ok": diff < 1e-4}
print(json.dumps(result))
sys.exit(0 if result["ok"] else 1)
