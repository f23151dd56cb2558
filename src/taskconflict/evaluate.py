"""Evaluate a trained cell on validation and test (and MNLI mismatched).

Text-to-text models are scored on what they generate (greedy `generate`, not the argmax of
teacher-forced logits): the text is parsed back to a label, and an output that matches no
label word is a "bad output", counted and scored wrong. Canonical heads predict labels,
scores, or answer spans (turned back into text); span and sequence answers are scored as
text. For span tasks, answers that truncation cut off the input are counted.
Writes `metrics.json`: {"cell": id, "tasks": {task: {split: {metric: x100, "bad_outputs",
"examples"}}}}.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd
import torch
from transformers import AutoTokenizer

from taskconflict import devices, metrics, registry
from taskconflict.batches import TaskData, eval_batches, load_task_data
from taskconflict.config import TrainConfig
from taskconflict.grid import Cell
from taskconflict.io import write_json
from taskconflict.models import SPAN_TARGET, TOKENS, MultiTaskModel, load_model
from taskconflict.weights import load_weights


def max_answer_tokens(task: registry.Task, tokenizer, cap: int,
                      words: Iterable[str] = (), targets: Iterable[Sequence[int]] = ()) -> int:
    """Room for the longest answer plus end-of-sequence: the label words (`words`, default
    the registry's) or a score for classification and regression; for text answers the
    longest tokenised training target (`targets`, end-of-sequence included), at most `cap`.
    Decoding stops there instead of running every batch to the cap (256 in the paper
    preset) when some row never emits end-of-sequence; the training targets, not the
    evaluated split's, so that no test answer shapes the outputs."""
    if task.kind not in (registry.CLASSIFICATION, registry.REGRESSION):
        return min(cap, max((len(t) for t in targets), default=cap))
    answers = sorted(set(words)) or list(task.label_words) or ["5.0", "0.0"]
    return min(cap, max(len(tokenizer(a).input_ids) for a in answers) + 1)


@torch.no_grad()
def predict_split(model: MultiTaskModel, task: registry.Task, path: Path, tokenizer,
                  cfg: TrainConfig, train_targets: Sequence[Sequence[int]] = ()
                  ) -> dict[str, float]:
    """Predict every row of a split, in length-sorted batches on the model's device; text
    answers get room for the longest of `train_targets` (default: the length cap)."""
    device = next(model.parameters()).device
    target = model.target(task.name)
    data = load_task_data(task, path, tokenizer, cfg.max_input_length, cfg.max_target_length,
                          target=target)
    row_words = data.frame["label_words"] if "label_words" in data.frame else []
    new_tokens = max_answer_tokens(task, tokenizer, cfg.max_target_length,
                                   (w for words in row_words for w in words), train_targets)
    outputs: list = [None] * len(data)
    for rows, batch in eval_batches(data, cfg.eval_batch_size):
        batch = batch.to(device)
        with devices.autocast(device, cfg.precision):
            if cfg.eval_mode == "teacher_forced" and target == TOKENS:
                predicted = model.predict_teacher_forced(task.name, batch, tokenizer)
            else:
                predicted = model.predict(task.name, batch, tokenizer, new_tokens)
        for row, prediction in zip(rows, predicted, strict=True):
            outputs[row] = prediction
    if target == SPAN_TARGET:
        outputs = [data.span_text(row, span) for row, span in enumerate(outputs)]
    if task.kind not in (registry.CLASSIFICATION, registry.REGRESSION):
        return score_text(task, outputs, data)
    if target == TOKENS:
        words = list(row_words) or [()] * len(outputs)
        outputs = [metrics.parse_prediction(task, text, w)
                   for text, w in zip(outputs, words, strict=True)]
    return metrics.score(task, outputs, data.frame["label"].tolist())


def training_targets(path: Path, tokenizer, cfg: TrainConfig) -> list[list[int]]:
    """The training split's targets as the model was trained on them (truncated)."""
    targets = pd.read_parquet(path, columns=["target"])["target"]
    return tokenizer(list(targets), truncation=True, max_length=cfg.max_target_length)["input_ids"]


def score_text(task: registry.Task, predictions: list[str], data: TaskData) -> dict[str, float]:
    """Text answers (spans, sequences), parsed by the task's parser, against every gold answer
    (`answers`, else `answer`), with the task's metrics (`Task.metric_fns`: the best over the
    answers; corpus-level metrics take the first), each given the data columns it names."""
    references = ([list(answers) for answers in data.frame["answers"]] if "answers" in data.frame
                  else [[answer] for answer in data.frame["answer"]])
    parsed = [metrics.parse_prediction(task, p) for p in predictions]
    texts = [p if answer is None else answer for p, answer in zip(predictions, parsed, strict=True)]
    scores: dict[str, float] = {}
    for metric in task.metric_fns:
        inputs = {column: list(data.frame[column]) for column in metric.inputs}
        scores[metric.name] = registry.resolve(metric.function)(texts, references, **inputs)
    scores["examples"] = len(predictions)
    scores["bad_outputs"] = sum(answer is None for answer in parsed)
    if task.kind == registry.SPAN:
        scores["answers_not_in_input"] = data.lost_answers
    return scores


def evaluate_cell(cell: Cell, cfg: TrainConfig, model_dir: str | Path, weights: str | Path,
                  data: dict[str, str | Path], out_json: str | Path,
                  device: str | torch.device | None = None) -> dict:
    """Score the cell's final model; `data` maps each task to its rendered-split folder.
    Runs on `device` (default: `cfg.device` resolved); returns what it cost."""
    device = torch.device(device) if device is not None else devices.resolve_device(cfg.device)
    devices.configure(device, cfg.precision)
    torch.set_num_threads(cfg.threads)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = load_model(cell, model_dir, list(data), cfg)
    load_weights(model, weights)
    model.to(device).eval()
    results = {}
    with devices.peak_memory(device) as memory:
        start = time.perf_counter()
        for name, folder in data.items():
            task = registry.get_task(name)
            train_targets = (training_targets(Path(folder) / "train.parquet", tokenizer, cfg)
                             if task.kind in (registry.SPAN, registry.SEQUENCE) else ())
            results[name] = {
                split: predict_split(model, task, Path(folder) / f"{split}.parquet", tokenizer,
                                     cfg, train_targets)
                for split in task.splits if split != "train"
            }
        seconds = time.perf_counter() - start
    write_json({"cell": cell.id, "tasks": results}, out_json)
    examples = sum(split["examples"] for task in results.values() for split in task.values())
    return {"evaluation_s": seconds, "evaluation_examples": examples,
            "evaluation_peak_memory_mb": memory["peak_memory_mb"]}
