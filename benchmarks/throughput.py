"""Training and conflict-measurement throughput, ours beside the paper's code, on one device.

    python benchmarks/throughput.py [--device auto] [--threads 2] [--shapes t5-v1_1-small]
                                    [--benchmark glue] [--steps 3] [--conflict-examples 64]
                                    [--peak-tflops X] [--quick]

Prints, for each model shape (the exact `google/t5-v1_1-small` / `-base` shapes with random
weights, vocabulary 32,128, gated-GELU, untied LM head: no hub access needed; and `preset`,
the demo preset's own pre-trained model when the workflow has made it):

1. the multi-task step (text-to-text, every task of the benchmark, batch 16 per task, the
   same batches for every row): the paper code's step (inputs padded to 256 tokens and
   targets to 16, GLUE, or 256, DecaNLP; one forward/backward per task; every parameter's
   gradient cloned per task and summed; a per-tensor AdamW; fp32) beside ours
   (`train.multitask_step`, the function training calls) in each step mode, fp32 and bf16:
   ms/step, examples/s, tokens/s (real, unpadded tokens), peak memory and, on CUDA, the
   model FLOP utilisation (model FLOPs of the real tokens / time / the GPU's peak);
2. one conflict measurement on the same examples per task: the paper code's (micro-batches
   of 16 padded to 256, each micro-batch's encoder gradient flattened and copied to host
   memory) beside ours (`probe.measure_grams`: gradients summed in `.grad` on the device,
   flattened once per task, float64 Gram on the device), with the relative difference of
   the two Gram matrices, and ours again in micro-batches of 64;
3. the projected device-hours of the paper preset's whole grid: its planned cells x steps x
   the measured step time, plus conflict measurements and evaluation.

The data are the workflow's generated GLUE-like (or DecaNLP-like) tasks with T5's prompts
and a tokenizer trained on them, made here in a temporary folder. Real GLUE is longer
(padding to 256 wastes less there), so the paper-code ratio is an upper bound.
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
import yaml
from snakemake.utils import validate
from transformers import AutoTokenizer, T5Config, T5ForConditionalGeneration

from taskconflict import devices, registry
from taskconflict.batches import (
    STEP_MODES,
    BatchStream,
    TaskData,
    eval_batches,
    load_task_data,
    stream_seed,
)
from taskconflict.config import TaskDataConfig, TokenizerConfig, load_config
from taskconflict.data.prepare import load_splits
from taskconflict.evaluate import max_answer_tokens
from taskconflict.grid import all_cells
from taskconflict.label_spaces import letter_lines
from taskconflict.models import IGNORE, Batch, MultiTaskModel, build_model
from taskconflict.probe import measure_grams
from taskconflict.prompts import prompt_text, render
from taskconflict.registry import all_label_words, registry_text
from taskconflict.tokenizer import train_tokenizer
from taskconflict.train import multitask_step

ROOT = Path(__file__).resolve().parents[1]
PRESET_MODEL = ROOT / "results/demo/models/small"
"""The demo preset's own pre-trained model (shape `preset`), once the workflow has made it."""
SHAPES = {  # google/t5-v1_1-* config.json
    "t5-v1_1-small": dict(d_model=512, d_ff=1024, d_kv=64, num_heads=6, num_layers=8),
    "t5-v1_1-base": dict(d_model=768, d_ff=2048, d_kv=64, num_heads=12, num_layers=12),
}
PAPER_INPUT, PAPER_TARGET = 256, {"glue": 16, "decanlp": 256}
"""The paper's code pads every input to 256 tokens, GLUE targets to 16, DecaNLP's to 256."""
PEAK_TFLOPS = {  # dense, per GPU: (bf16, fp32 without TF32)
    "H200": (989, 67), "H100": (989, 67), "A100": (312, 19.5), "A10": (125, 31.2),
    "L40S": (362, 91.6), "L40": (181, 90.5), "L4": (121, 30.3), "A6000": (155, 38.7),
    "4090": (165, 82.6), "3090": (71, 35.6), "V100": (125, 15.7), "T4": (65, 8.1),
}
"""Vendor peak throughput (bf16 tensor cores; V100 and T4 have no bf16: their fp16 figure)."""
BATCH = 16


# ---------------------------------------------------------------- data and models


def make_data(benchmark: str, folder: Path, size: int) -> tuple[Path, dict[str, Path]]:
    """Generated tasks of the benchmark with T5's prompts, and a tokenizer trained on them."""
    tasks = registry.BENCHMARKS[benchmark]
    lines, paths = [], {}
    for name in tasks:
        task = registry.get_task(name)
        cfg = TaskDataConfig(task=name, source="generated", seed=0, train_size=size,
                             test_size=max(64, size // 8), validation_fraction=0.05,
                             label_noise=0.0)
        frame = render(task, load_splits(cfg)["train"], "default")
        paths[name] = folder / f"{name}.parquet"
        frame.to_parquet(paths[name])
        lines += [*frame["source"], *frame["target"]]
    corpus = folder / "corpus.txt"
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tokenizer = folder / "tokenizer"
    train_tokenizer(corpus, tokenizer, TokenizerConfig(vocab_size=2000),
                    [*registry_text(), *prompt_text(), *letter_lines()], all_label_words())
    return tokenizer, paths


def make_t5(shape: str, tokenizer_dir: Path) -> T5ForConditionalGeneration:
    """Random weights in a google/t5-v1_1 shape, or the demo preset's pre-trained model."""
    if shape == "preset":
        return T5ForConditionalGeneration.from_pretrained(PRESET_MODEL)
    config = T5Config(vocab_size=32128, feed_forward_proj="gated-gelu", dropout_rate=0.0,
                      tie_word_embeddings=False, decoder_start_token_id=0, pad_token_id=0,
                      eos_token_id=1, **SHAPES[shape])
    torch.manual_seed(0)
    t5 = T5ForConditionalGeneration(config)
    if t5.lm_head.weight is t5.shared.weight:  # v1.1's LM head is its own matrix
        t5.lm_head.weight = torch.nn.Parameter(t5.shared.weight.detach().clone())
    return t5


def shape_available(shape: str) -> bool:
    return shape in SHAPES or (PRESET_MODEL / "model.safetensors").exists()


def pad_to(batch: Batch, inputs: int, targets: int) -> Batch:
    """The paper code's padding: every input to `inputs` tokens, every target to `targets`."""
    def right(t: torch.Tensor, width: int, value: int) -> torch.Tensor:
        return F.pad(t[:, :width], (0, width - min(width, t.shape[1])), value=value)

    return Batch(right(batch.input_ids, inputs, 0), right(batch.attention_mask, inputs, 0),
                 right(batch.targets, targets, IGNORE))


# ---------------------------------------------------------------- cost model


def model_flops(t5: T5ForConditionalGeneration, input_tokens: int, target_tokens: int) -> float:
    """Training FLOPs (forward + backward = 3 x 2 per weight per token) of the real tokens:
    encoder weights per input token, decoder weights and the LM head per target token.
    Attention scores are left out (under 5% at these lengths)."""
    def weights(module: torch.nn.Module) -> int:
        return sum(p.numel() for n, p in module.named_parameters() if "embed" not in n)

    decoder = weights(t5.decoder) + t5.lm_head.weight.numel()
    return 6.0 * (weights(t5.encoder) * input_tokens + decoder * target_tokens)


def peak_tflops(device: torch.device, precision: str, override: float | None) -> float | None:
    if override:
        return override
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    for key, (bf16, fp32) in PEAK_TFLOPS.items():
        if key in name:
            return bf16 if precision == "bf16" else fp32
    return None


def real_tokens(batches: dict[str, Batch]) -> tuple[int, int]:
    inputs = sum(int(b.attention_mask.sum()) for b in batches.values())
    targets = sum(int((b.targets != IGNORE).sum()) for b in batches.values()
                  if b.targets.dtype == torch.long and b.targets.ndim == 2)
    return inputs, targets


# ---------------------------------------------------------------- the paper code's step


def paper_step(model: MultiTaskModel, optimizer: torch.optim.Optimizer,
               batches: dict[str, Batch], clip_norm: float) -> None:
    """One pass per task; after each, every parameter's gradient is cloned and added to a
    running sum, which becomes `.grad` for clipping and the update (the paper's train.py)."""
    params = [p for group in optimizer.param_groups for p in group["params"]]
    summed: list[torch.Tensor | None] = [None] * len(params)
    for task, batch in batches.items():
        optimizer.zero_grad(set_to_none=False)  # torch 1.9's default, which the paper ran
        model.task_losses({task: batch})[task].backward()
        for i, p in enumerate(params):
            if p.grad is not None:
                grad = p.grad.clone()
                summed[i] = grad if summed[i] is None else summed[i] + grad
    for p, grad in zip(params, summed, strict=True):
        p.grad = grad
    torch.nn.utils.clip_grad_norm_(params, clip_norm)
    optimizer.step()
    optimizer.zero_grad(set_to_none=False)


def paper_conflict(model: MultiTaskModel, batches: dict[str, list[Batch]],
                   params: list[torch.nn.Parameter]) -> torch.Tensor:
    """Per task, per micro-batch: zero the gradients, backward, flatten the encoder's and copy
    it to host memory; the task's gradient is the mean of its micro-batches'. The Gram matrix
    of the host vectors, in float64."""
    model.eval()
    vectors = []
    for task, micro in batches.items():
        total = None
        for batch in micro:
            model.zero_grad(set_to_none=False)
            model.task_losses({task: batch})[task].backward()
            flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p))
                              .flatten().cpu() for p in params])
            total = flat if total is None else total + flat
        vectors.append(total / len(micro))
    model.zero_grad(set_to_none=True)
    model.train()
    v = torch.stack(vectors).double()
    return v @ v.T


# ---------------------------------------------------------------- measurement


@dataclass
class Timing:
    name: str
    ms: float
    examples_per_s: float
    tokens_per_s: float
    peak_mb: float
    mfu: float | None


def timed(device: torch.device, run, repeats: int) -> tuple[float, float]:
    """Mean seconds of `run()` after one warm-up call, and the peak memory (MB) meanwhile."""
    run()
    with devices.peak_memory(device) as memory:
        devices.synchronize(device)
        start = time.perf_counter()
        for _ in range(repeats):
            run()
        devices.synchronize(device)
        seconds = (time.perf_counter() - start) / repeats
    return seconds, memory["peak_memory_mb"]


def step_rows(t5, model, data, device, args, benchmark) -> list[Timing]:
    tasks = list(data)
    streams = {t: BatchStream(d, BATCH, stream_seed(0, t, "bench")) for t, d in data.items()}
    fixed = [{t: s.next() for t, s in streams.items()} for _ in range(args.steps + 1)]
    inputs, targets = real_tokens(fixed[0])
    flops = model_flops(t5, inputs, targets)
    examples = BATCH * len(tasks)
    rows = []

    def measure(name: str, precision: str, step) -> None:
        devices.configure(device, precision)
        queue = iter(fixed * 2)
        seconds, peak = timed(device, lambda: step(next(queue)), args.steps)
        peak_flops = peak_tflops(device, precision, args.peak_tflops)
        rows.append(Timing(name, seconds * 1000, examples / seconds,
                           (inputs + targets) / seconds, peak,
                           flops / seconds / (peak_flops * 1e12) if peak_flops else None))

    # its own copy of the model, and a per-tensor AdamW as transformers' was
    paper_model = copy.deepcopy(model)
    paper_optimizer = torch.optim.AdamW(paper_model.parameters(), lr=1e-4, foreach=False)
    width = PAPER_TARGET[benchmark]
    measure("paper code (fp32, padded to 256)", "fp32", lambda b: paper_step(
        paper_model, paper_optimizer,
        {t: pad_to(x, PAPER_INPUT, width).to(device) for t, x in b.items()}, 5.0))
    paper_model = paper_optimizer = None  # freed before ours are measured
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=True)
    for precision in args.precisions:
        for mode in STEP_MODES:
            measure(f"ours {mode} {precision}", precision, lambda b, m=mode, p=precision:
                    multitask_step(model, optimizer, {t: x.to(device) for t, x in b.items()},
                                   m, p, 5.0))
    return rows


def conflict_rows(model, data, device, args) -> tuple[list[tuple[str, float]], float]:
    """Seconds per conflict measurement (paper code, ours at 16, ours at 64) and the relative
    Frobenius difference of the paper code's and our Gram matrices."""
    devices.configure(device, "fp32")
    examples = args.conflict_examples
    micro = {t: [d.batch(list(range(i, i + 16))) for i in range(0, examples, 16)]
             for t, d in data.items()}
    params = list(model.encoder_parameters().values())
    padded = {t: [pad_to(b, PAPER_INPUT, PAPER_TARGET[args.benchmark]).to(device) for b in bs]
              for t, bs in micro.items()}
    ours16 = {t: [b.to(device) for b in bs] for t, bs in micro.items()}
    ours64 = {t: [d.batch(list(range(i, min(i + 64, examples)))).to(device)
                  for i in range(0, examples, 64)] for t, d in data.items()}

    results = {}

    def run(name: str, fn) -> None:
        devices.synchronize(device)
        start = time.perf_counter()
        results[name] = fn()
        devices.synchronize(device)
        rows.append((name, time.perf_counter() - start))

    rows: list[tuple[str, float]] = []
    run("paper code (16 per pass, padded to 256, host copies)",
        lambda: paper_conflict(model, padded, params).numpy())
    run("ours, 16 per pass", lambda: measure_grams(model, ours16, {"encoder": params})["encoder"])
    run(f"ours, {min(64, examples)} per pass",
        lambda: measure_grams(model, ours64, {"encoder": params})["encoder"])
    paper, ours = results[rows[0][0]], results[rows[1][0]]
    difference = float(((paper - ours) ** 2).sum() ** 0.5 / (paper**2).sum() ** 0.5)
    return rows, difference


def evaluation_rate(model, data, tokenizer, device, precision: str, rows: int) -> float:
    """Examples per second of greedy decoding (`evaluate.predict_split`'s batches and
    answer lengths) over the first `rows` examples of every task."""
    devices.configure(device, precision)
    batch_size = 256 if device.type == "cuda" else 64
    examples, seconds = 0, 0.0
    with torch.no_grad():
        for task, full in data.items():
            part = TaskData(full.task, full.inputs[:rows], full.targets[:rows],
                            full.frame.iloc[:rows])
            words = [w for ws in part.frame.get("label_words", []) for w in ws]
            new_tokens = max_answer_tokens(full.task, tokenizer, PAPER_TARGET["decanlp"],
                                           words, part.targets)
            devices.synchronize(device)
            start = time.perf_counter()
            for _, batch in eval_batches(part, batch_size):
                with devices.autocast(device, precision):
                    model.predict(task, batch.to(device), tokenizer, new_tokens)
            devices.synchronize(device)
            seconds += time.perf_counter() - start
            examples += len(part)
    return examples / seconds


# ---------------------------------------------------------------- the paper grid

EVALUATED = {  # examples evaluated per task: a 5% validation split of train, and test
    "cola": 0.05 * 8551 + 1043, "sst2": 0.05 * 67349 + 872, "mrpc": 0.05 * 3668 + 408,
    "stsb": 0.05 * 5749 + 1500, "qqp": 0.05 * 363846 + 40430,
    "mnli": 0.05 * 392702 + 9815 + 9832, "qnli": 0.05 * 104743 + 5463,
    "rte": 0.05 * 2490 + 277,
    # DecaNLP, approximate: decaNLP's train and validation sizes
    "sst": 0.05 * 6920 + 872, "mnli_deca": 0.05 * 392702 + 9815,
    "iwslt": 0.05 * 196884 + 993, "cnn_dm": 0.05 * 287227 + 13368,
    "wikisql": 0.05 * 56355 + 8421, "squad": 0.05 * 87599 + 10570,
    "srl": 0.05 * 6414 + 2183, "zre": 0.05 * 840000 + 12000, "winograd": 0.05 * 80 + 82,
}


def paper_grid() -> list:
    raw = yaml.safe_load((ROOT / "config.yaml").read_text())
    raw["preset"] = "paper"
    validate(raw, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))
    cfg = load_config(raw)
    return cfg, list(all_cells(cfg).values())


def projection(measured: dict[str, dict[str, float]], benchmark: str) -> list[str]:
    """Device-hours of the paper preset's grid from the measured per-task costs:
    a cell of K tasks costs K x the per-task step time per step, K x the per-task conflict
    time per measurement, and its evaluation examples (`EVALUATED`) at the measured rate of
    greedy decoding. Every cell is costed at the measured benchmark's rates."""
    cfg, cells = paper_grid()
    train = cfg.preset.train
    measurements = train.steps // train.conflict_every + 1
    lines, total, missing = [], 0.0, set()
    for shape, size in (("t5-v1_1-small", "small"), ("t5-v1_1-base", "base")):
        sized = [c for c in cells if c.model == size]
        if shape not in measured:
            if sized:
                missing.add(shape)
            continue
        cost = measured[shape]
        hours = {"train": 0.0, "conflict": 0.0, "evaluation": 0.0}
        for cell in sized:
            tasks = (cfg.preset.data.tasks[cell.benchmark] if cell.multi_task
                     else (cell.tasks,))
            hours["train"] += train.steps * len(tasks) * cost["step_per_task_s"] / 3600
            if cell.multi_task:
                hours["conflict"] += (measurements * len(tasks) * cost["conflict_per_task_s"]
                                      / 3600)
            hours["evaluation"] += sum(EVALUATED[t] for t in tasks) / cost["eval_rate"] / 3600
        total += sum(hours.values())
        lines.append(f"  {size:<6} {len(sized):>4} cells: train {hours['train']:8.1f} h, "
                     f"conflict {hours['conflict']:7.1f} h, evaluation "
                     f"{hours['evaluation']:6.1f} h")
    lines.append(f"  total {len(cells)} cells, {train.steps} steps each, conflict every "
                 f"{train.conflict_every} steps: {total:.1f} device-hours")
    if missing:
        lines.append(f"  not measured here: {', '.join(sorted(missing))} (--shapes)")
    lines.append(f"  costed on {benchmark}-like data; DecaNLP's longer inputs and targets make "
                 "its cells slower (--benchmark decanlp)")
    return lines


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--shapes", nargs="+", choices=[*SHAPES, "preset"])
    parser.add_argument("--benchmark", default="glue", choices=sorted(registry.BENCHMARKS))
    parser.add_argument("--steps", type=int, help="timed steps per row (after one warm-up)")
    parser.add_argument("--conflict-examples", type=int,
                        help="examples per task in one conflict measurement (multiple of 16)")
    parser.add_argument("--precisions", nargs="+", default=list(devices.PRECISIONS),
                        choices=devices.PRECISIONS)
    parser.add_argument("--peak-tflops", type=float, help="the device's peak, for MFU")
    parser.add_argument("--quick", action="store_true", help="fewer steps and examples")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = devices.resolve_device(args.device)
    gpu = device.type == "cuda"
    args.shapes = args.shapes or (["t5-v1_1-small", "t5-v1_1-base", "preset"] if gpu
                                  else ["t5-v1_1-small", "preset"])
    args.steps = args.steps or (3 if args.quick else 10) if gpu else args.steps or 2
    args.conflict_examples = args.conflict_examples or (
        (256 if args.quick else 1024) if gpu else 64)
    if args.conflict_examples % 16:
        parser.error("--conflict-examples must be a multiple of 16")

    name = torch.cuda.get_device_name(device) if gpu else f"CPU, {args.threads} threads"
    print(f"device {device} ({name}); torch {torch.__version__}; {args.benchmark}-like "
          f"generated data, text-to-text, {BATCH} examples per task; {args.steps} timed steps")
    measured: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer_dir, paths = make_data(args.benchmark, Path(tmp),
                                         max(4 * BATCH * (args.steps + 1),
                                             args.conflict_examples, 256))
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
        for shape in args.shapes:
            if not shape_available(shape):
                print(f"\n{shape}: skipped (run the demo workflow first)")
                continue
            t5 = make_t5(shape, tokenizer_dir)
            if shape == "preset":
                tokenizer = AutoTokenizer.from_pretrained(PRESET_MODEL)
            tasks = list(paths)
            model = build_model("text-to-text", t5, tasks).to(device).train()
            data: dict[str, TaskData] = {
                t: load_task_data(registry.get_task(t), p, tokenizer, PAPER_INPUT,
                                  PAPER_TARGET[args.benchmark], target="tokens")
                for t, p in paths.items()}
            params = sum(p.numel() for p in t5.parameters())
            print(f"\n== {shape}: {params / 1e6:.1f}M parameters, {len(tasks)} tasks")
            rows = step_rows(t5, model, data, device, args, args.benchmark)
            paper_ms = rows[0].ms
            print(f"{'multi-task step':<36}{'ms/step':>10}{'x paper':>9}{'examples/s':>12}"
                  f"{'tokens/s':>11}{'peak MB':>9}{'MFU':>7}")
            for row in rows:
                mfu = f"{row.mfu:7.1%}" if row.mfu is not None else f"{'-':>7}"
                peak = f"{row.peak_mb:>9.0f}" if gpu else f"{'-':>9}"  # RSS is not per row
                print(f"{row.name:<36}{row.ms:>10.1f}{paper_ms / row.ms:>8.1f}x"
                      f"{row.examples_per_s:>12.1f}{row.tokens_per_s:>11.0f}{peak}{mfu}")
            fastest = min(rows[1:], key=lambda r: r.ms)
            print(f"fastest: {fastest.name}, {paper_ms / fastest.ms:.1f}x the paper code's step")

            conflict, difference = conflict_rows(model, data, device, args)
            print(f"\n{'conflict measurement':<52}{'s':>8}{'x paper':>9}"
                  f"   ({args.conflict_examples} examples per task)")
            for label, seconds in conflict:
                print(f"{label:<52}{seconds:>8.2f}{seconds / conflict[0][1]:>8.2f}x")
            print(f"Gram matrices, paper code vs ours: relative difference {difference:.2e}")
            fastest_precision = fastest.name.split()[-1]
            rate = evaluation_rate(model, data, tokenizer, device, fastest_precision,
                                   rows=256 if gpu else 64)
            print(f"greedy decoding ({fastest_precision}): {rate:.1f} examples/s")
            if shape in SHAPES:
                measured[shape] = {
                    "eval_rate": rate,
                    "step_per_task_s": fastest.ms / 1000 / len(tasks),
                    "conflict_per_task_s": min(s for _, s in conflict[1:]) / len(tasks)
                    * 1024 / args.conflict_examples,
                }
            del model, t5
            if gpu:
                torch.cuda.empty_cache()
    print(f"\n== projected {device.type.upper()} time of the paper preset's grid "
          f"(fastest measured step)")
    for line in projection(measured, args.benchmark):
        print(line)


if __name__ == "__main__":
    main()
