"""A tiny T5 and the GLUE tasks the training tests run on."""

import torch
from transformers import T5Config, T5ForConditionalGeneration

TASKS = ("cola", "stsb", "mnli")


def tiny_t5(vocab: int = 64) -> T5ForConditionalGeneration:
    torch.manual_seed(0)
    config = T5Config(vocab_size=vocab, d_model=16, d_ff=32, d_kv=8, num_heads=2, num_layers=2,
                      feed_forward_proj="gated-gelu", dropout_rate=0.0,
                      tie_word_embeddings=False, decoder_start_token_id=0)
    return T5ForConditionalGeneration(config)
