"""Time the multi-task step in each step mode (fused, per-task, grouped) and one conflict
measurement.

    python benchmarks/multitask_step.py [--preset demo] [--benchmark glue] [--steps 20]
                                        [--threads 2]

Needs the preset's pre-trained model and rendered data (`snakemake --cores 2 all` first).
Prints, per architecture: ms per step in each mode and ms per conflict measurement (per-task
gradients on conflict_batches x conflict_batch_size examples).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import yaml
from snakemake.utils import validate
from transformers import AutoTokenizer

from taskconflict import registry
from taskconflict.batches import STEP_MODES, BatchStream, load_task_data, step_groups
from taskconflict.config import load_config
from taskconflict.grid import Cell
from taskconflict.models import ARCHITECTURES
from taskconflict.probe import measure_grams
from taskconflict.train import load_model

ROOT = Path(__file__).resolve().parents[1]


def step_time(model, streams, optimizer, mode: str, steps: int) -> float:
    def step():
        batches = {t: s.next() for t, s in streams.items()}
        for group in step_groups(batches, mode):
            sum(model.task_losses({t: batches[t] for t in group}).values()).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    step()  # warm-up
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--preset", default="demo")
    parser.add_argument("--benchmark", default="glue", choices=sorted(registry.BENCHMARKS))
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    raw = yaml.safe_load((ROOT / "config.yaml").read_text())
    raw["preset"] = args.preset
    validate(raw, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))
    cfg = load_config(raw)
    train = cfg.preset.train
    results = ROOT / cfg.results
    model_dir = results / "models" / "small"
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    tasks = list(cfg.preset.data.tasks[args.benchmark])
    print(f"preset {args.preset}, {args.benchmark}, model small, {len(tasks)} tasks x batch "
          f"{train.batch_size}, {args.threads} threads, mean over {args.steps} steps")
    print(f"{'architecture':<18}" + "".join(f"{m + ' ms':>13}" for m in STEP_MODES)
          + f"{'conflict ms':>13}")
    for architecture in ARCHITECTURES:
        torch.manual_seed(0)
        cell = Cell(args.benchmark, "small", architecture, "multi")
        model = load_model(cell, model_dir, tasks).train()
        data = {t: load_task_data(registry.get_task(t),
                                  results / "rendered" / args.benchmark / t / "default-default"
                                  / "train.parquet",
                                  tokenizer, train.max_input_length, train.max_target_length,
                                  model.target(t)) for t in tasks}
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
        times = []
        for mode in STEP_MODES:
            streams = {t: BatchStream(d, train.batch_size, seed=1) for t, d in data.items()}
            times.append(step_time(model, streams, optimizer, mode, args.steps))
        probes = {t: BatchStream(d, train.conflict_batch_size, seed=2) for t, d in data.items()}
        start = time.perf_counter()
        measure_grams(model, {t: [p.next() for _ in range(train.conflict_batches)]
                              for t, p in probes.items()}, {"encoder": model.encoder_parameters()})
        conflict = (time.perf_counter() - start) * 1000
        print(f"{architecture:<18}" + "".join(f"{t:>13.1f}" for t in times) + f"{conflict:>13.1f}")


if __name__ == "__main__":
    main()
