"""The cost of a multi-task step per aggregator, relative to the paper's summed step.

    python benchmarks/aggregators.py [--device auto] [--threads 2] [--shape demo]
                                     [--steps 5] [--aggregators sum mean pcgrad ...]

For each architecture with a shared encoder (canonical, text-to-text) and each aggregator:
ms per multi-task step on the same batches (every GLUE task, batch 16 per task, random token
ids of 64 tokens, random weights of the chosen shape), and the ratio to `sum`. `sum` is the
paper's step (`train.multitask_step`, per-task mode on the CPU, fused on CUDA); the others are
`train.AggregatedStep`: one backward per task into a K x P buffer of the shared gradients, a
float64 Gram matrix on the device, TorchJD's weights, the weighted sum written back.
"""

from __future__ import annotations

import argparse
import copy
import time

import torch
from transformers import T5Config, T5ForConditionalGeneration

from taskconflict import devices, factors, registry
from taskconflict.batches import resolve_step_mode
from taskconflict.models import IGNORE, Batch, build_model
from taskconflict.train import AggregatedStep, multitask_step

SHAPES = {  # the demo preset's small model, and google/t5-v1_1-small's shape
    "demo": dict(d_model=128, d_ff=256, d_kv=32, num_heads=4, num_layers=2, vocab_size=1200),
    "t5-v1_1-small": dict(d_model=512, d_ff=1024, d_kv=64, num_heads=6, num_layers=8,
                          num_decoder_layers=8, vocab_size=32128),
}


def batches_for(architecture: str, device: torch.device, length: int = 64, size: int = 16,
                vocab: int = 1000) -> dict[str, Batch]:
    g = torch.Generator().manual_seed(0)
    out = {}
    for name in registry.BENCHMARKS["glue"]:
        task = registry.get_task(name)
        ids = torch.randint(2, vocab, (size, length), generator=g)
        mask = torch.ones_like(ids)
        if architecture != "canonical":
            targets = torch.randint(2, vocab, (size, 4), generator=g)
            targets[:, -1] = IGNORE
        elif task.kind == registry.REGRESSION:
            targets = torch.rand(size, generator=g) * 5
        else:
            targets = torch.randint(0, len(task.label_words), (size,), generator=g)
        out[name] = Batch(ids, mask, targets).to(device)
    return out


def time_steps(step, steps: int, device: torch.device) -> float:
    step()  # warm-up (and the aggregated step's first, buffer-allocating call)
    devices.synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    devices.synchronize(device)
    return (time.perf_counter() - start) / steps * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--shape", default="demo", choices=list(SHAPES))
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--aggregators", nargs="+", default=list(factors.AGGREGATOR.names))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = devices.resolve_device(args.device)
    config = T5Config(feed_forward_proj="gated-gelu", dropout_rate=0.0,
                      decoder_start_token_id=0, tie_word_embeddings=False,
                      **SHAPES[args.shape])
    torch.manual_seed(0)
    t5 = T5ForConditionalGeneration(config)
    print(f"device {device}, shape {args.shape}, {len(registry.BENCHMARKS['glue'])} tasks, "
          f"batch 16 x 64 tokens per task, {args.steps} timed steps")
    print(f"{'architecture':<14} {'aggregator':<12} {'ms/step':>9} {'vs sum':>7}")
    for architecture in ("canonical", "text-to-text"):
        base = build_model(architecture, t5, registry.BENCHMARKS["glue"]).to(device)
        batches = batches_for(architecture, device, vocab=config.vocab_size)
        times = {}
        for name in args.aggregators:
            model = copy.deepcopy(base)
            optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
            if name == "sum":
                mode = resolve_step_mode("auto", device)

                def step(model=model, optimizer=optimizer, mode=mode, batches=batches):
                    multitask_step(model, optimizer, batches, mode, "fp32", 5.0)
            else:
                aggregated = AggregatedStep(name)

                def step(model=model, optimizer=optimizer, aggregated=aggregated,
                         batches=batches):
                    aggregated(model, optimizer, batches, "fp32", 5.0)
            times[name] = time_steps(step, args.steps, device)
            ratio = times[name] / times["sum"] if "sum" in times else float("nan")
            print(f"{architecture:<14} {name:<12} {times[name]:>9.1f} {ratio:>7.2f}",
                  flush=True)


if __name__ == "__main__":
    main()
