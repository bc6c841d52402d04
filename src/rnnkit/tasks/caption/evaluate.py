"""Placeholder replaced below."""
def evaluate_loaded(*a, **k): raise NotImplementedError
def format_report(m): return str(m)
