"""Small, self-contained experiments with a hand-written loop: `rnnkit demo` and the classic
long-range tasks that show vanishing gradients."""
