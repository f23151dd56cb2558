from __future__ import annotations

import string

import sentencepiece as spm
from transformers import AutoTokenizer, T5Tokenizer

from taskconflict import registry
from taskconflict.config import TokenizerConfig
from taskconflict.registry import registry_text
from taskconflict.tokenizer import (
    build_workflow_tokenizer,
    load_tokenizer,
    train_tokenizer,
    vocabulary_text,
)

SENTENCE = "anna bought the red car in paris ."


def sp_size(folder) -> int:
    return spm.SentencePieceProcessor(model_file=str(folder / "spiece.model")).get_piece_size()


def test_known_sentence_round_trips_without_unk(toy_tokenizer_dir):
    tokenizer = load_tokenizer(toy_tokenizer_dir)
    ids = tokenizer(SENTENCE)["input_ids"]
    assert tokenizer.unk_token_id not in ids
    assert ids[-1] == tokenizer.eos_token_id
    assert tokenizer.decode(ids, skip_special_tokens=True) == SENTENCE


def test_corpus_words_are_whole_pieces(toy_tokenizer_dir):
    tokenizer = load_tokenizer(toy_tokenizer_dir)
    ids = tokenizer(SENTENCE, add_special_tokens=False)["input_ids"]
    pieces = tokenizer.convert_ids_to_tokens(ids)
    assert pieces[:4] == ["▁anna", "▁bought", "▁the", "▁red"]


def test_special_and_sentinel_ids(toy_tokenizer_dir):
    tokenizer = load_tokenizer(toy_tokenizer_dir)
    size = sp_size(toy_tokenizer_dir)
    assert (tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id) == (0, 1, 2)
    assert tokenizer.convert_tokens_to_ids("<extra_id_0>") == size + 99
    assert tokenizer.convert_tokens_to_ids("<extra_id_99>") == size
    assert len(tokenizer) == size + 100


def test_registry_strings_never_unk(toy_tokenizer_dir):
    tokenizer = load_tokenizer(toy_tokenizer_dir)
    texts = [*registry_text(), "not_entailment", "mnli hypothesis:", "3.8", "0.0 5.0"]
    for text in texts:
        ids = tokenizer(text)["input_ids"]
        assert tokenizer.unk_token_id not in ids, text
        assert tokenizer.decode(ids, skip_special_tokens=True) == " ".join(text.split()), text


def test_printable_ascii_never_unk(toy_tokenizer_dir):
    tokenizer = load_tokenizer(toy_tokenizer_dir)
    text = " ".join(string.ascii_letters + string.digits + string.punctuation) + " 1979 x7y9"
    assert tokenizer.unk_token_id not in tokenizer(text)["input_ids"]


def test_folder_loads_like_a_hub_checkpoint(toy_tokenizer_dir, toy_corpus):
    auto = AutoTokenizer.from_pretrained(toy_tokenizer_dir)
    t5 = T5Tokenizer.from_pretrained(toy_tokenizer_dir)
    sp = spm.SentencePieceProcessor(model_file=str(toy_tokenizer_dir / "spiece.model"))
    assert isinstance(auto, T5Tokenizer)
    lines = toy_corpus.heldout_lines[:50]
    ids = auto(lines)["input_ids"]
    assert ids == t5(lines)["input_ids"]
    assert ids == [[*sp.encode(line), 1] for line in lines]


def test_training_is_deterministic(toy_corpus, toy_tokenizer_dir, tmp_path):
    build_workflow_tokenizer(toy_corpus.corpus, tmp_path, TokenizerConfig(vocab_size=500))
    for file in ("spiece.model", "tokenizer.json"):
        assert (tmp_path / file).read_bytes() == (toy_tokenizer_dir / file).read_bytes()


def test_vocabulary_text_and_label_words_never_unk(toy_tokenizer_dir):
    """The tests' tokenizer is the workflow's: every prompt, template, letter and lexicon line
    it trains on encodes without <unk>, and every label word is one piece."""
    tokenizer = load_tokenizer(toy_tokenizer_dir)
    for text in vocabulary_text():
        assert tokenizer.unk_token_id not in tokenizer(text)["input_ids"], text
    for word in registry.all_label_words():
        assert len(tokenizer(word, add_special_tokens=False)["input_ids"]) == 1, word


def test_vocab_size_is_a_soft_limit(toy_corpus, tmp_path):
    train_tokenizer(toy_corpus.corpus, tmp_path, TokenizerConfig(vocab_size=20000))
    assert 100 < sp_size(tmp_path) < 20000
    assert load_tokenizer(tmp_path).convert_tokens_to_ids("<extra_id_0>") == sp_size(tmp_path) + 99
