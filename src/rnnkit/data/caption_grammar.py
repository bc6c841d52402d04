"""The small grammar of the `shapes` captions: scenes of 1-3 things, each named by size, colour
and shape, chained by spatial relations, and the parser that reads a caption back.

    caption  := thing (relation thing){0,2}
    thing    := "a" SIZE COLOUR SHAPE                 "a small red circle"
    relation := "left of" | "above"

A scene's things are listed in reading order across the picture's 3 x 3 layout: by column, then
by row. So each thing is either in a column left of the next one ("left of") or in the same
column above it ("above"), and every picture has exactly one caption:
"a large blue square left of a small red circle above a small green triangle".

`parse(caption)` gives the Scene back (caption(parse(c)) == c for every caption of the grammar)
and raises DataError on anything else; `parse_lenient` reads the parts of a model's output that
follow the grammar. Attribute precision / recall / F1 count `attribute_facts`: each thing's size,
colour and shape and each relation, by place in reading order; the stricter thing scores count
`thing_facts`: whole things (all three right) and relations between whole things.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from rnnkit.errors import DataError

SIZES = ("small", "large")
COLOURS = ("red", "green", "blue", "yellow", "purple", "white")
SHAPES = ("circle", "square", "triangle")
RELATIONS = ("left of", "above")
WORDS = ("a", *SIZES, *COLOURS, *SHAPES, "left", "of", "above")  # the whole vocabulary

_THING = re.compile(rf"a ({'|'.join(SIZES)}) ({'|'.join(COLOURS)}) ({'|'.join(SHAPES)})")
_SPLIT = re.compile(rf" ({'|'.join(RELATIONS)}) ")


@dataclass(frozen=True)
class Thing:
    size: str
    colour: str
    shape: str

    def words(self) -> str:
        return f"a {self.size} {self.colour} {self.shape}"


@dataclass(frozen=True)
class Scene:
    things: tuple[Thing, ...]
    relations: tuple[str, ...]  # relations[i] holds between things[i] and things[i + 1]

    def __post_init__(self):
        if not self.things or len(self.relations) != len(self.things) - 1:
            raise DataError(f"scene: expected >= 1 thing and one relation between each two, got "
                            f"{len(self.things)} things and {len(self.relations)} relations")


def caption(scene: Scene) -> str:
    parts = [scene.things[0].words()]
    for rel, thing in zip(scene.relations, scene.things[1:], strict=True):
        parts += [rel, thing.words()]
    return " ".join(parts)


def parse(text: str) -> Scene:
    """The Scene of a caption of the grammar; DataError naming the first part that is not."""
    parts = _SPLIT.split(text.strip())
    things = []
    for piece in parts[::2]:
        m = _THING.fullmatch(piece)
        if m is None:
            raise DataError(f"caption {text!r}: {piece!r} is not 'a SIZE COLOUR SHAPE' (sizes "
                            f"{'/'.join(SIZES)}, colours {'/'.join(COLOURS)}, shapes "
                            f"{'/'.join(SHAPES)})")
        things.append(Thing(*m.groups()))
    return Scene(tuple(things), tuple(parts[1::2]))


def _parts(text: str) -> tuple[list[str], list[str]]:
    parts = _SPLIT.split(text.strip())
    return parts[::2], parts[1::2]


def parse_lenient(text: str) -> tuple[list[Thing], list[tuple[Thing, str, Thing]]]:
    """(things, relations) of whatever parts of `text` follow the grammar: a relation counts
    only between two well-formed things."""
    pieces, rels = _parts(text)
    found = [Thing(*m.groups()) if (m := _THING.fullmatch(p)) else None for p in pieces]
    relations = [(a, rel, b) for a, rel, b in zip(found, rels, found[1:], strict=False)
                 if a is not None and b is not None]
    return [t for t in found if t is not None], relations


def thing_facts(text: str) -> Counter:
    """The strict facts of a caption: each well-formed thing whole (size, colour and shape
    together) and each relation with its two whole things."""
    things, relations = parse_lenient(text)
    return Counter([("thing", t) for t in things] + [("relation", *r) for r in relations])


def attribute_facts(text: str) -> Counter:
    """The attributes a caption states, by the thing's place k in reading order (the layout
    fixes that order, so the k-th thing of a caption and of its reference are meant to be the
    same thing): (k, "size", v), (k, "colour", v), (k, "shape", v) for each word of those kinds
    in the k-th part, and (k, "relation", r) between parts k and k + 1."""
    pieces, rels = _parts(text)
    kinds = [("size", SIZES), ("colour", COLOURS), ("shape", SHAPES)]
    out = Counter()
    for k, piece in enumerate(pieces):
        words = piece.split()
        for kind, values in kinds:
            said = next((w for w in words if w in values), None)
            if said is not None:
                out[(k, kind, said)] += 1
    out.update((k, "relation", r) for k, r in enumerate(rels))
    return out


def _micro(hypotheses: list[str], references: list[str], facts) -> dict[str, float]:
    if len(hypotheses) != len(references) or not references:
        raise DataError(f"attribute scores: expected as many captions as references (>= 1), got "
                        f"{len(hypotheses)} and {len(references)}")
    hit = said = true = 0
    for hyp, ref in zip(hypotheses, references, strict=True):
        h, r = facts(hyp), facts(ref)
        hit += sum((h & r).values())
        said += sum(h.values())
        true += sum(r.values())
    p = hit / said if said else 0.0
    r = hit / true if true else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def attribute_scores(hypotheses: list[str], references: list[str]) -> dict[str, float]:
    """Micro precision, recall and F1 of the attributes (`attribute_facts`) over a corpus."""
    return _micro(hypotheses, references, attribute_facts)


def thing_scores(hypotheses: list[str], references: list[str]) -> dict[str, float]:
    """Micro precision, recall and F1 of the whole things and relations (`thing_facts`)."""
    return _micro(hypotheses, references, thing_facts)
