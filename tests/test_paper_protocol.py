"""What the paper's code measures, measured the same way: the conflict parameter set, the
decoder re-initialisation, the learning-rate schedule and teacher-forced reading."""

import json

import pandas as pd
import pytest
import torch
from toy_models import TASKS, hand_gram, random_batches
from transformers import T5Config, T5ForConditionalGeneration

from taskconflict import factors
from taskconflict.config import TrainConfig
from taskconflict.grid import Cell
from taskconflict.models import build_model
from taskconflict.run import run_cell
from taskconflict.train import learning_rate_schedule


def tied_t5() -> T5ForConditionalGeneration:
    """Like the checkpoints the workflow pre-trains: the LM head tied to the shared embedding,
    and layer norms away from their initial value of 1 (as after pre-training)."""
    torch.manual_seed(0)
    config = T5Config(vocab_size=64, d_model=16, d_ff=32, d_kv=8, num_heads=2, num_layers=2,
                      feed_forward_proj="gated-gelu", dropout_rate=0.0,
                      tie_word_embeddings=True, decoder_start_token_id=0)
    t5 = T5ForConditionalGeneration(config)
    with torch.no_grad():
        for name, p in t5.named_parameters():
            if "layer_norm" in name:
                p.fill_(2.5)
    return t5


# the encoder blocks of tiny_t5 (2 layers): per block self-attention q, k, v, o, the gated
# feed-forward's wi_0, wi_1, wo, and block 0's relative attention bias
ENCODER_TENSORS = 2 * (4 + 3) + 1
ENCODER_NORMS = 2 * 2 + 1  # two per block, and the final one


@pytest.mark.parametrize("decoder", factors.DECODER.names)
def test_every_architecture_measures_conflict_on_the_same_encoder_tensors(decoder):
    """The paper's code's rule: encoder tensors without layer norms and without the
    embedding (which text-to-text shares with its decoder and tied LM head)."""
    names = {}
    for architecture in factors.ARCHITECTURE.names:
        model = build_model(architecture, tied_t5(), TASKS, decoder=decoder)
        tensors = model.encoder_parameters()
        names[architecture] = sorted(tensors)
        assert all(tensors[name] is param for name, param in model.encoder.named_parameters()
                   if name in tensors)
        shared = model.encoder.embed_tokens.weight
        assert all(p is not shared for p in tensors.values())
    assert names["canonical"] == names["text-to-text-id"] == names["text-to-text"]
    assert len(names["canonical"]) == ENCODER_TENSORS
    assert not any("layer_norm" in n or "embed" in n for n in names["canonical"])
    assert "block.0.layer.0.SelfAttention.relative_attention_bias.weight" in names["canonical"]


def test_the_other_conflict_parameter_sets_add_norms_then_the_embedding():
    model = build_model("text-to-text", tied_t5(), TASKS)
    sizes = {rule: len(model.encoder_parameters(rule))
             for rule in factors.CONFLICT_PARAMETERS.names}
    assert sizes == {"blocks-without-norms": ENCODER_TENSORS,
                     "blocks": ENCODER_TENSORS + ENCODER_NORMS - 1,  # no final norm
                     "stack": ENCODER_TENSORS + ENCODER_NORMS + 1}   # and the embedding
    with pytest.raises(ValueError, match="unknown conflict parameter set 'all'"):
        model.encoder_parameters("all")


@pytest.mark.parametrize("decoder", factors.DECODER.names)
@pytest.mark.parametrize("rule", factors.CONFLICT_PARAMETERS.names)
def test_the_decoder_part_holds_no_tensor_the_encoder_uses(rule, decoder):
    model = build_model("text-to-text", tied_t5(), TASKS, decoder=decoder)
    encoder = {id(p) for p in model.encoder.parameters()}
    tensors = model.decoder_parameters(rule)
    assert tensors and not any(id(p) in encoder for p in tensors.values())
    assert id(model.t5.lm_head.weight) not in {id(p) for p in tensors.values()}
    # decoder blocks: self- and cross-attention q, k, v, o, the feed-forward, block 0's bias
    assert len(model.decoder_parameters()) == 2 * (8 + 3) + 1
    for architecture in ("canonical", "text-to-text-id"):  # no decoder shared by every task
        assert build_model(architecture, tied_t5(), TASKS, decoder=decoder
                           ).decoder_parameters(rule) == {}


def test_conflict_gram_reads_only_the_chosen_tensors():
    """The Gram matrix over the default set equals one computed by hand from the gradients
    of exactly those tensors: the embedding's gradient does not enter."""
    from taskconflict.probe import measure_grams

    model = build_model("text-to-text", tied_t5(), TASKS)
    batches = random_batches(generative=True)
    tensors = list(model.encoder_parameters().values())
    expected = hand_gram(model, batches, tensors)
    model.eval()  # the probe measures in eval mode; tiny_t5 has no dropout
    gram = measure_grams(model, {t: [b] for t, b in batches.items()}, {"encoder": tensors})
    torch.testing.assert_close(torch.as_tensor(gram["encoder"]), expected, rtol=1e-4,
                               atol=1e-8)


def _std(t5, kind: str) -> float:
    return t5.decoder.block[1].layer[0].SelfAttention.__getattr__(kind).weight.std().item()


@pytest.mark.parametrize("architecture", ["text-to-text", "text-to-text-id", "canonical"])
def test_reinitialised_decoder_redraws_blocks_and_keeps_embedding_and_lm_head(architecture):
    """The paper's code (`decoder.init_weights()`): every block tensor re-drawn with T5's
    init scales, layer norms back to 1, the shared embedding and the LM head pre-trained."""
    pretrained = tied_t5()
    tasks = ["cola", "iwslt"] if architecture == "canonical" else TASKS
    model = build_model(architecture, tied_t5(), tasks, decoder="reinit")
    generators = ([model.t5] if architecture == "text-to-text"
                  else list(model.decoders.values()))
    assert all(torch.equal(a, b) for a, b in zip(model.encoder.state_dict().values(),
                                                 pretrained.encoder.state_dict().values(),
                                                 strict=True))
    before = dict(pretrained.decoder.named_parameters())
    for t5 in generators:
        # text-to-text reads the encoder's embedding; each task's decoder copy its own copy
        assert torch.equal(t5.decoder.embed_tokens.weight, pretrained.shared.weight)
        if architecture == "text-to-text":
            assert t5.decoder.embed_tokens.weight is model.encoder.embed_tokens.weight
        assert t5.lm_head.weight is t5.decoder.embed_tokens.weight  # still tied
        assert torch.equal(t5.lm_head.weight, pretrained.lm_head.weight)
        for name, p in t5.decoder.named_parameters():
            if name.startswith("embed_tokens"):
                continue
            if "layer_norm" in name:
                assert (p == 1.0).all(), name  # T5's init (initializer_factor 1)
            else:
                assert not torch.equal(p, before[name]), name
    # T5's scales for d_model 16, d_kv 8, 2 heads: q (16*8)^-0.5 = 0.088, k and v 16^-0.5
    # = 0.25; the draws are 256 values each, so within 25%
    t5 = generators[0]
    assert _std(t5, "q") == pytest.approx(16 ** -0.5 * 8 ** -0.5, rel=0.25)
    assert _std(t5, "k") == pytest.approx(0.25, rel=0.25)
    wo = t5.decoder.block[0].layer[2].DenseReluDense.wo.weight.std().item()
    assert wo == pytest.approx(32 ** -0.5, rel=0.25)  # d_ff^-0.5
    if len(generators) > 1:  # each task's copy is its own draw
        assert not torch.equal(generators[0].decoder.block[0].layer[0].SelfAttention.q.weight,
                               generators[1].decoder.block[0].layer[0].SelfAttention.q.weight)
    if architecture != "canonical":
        losses = model.task_losses(random_batches(generative=True))
        assert all(torch.isfinite(v) for v in losses.values())


def test_full_reinitialisation_also_gives_a_fresh_embedding_and_lm_head():
    pretrained = tied_t5()
    model = build_model("text-to-text", tied_t5(), TASKS, decoder="reinit", reinit_scope="full")
    t5 = model.t5
    assert t5.lm_head.weight is t5.decoder.embed_tokens.weight
    assert t5.decoder.embed_tokens.weight is not model.encoder.embed_tokens.weight
    assert not torch.equal(t5.lm_head.weight, pretrained.lm_head.weight)
    assert torch.equal(model.encoder.embed_tokens.weight, pretrained.shared.weight)
    # its embedding is the decoder's own, so the decoder part measures it under `stack`
    assert id(t5.lm_head.weight) in {id(p) for p in model.decoder_parameters("stack").values()}
    with pytest.raises(ValueError, match="unknown decoder re-initialisation 'half'"):
        build_model("text-to-text", tied_t5(), TASKS, decoder="reinit", reinit_scope="half")
    with pytest.raises(ValueError, match="unknown decoder initialisation 'random'"):
        build_model("text-to-text", tied_t5(), TASKS, decoder="random")


def _rates(schedule: str, warmup: int, steps: int = 10, lr: float = 1.0) -> list[float]:
    """The rate each step trains at (steps 1..steps), as the training loop reads it."""
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.AdamW([param], lr=lr)
    sched = learning_rate_schedule(optimizer, TrainConfig(steps=steps, schedule=schedule,
                                                          warmup_steps=warmup))
    rates = []
    for _ in range(steps):
        rates.append(sched.get_last_lr()[0])
        optimizer.step()
        sched.step()
    return rates


def test_learning_rate_schedules_at_chosen_steps():
    # constant without warm-up: 1 everywhere; with 4 warm-up steps: 0, 1/4, 2/4, 3/4, then 1
    assert _rates("constant", 0) == [1.0] * 10
    assert _rates("constant", 4) == pytest.approx([0, .25, .5, .75, 1, 1, 1, 1, 1, 1])
    # linear, warm-up 2 over 10 steps: k/2 for k < 2, then (10 - k) / 8
    assert _rates("linear", 2) == pytest.approx([0, .5, 1, 7 / 8, 6 / 8, 5 / 8, 4 / 8, 3 / 8,
                                                 2 / 8, 1 / 8])
    # cosine, warm-up 2 over 10: 0.5 (1 + cos(pi (k - 2) / 8)) after it; at k = 6, 0.5
    cosine = _rates("cosine", 2)
    assert cosine[:3] == pytest.approx([0, .5, 1])
    assert cosine[6] == pytest.approx(0.5)
    assert cosine[4] == pytest.approx(0.5 * (1 + 2 ** -0.5))  # k = 4: cos(pi / 4)
    assert cosine[9] == pytest.approx(0.5 * (1 + torch.cos(torch.tensor(7 / 8 * torch.pi))))


def test_teacher_forced_text_ends_at_the_first_end_of_sequence(toy_run_inputs):
    """The paper's code keeps `split('</s>')[0]`: what the argmax says after an end of
    sequence is not the answer."""
    from transformers import AutoTokenizer

    folder, _ = toy_run_inputs
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = build_model("text-to-text", T5ForConditionalGeneration.from_pretrained(folder),
                        ["cola"]).eval()
    words = tokenizer(["acceptable", "unacceptable"], add_special_tokens=False).input_ids
    eos, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
    rows = [[*words[0], eos, *words[1]], [*words[1], *words[0]], [eos, *words[0]]]
    width = max(map(len, rows))
    forced = torch.tensor([row + [pad] * (width - len(row)) for row in rows])
    model.teacher_forced_tokens = lambda task, batch: forced
    texts = model.predict_teacher_forced("cola", None, tokenizer)
    assert texts == ["acceptable",
                     tokenizer.decode([*words[1], *words[0]], skip_special_tokens=True),
                     ""]


def test_run_info_counts_the_tensors_conflict_was_measured_in(toy_run_inputs, tmp_path):
    folder, data = toy_run_inputs
    cfg = TrainConfig(steps=4, batch_size=4, lr_multi_task=1e-3, max_input_length=32,
                      max_target_length=8, log_every=2, conflict_every=2, conflict_batches=1,
                      conflict_batch_size=4, checkpoint_every=0, schedule="cosine",
                      warmup_steps=1)
    cell = Cell("glue", "small", "text-to-text", "multi", seed=0, measure_decoder=True)
    info = run_cell(cell, cfg, folder, data, tmp_path)
    t5 = T5ForConditionalGeneration.from_pretrained(folder)
    expected = {part: sum(p.numel() for n, p in stack.named_parameters()
                          if n.startswith("block.") and "layer_norm" not in n)
                for part, stack in (("encoder", t5.encoder), ("decoder", t5.decoder))}
    counts = info["conflict_parameters"]
    assert counts["rule"] == "blocks-without-norms"
    assert {part: counts[part]["parameters"] for part in expected} == expected
    assert json.loads((tmp_path / "run_info.json").read_text())["conflict_parameters"] == counts
    log = pd.read_parquet(tmp_path / "train_log.parquet")
    rates = log.drop_duplicates("step").set_index("step")["learning_rate"]
    # cosine over 4 steps, 1 warm-up: step 2 trains at the peak, step 4 at 0.5(1+cos(2pi/3))
    assert rates[2] == pytest.approx(1e-3)
    assert rates[4] == pytest.approx(1e-3 * 0.25)
