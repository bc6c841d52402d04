"""`spoken-digits`: strings of 3-7 digits spoken by the `espeak-ng` synthesiser, as log-mel frames.

A voice is an espeak-ng language (accent) with a voice variant (`en-us+f3`, `en+m2`, ...); each
utterance also draws its speed (120-210 words a minute) and pitch (20-80). The variants are split
three ways, so the validation and test sets are spoken in voices the training set never heard
(VOICE_SPLIT). Utterances are generated with a seed, once, and kept as WAV files with a
transcript in a cache directory (default ~/.cache/rnnkit/spoken-digits, or $RNNKIT_CACHE):
written to a temporary directory and renamed when complete, so a broken run leaves no half set.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from rnnkit.data.audio import wav_features
from rnnkit.errors import DataError

ALPHABET = "0123456789"
ACCENTS = ("en-us", "en", "en-gb-x-rp", "en-gb-scotland", "en-029")
VOICE_SPLIT = {
    "train": ("m1", "m2", "m4", "m5", "m6", "f1", "f2", "f3", "klatt", "klatt2", "croak",
              "Andy", "Denis", "Gene", "Lee"),
    "valid": ("m8", "f5", "klatt4", "Mario"),
    "test": ("m3", "m7", "f4", "klatt3", "Michael", "Annie"),
}
FORMAT = 1  # bump when the generation changes: the cache key includes it


def espeak() -> str:
    """The espeak-ng program's path; one clear error when it is not installed."""
    path = shutil.which("espeak-ng")
    if path is None:
        raise DataError("spoken-digits needs the espeak-ng program, which is not installed: "
                        "`sudo apt-get install espeak-ng` (Debian/Ubuntu; `make setup` does it "
                        "as root), or use --data.name=handwriting")
    return path


def split_voices() -> dict[str, list[str]]:
    """{'train' | 'valid' | 'test': [accent+variant, ...]}, disjoint in their variants."""
    return {part: [f"{a}+{v}" for a in ACCENTS for v in variants]
            for part, variants in VOICE_SPLIT.items()}


def cache_root(cache_dir: str = "") -> Path:
    base = cache_dir or os.environ.get("RNNKIT_CACHE") or Path.home() / ".cache" / "rnnkit"
    return Path(base) / "spoken-digits"


def _plan(n: int, seed: int, voices: list[str]) -> list[dict]:
    rng = np.random.default_rng(seed)
    plan = []
    for _ in range(n):
        digits = "".join(str(d) for d in rng.integers(0, 10, int(rng.integers(3, 8))))
        plan.append({"text": digits, "voice": voices[int(rng.integers(len(voices)))],
                     "speed": int(rng.integers(120, 211)), "pitch": int(rng.integers(20, 81))})
    return plan


def _speak(program: str, item: dict, out: Path) -> None:
    cmd = [program, "-v", item["voice"], "-s", str(item["speed"]), "-p", str(item["pitch"]),
           "-w", str(out), " ".join(item["text"])]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if done.returncode != 0 or not out.is_file():
        raise DataError(f"espeak-ng failed for voice {item['voice']!r}: "
                        f"{(done.stderr or done.stdout).strip()[:200]}")


def generate(n: int, seed: int, voices: list[str], cache_dir: str = "") -> Path:
    """The directory holding n utterances (NNNNN.wav) and transcript.txt ('NNNNN.wav TEXT'),
    generated unless the cache has them."""
    key = hashlib.sha256(repr((FORMAT, n, seed, sorted(voices))).encode()).hexdigest()[:16]
    final = cache_root(cache_dir) / f"{n}-{seed}-{key}"
    if (final / "transcript.txt").is_file():
        return final
    program = espeak()
    final.parent.mkdir(parents=True, exist_ok=True)
    plan = _plan(n, seed, voices)
    with tempfile.TemporaryDirectory(dir=final.parent, prefix=".partial-") as tmp:
        tmp = Path(tmp)
        names = [f"{i:05d}.wav" for i in range(n)]
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            list(pool.map(lambda pair: _speak(program, pair[0], tmp / pair[1]),
                          zip(plan, names, strict=True)))
        lines = [f"{name} {item['text']}\n" for name, item in zip(names, plan, strict=True)]
        (tmp / "transcript.txt").write_text("".join(lines))
        try:
            tmp.rename(final)
        except OSError:  # another process finished the same set first
            if not (final / "transcript.txt").is_file():
                raise
        else:
            tmp.mkdir()  # TemporaryDirectory removes what it made
    return final


def spoken_digit_items(n: int, seed: int, voices: list[str], cache_dir: str = ""):
    """n (log-mel frames (T, 40), digit string) items from the cache (generated if needed)."""
    folder = generate(n, seed, voices, cache_dir)
    items = []
    for line in (folder / "transcript.txt").read_text().splitlines():
        name, text = line.split(" ", 1)
        items.append((wav_features(folder / name), text))
    return items
