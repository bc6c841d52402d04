"""The docs are tested like code: every ```python block of README.md and docs/*.md runs (in a
fresh temporary directory, in its own process, under a time limit), every `rnnkit ...` command
line they show names a real subcommand (and, for `train`, a real task) with options that
subcommand has, and every relative link points to a file and heading that exist.

A block may be left out only by a marker on the line just before it that gives the reason:
`<!-- docs-test: skip (trains for 3 minutes) -->`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import rnnkit
from rnnkit.cli import SUBCOMMANDS, build_parser
from rnnkit.training.registry import available_tasks

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
CHECKED = [*PAGES, REPO / "BENCHMARKS.md", REPO / "CHANGELOG.md"]  # commands and links only
BLOCK_SECONDS = 600  # a guard against a hang, not a speed test: a block may build the C++ kernels
SKIP = re.compile(r"<!--\s*docs-test:\s*skip\s*\((?P<reason>[^)]*\S[^)]*)\)\s*-->")
SHELL_LANGS = {"", "sh", "bash", "console", "shell"}


@dataclass
class Block:
    lang: str
    code: str
    line: int  # 1-based line of the opening fence
    skip_reason: str | None


def code_blocks(text: str) -> list[Block]:
    """The fenced blocks of a markdown text, with the skip marker (if any) just before each."""
    blocks, lines, k = [], text.splitlines(), 0
    while k < len(lines):
        fence = re.match(r"^(\s*)(`{3,})\s*([\w+-]*)\s*$", lines[k])
        if not fence:
            k += 1
            continue
        indent, ticks, lang = fence.groups()
        end = k + 1
        while end < len(lines) and not lines[end].strip().startswith(ticks):
            end += 1
        before = next((ln for ln in reversed(lines[:k]) if ln.strip()), "")
        marker = SKIP.search(before)
        body = "\n".join(ln[len(indent):] for ln in lines[k + 1:end])
        blocks.append(Block(lang.lower(), body, k + 1, marker["reason"] if marker else None))
        k = end + 1
    return blocks


def command_lines(text: str) -> list[str]:
    """`rnnkit ...` command lines: from shell blocks (continuation lines joined) and from
    inline code spans in the prose."""
    found = []
    for block in code_blocks(text):
        if block.lang in SHELL_LANGS:
            joined = re.sub(r"\\\n\s*", " ", block.code)
            found += [ln for ln in joined.splitlines() if _rnnkit_words(ln) is not None]
    prose = re.sub(r"(?ms)^\s*`{3,}.*?^\s*`{3,}", "", text)
    indented = re.sub(r"\\\n\s*", " ", "\n".join(ln for ln in prose.splitlines()
                                                  if ln.startswith("    ")))
    found += [ln.strip() for ln in indented.splitlines() if _rnnkit_words(ln) is not None]
    found += [s for s in re.findall(r"`([^`\n]+)`", prose) if s.startswith("rnnkit ")]
    return [" ".join(line.split()) for line in found]


def _rnnkit_words(line: str) -> list[str] | None:
    """The words after the `rnnkit` command on a shell line (None: no rnnkit command there)."""
    words = line.split("#", 1)[0].split()
    for k, word in enumerate(words):
        if word == "rnnkit" and (k == 0 or words[k - 1] in ("-m", "$")) or word.endswith("/rnnkit"):
            return words[k + 1:]
    return None


def command_problem(line: str) -> str | None:
    """Why a documented command line cannot run as shown (None if it can)."""
    words = _rnnkit_words(line)
    if not words or words[0].startswith("-") or words[0] == "...":
        return None
    name = words[0]
    if _placeholder(name):
        return None
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # the one subparsers action
    if name not in commands:
        return f"{name!r} is not an rnnkit command (known: {', '.join(commands)})"
    rest = words[1:]
    if name == "train" and rest and not rest[0].startswith("-") and not _placeholder(rest[0]):
        if rest[0] not in available_tasks():
            return f"{rest[0]!r} is not a task (known: {', '.join(available_tasks())})"
    options = commands[name]._option_string_actions
    for word in rest:
        flag = word.strip("[]").split("=", 1)[0]
        if flag.startswith("--") and "." not in flag and flag not in options:
            return f"rnnkit {name} has no option {flag}"
    return None


def _placeholder(word: str) -> bool:
    return word == "..." or bool(re.fullmatch(r"[A-Z][A-Z_]*", word))


def heading_anchors(text: str) -> set[str]:
    """GitHub's anchors for the headings of a markdown text."""
    anchors = set()
    prose = re.sub(r"(?ms)^\s*`{3,}.*?^\s*`{3,}", "", text)
    for title in re.findall(r"(?m)^#{1,6}\s+(.+?)\s*$", prose):
        slug = re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


def link_problems(page: Path) -> list[str]:
    problems = []
    for target in re.findall(r"\]\(([^)\s]+)\)", page.read_text()):
        if re.match(r"[a-z]+://", target) or target.startswith("mailto:"):
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            problems.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in heading_anchors(dest.read_text()):
            problems.append(f"{target}: no heading with that anchor in {dest.name}")
    return problems


PYTHON_BLOCKS = [(page, block) for page in PAGES for block in code_blocks(page.read_text())
                 if block.lang == "python"]


def block_problem(block: Block, cwd: Path) -> str | None:
    """Why a python block does not run cleanly in `cwd` (None if it does)."""
    env = dict(os.environ, PYTHONPATH=str(Path(rnnkit.__file__).parents[1]),
               OMP_NUM_THREADS="1", MPLBACKEND="Agg", CI="true")
    try:
        done = subprocess.run([sys.executable, "-c", block.code], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=BLOCK_SECONDS)
    except subprocess.TimeoutExpired:
        return f"ran over {BLOCK_SECONDS} s"
    if done.returncode != 0:
        return f"exit status {done.returncode}:\n{done.stderr[-3000:]}"
    return None


@pytest.mark.parametrize("page,block", PYTHON_BLOCKS,
                         ids=[f"{p.relative_to(REPO)}:{b.line}" for p, b in PYTHON_BLOCKS])
def test_python_block_runs(page, block, tmp_path):
    if block.skip_reason is not None:
        pytest.skip(f"marked in the page: {block.skip_reason}")
    problem = block_problem(block, tmp_path)
    assert problem is None, f"{page.name}, the block at line {block.line}: {problem}"


@pytest.mark.parametrize("page", CHECKED, ids=lambda p: str(p.relative_to(REPO)))
def test_command_lines_name_real_commands(page):
    problems = [f"{line!r}: {why}" for line in command_lines(page.read_text())
                if (why := command_problem(line))]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", CHECKED, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_resolve(page):
    assert not link_problems(page), "\n".join(link_problems(page))


def test_readme_lists_every_command():
    readme = (REPO / "README.md").read_text()
    listed = {m for m in re.findall(r"(?m)^\| `rnnkit ([a-z]+)", readme)}
    assert sorted(set(SUBCOMMANDS) - listed) == [], "add a row to README's command table"


# The checks themselves, on made-up pages: each can fail.

def test_a_skip_needs_a_reason_on_the_line_before():
    text = "<!-- docs-test: skip (slow) -->\n```python\nx = 1\n```\n<!-- docs-test: skip () -->\n" \
           "```python\ny = 2\n```\n```python\nz = 3\n```\n"
    assert [b.skip_reason for b in code_blocks(text)] == ["slow", None, None]


def test_a_failing_block_fails(tmp_path):
    text = "```python\nimport rnnkit.nope\n```\n```python\nimport rnnkit\n```\n"
    failing, fine = code_blocks(text)
    assert "ModuleNotFoundError" in block_problem(failing, tmp_path)
    assert block_problem(fine, tmp_path) is None


def test_bad_command_lines_are_caught():
    text = ("```\nrnnkit trian lm\nrnnkit train lmm --steps 3\nrnnkit evaluate RUN --jsn\n"
            "rnnkit train lm \\\n    --steps 3 --data.corpus=x\n```\nSee `rnnkit plot RUN_DIR`.\n\n"
            "    rnnkit experiment adding \\\n        --lenghts 50\n")
    lines = command_lines(text)
    assert lines[-2:] == ["rnnkit experiment adding --lenghts 50", "rnnkit plot RUN_DIR"]
    assert [bool(command_problem(ln)) for ln in lines] == [True, True, True, False, True, False]


def test_a_dead_link_is_caught(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("# Top\n[a](p.md#top) [b](p.md#nowhere) [c](q.md)\n")
    assert link_problems(page) == ["p.md#nowhere: no heading with that anchor in p.md",
                                   "q.md: no such file"]


def test_commands_are_found_after_torchrun_and_a_venv_path():
    assert _rnnkit_words("torchrun --standalone -m rnnkit train toy") == ["train", "toy"]
    assert _rnnkit_words(".venv/bin/rnnkit --help") == ["--help"]
    assert _rnnkit_words("python -c 'import rnnkit'") is None
