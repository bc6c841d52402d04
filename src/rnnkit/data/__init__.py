"""Data: tokenizers, corpora, windowing, batching and generated tasks."""
