#!/usr/bin/env python3
"""Gloo peer of bench/allreduce.ts: torch.distributed all_reduce (sum, float32) over TCP on
this machine, timed the way bench/allreduce.ts times its own all-reduce.

Usage: python3 bench/peer/gloo_allreduce.py '{"world": 2, "sizes_mib": [16, 64], "reps": 5, "warmup": 2, "port": 29511}'
Prints one JSON line per size: {"world", "mib", "times_ms": [...], "ok": bool}; a rep's time is
the slowest rank's (each rep starts after a barrier), as in bench/allreduce.ts. Inputs are
small dyadic numbers, so the sum is exact and checked. Each rank uses one intra-op thread
(gloo moves the bytes on its own threads).
"""
import json
import os
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def rank_main(rank, spec, queue):
    torch.set_num_threads(1)
    world = spec["world"]
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{spec['port']}", rank=rank, world_size=world)
    scale = world * (world + 1) / 2
    for mib in spec["sizes_mib"]:
        n = mib * 1024 * 1024 // 4
        pattern = ((torch.arange(n, dtype=torch.float32) % 64) - 32) / 64
        times = []
        ok = True
        for rep in range(spec["warmup"] + spec["reps"]):
            data = pattern * (rank + 1)
            dist.barrier()
            t0 = time.perf_counter()
            dist.all_reduce(data, op=dist.ReduceOp.SUM)
            ms = torch.tensor([(time.perf_counter() - t0) * 1000.0], dtype=torch.float64)
            if rep == 0:
                ok = bool(torch.equal(data, pattern * scale))
            dist.all_reduce(ms, op=dist.ReduceOp.MAX)
            if rep >= spec["warmup"]:
                times.append(float(ms.item()))
        if rank == 0:
            queue.put({"world": world, "mib": mib, "times_ms": times, "ok": ok})
    dist.barrier()
    dist.destroy_process_group()


def main():
    spec = json.loads(sys.argv[1])
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=rank_main, args=(r, spec, queue)) for r in range(spec["world"])]
    for p in procs:
        p.start()
    results = [queue.get() for _ in spec["sizes_mib"]]
    for p in procs:
        p.join()
        if p.exitcode != 0:
            sys.exit(f"gloo rank exited with {p.exitcode}")
    print(json.dumps({"torch": torch.__version__, "pid": os.getpid()}))
    for r in results:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
