"""Train a T5-style SentencePiece tokenizer on the generated corpus.

The result is a folder that loads with `AutoTokenizer.from_pretrained` exactly like a hub T5
checkpoint (`spiece.model`, `tokenizer.json`, `tokenizer_config.json`), so the rest of the
workflow never needs to know whether its tokenizer was trained here or downloaded.

`build_workflow_tokenizer` is the workflow's tokenizer: the corpus plus every string a task
can put into a model's input or output (`vocabulary_text`), label words as whole pieces. The
tokenizer stage and the tests' tokenizer are both built by it, from the same text.
"""

from __future__ import annotations

import io
import string
from collections.abc import Iterator, Sequence
from pathlib import Path

import sentencepiece as spm
from transformers import AutoTokenizer, PreTrainedTokenizerBase, T5Tokenizer

from taskconflict import registry
from taskconflict.config import TokenizerConfig
from taskconflict.data import decanlp_generated, world
from taskconflict.label_spaces import letter_lines
from taskconflict.prompts import prompt_text

SPIECE = "spiece.model"
WORD_START = "\u2581"  # SentencePiece's word-boundary mark

# Every printable ASCII character is a vocabulary piece, so digits or punctuation that the
# corpus happens not to contain never become <unk>. (Byte fallback cannot do this: transformers'
# T5Tokenizer rebuilds the Unigram model without it.)
ASCII_LINE = " ".join(string.ascii_letters + string.digits + string.punctuation)


def train_tokenizer(
    corpus: Path,
    out_dir: Path,
    cfg: TokenizerConfig,
    extra_lines: Sequence[str] = (),
    whole_words: Sequence[str] = (),
) -> None:
    """Train a unigram SentencePiece model with T5's special ids and save it as a T5 tokenizer.

    `extra_lines` (prompts, label words) are trained on too, so they never become <unk>.
    `whole_words` (label words) become single pieces at the start of a word, so an answer is
    one decision token, not a spelling: the unigram trainer would otherwise split words that
    the corpus never contains into characters. `cfg.vocab_size` is a soft limit: a small
    corpus may support fewer pieces.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    spm.set_random_generator_seed(0)
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=_training_lines(Path(corpus), extra_lines),
        model_writer=model,
        model_type="unigram",
        vocab_size=cfg.vocab_size,
        hard_vocab_limit=False,
        character_coverage=1.0,
        byte_fallback=False,  # transformers' T5Tokenizer drops it on loading anyway
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        num_threads=1,
        minloglevel=2,
        user_defined_symbols=[WORD_START + word for word in sorted(set(whole_words))],
    )
    (out_dir / SPIECE).write_bytes(model.getvalue())
    # from_pretrained on the folder converts spiece.model properly; the vocab_file constructor
    # does not (it tokenises whole words as <unk> in transformers 5).
    tokenizer = T5Tokenizer.from_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)


def vocabulary_text() -> list[str]:
    """The lines the workflow's tokenizer trains on besides the corpus: the registry's prompts,
    label words and formats, the diverse prompts' templates and answers, the letters of the
    letter output spaces, and the generated data's lexicons (words a small corpus may lack)."""
    return [*registry.registry_text(), *prompt_text(), *letter_lines(), *world.lexicon_lines(),
            *decanlp_generated.lexicon_lines()]


def build_workflow_tokenizer(corpus: Path, out_dir: Path, cfg: TokenizerConfig) -> None:
    """The workflow's tokenizer: trained on the corpus and `vocabulary_text`, every label word
    one piece."""
    train_tokenizer(corpus, out_dir, cfg, vocabulary_text(),
                    whole_words=registry.all_label_words())


def load_tokenizer(path: str | Path) -> PreTrainedTokenizerBase:
    return AutoTokenizer.from_pretrained(path)


def _training_lines(corpus: Path, extra_lines: Sequence[str]) -> Iterator[str]:
    """The corpus lines, then each distinct corpus word once, the extra lines and ASCII_LINE.

    The distinct words matter: SentencePiece 0.2's unigram trainer only seeds its vocabulary
    with substrings that are followed by more than one thing. In a corpus where every line ends
    with " ." no word ends a line, so each is always followed by a space, and whole words would
    never become pieces (the trained vocabulary collapses to ~100 fragments).
    """
    with corpus.open(encoding="utf-8") as f:
        lines = [line.strip() for line in f if line.strip()]
    yield from lines
    yield from sorted({word for line in lines for word in line.split()})
    yield from extra_lines
    yield ASCII_LINE
