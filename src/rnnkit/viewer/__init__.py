"""The activation viewer: a language model run over a text, written as one self-contained HTML
page that colours the text by a unit's activation (`rnnkit inspect`)."""
