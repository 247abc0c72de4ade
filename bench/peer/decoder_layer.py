#!/usr/bin/env python3
"""PyTorch peer of bench/model.ts: the same shapes and math in plain torch (no transformers).

Usage: python3 bench/peer/decoder_layer.py '{"cases": [...], "device": "cpu", "reps": 5, "warmup": 2}'
Prints one JSON object per case: {"name", "forward_ms", "train_ms", "tokens"}.
A case is one Qwen2-shaped decoder layer (RMSNorm, RoPE, GQA with q/k/v bias, SwiGLU) with
frozen base weights and LoRA r=8, alpha 16 on every projection; "train" is forward + backward of
mean(h^2) with respect to the LoRA weights, exactly what bench/model.ts times.
"""
import json
import math
import sys
import time

import torch
import torch.nn.functional as F


def rms_norm(x, w, eps=1e-6):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


class Lora(torch.nn.Module):
    def __init__(self, d_in, d_out, bias, r=8, alpha=16):
        super().__init__()
        self.w = torch.nn.Parameter(torch.randn(d_out, d_in) * 0.02, requires_grad=False)
        self.b = torch.nn.Parameter(torch.zeros(d_out), requires_grad=False) if bias else None
        self.a = torch.nn.Parameter(torch.randn(r, d_in) / math.sqrt(d_in))
        self.bb = torch.nn.Parameter(torch.randn(d_out, r) * 0.01)
        self.scale = alpha / r

    def forward(self, x):
        return F.linear(x, self.w, self.b) + F.linear(F.linear(x, self.a), self.bb) * self.scale


class Qwen2Layer(torch.nn.Module):
    def __init__(self, d, heads, kv, mlp):
        super().__init__()
        self.h, self.kv, self.e = heads, kv, d // heads
        self.q, self.k, self.v = Lora(d, d, True), Lora(d, kv * self.e, True), Lora(d, kv * self.e, True)
        self.o = Lora(d, d, False)
        self.gate, self.up, self.down = Lora(d, mlp, False), Lora(d, mlp, False), Lora(mlp, d, False)
        self.n1 = torch.nn.Parameter(torch.ones(d), requires_grad=False)
        self.n2 = torch.nn.Parameter(torch.ones(d), requires_grad=False)

    def rope(self, x, t):
        inv = 1.0 / (1e6 ** (torch.arange(0, self.e, 2, device=x.device).float() / self.e))
        f = torch.outer(torch.arange(t, device=x.device).float(), inv)
        emb = torch.cat([f, f], -1)
        x1, x2 = x[..., : self.e // 2], x[..., self.e // 2 :]
        return x * emb.cos().to(x.dtype) + torch.cat([-x2, x1], -1) * emb.sin().to(x.dtype)

    def forward(self, x):
        b, t, d = x.shape
        h = rms_norm(x, self.n1)
        q = self.rope(self.q(h).view(b, t, self.h, self.e).transpose(1, 2), t)
        k = self.rope(self.k(h).view(b, t, self.kv, self.e).transpose(1, 2), t)
        v = self.v(h).view(b, t, self.kv, self.e).transpose(1, 2)
        k = k.repeat_interleave(self.h // self.kv, 1)
        v = v.repeat_interleave(self.h // self.kv, 1)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.e)
        att = att.masked_fill(torch.triu(torch.ones(t, t, dtype=torch.bool, device=x.device), 1), float("-inf")).softmax(-1)
        x = x + self.o((att @ v).transpose(1, 2).reshape(b, t, d))
        h = rms_norm(x, self.n2)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


def timed(fn, device, reps, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return times[len(times) // 2]


def run_case(case, device, dtype, reps, warmup):
    torch.manual_seed(0)
    b, t = case["batch"], case["seq"]
    model = Qwen2Layer(case["hidden"], case["heads"], case["kv_heads"], case["mlp"]).to(device, dtype)
    x = torch.randn(b, t, case["hidden"], device=device, dtype=dtype)

    def fwd():
        with torch.no_grad():
            model(x)

    def train():
        model(x).float().pow(2).mean().backward()

    return {"name": case["name"], "forward_ms": timed(fwd, device, reps, warmup), "train_ms": timed(train, device, reps, warmup), "tokens": b * t}


def main():
    spec = json.loads(sys.argv[1])
    device = spec.get("device", "cpu")
    torch.set_num_threads(spec.get("threads", 1))
    dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[spec.get("dtype", "float32")]
    print(json.dumps({"torch": torch.__version__, "device": device, "dtype": str(dtype), "threads": torch.get_num_threads()}), flush=True)
    for case in spec["cases"]:
        print(json.dumps(run_case(case, device, dtype, spec.get("reps", 5), spec.get("warmup", 2))), flush=True)


if __name__ == "__main__":
    main()
