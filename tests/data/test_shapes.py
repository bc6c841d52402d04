"""The shapes pictures and their grammar: round trips, the compositional split, determinism,
and pictures a user gives (other sizes, grey, transparent, unreadable)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from PIL import Image

from rnnkit.data import caption_grammar as G
from rnnkit.data import shapes
from rnnkit.errors import ConfigError, DataError


def test_every_caption_round_trips_through_its_attributes():
    for split, i in itertools.product(("train", "valid-comp"), range(300)):
        scene = shapes.scene_of(shapes.make_scene(split, i))
        text = G.caption(scene)
        assert G.parse(text) == scene
        assert G.caption(G.parse(text)) == text


def test_the_grammar_names_size_colour_shape_and_relations():
    scene = G.parse("a small red circle left of a large blue square above a small green triangle")
    assert scene.things == (G.Thing("small", "red", "circle"), G.Thing("large", "blue", "square"),
                            G.Thing("small", "green", "triangle"))
    assert scene.relations == ("left of", "above")


@pytest.mark.parametrize("text", ["a red circle", "a small red circle beside a large blue square",
                                  "a small pink circle", "", "a small red circle left of"])
def test_text_outside_the_grammar_is_refused(text):
    with pytest.raises(DataError, match="caption"):
        G.parse(text)


def test_relations_match_the_layout():
    for i in range(300):
        placed = shapes.make_scene("train", i)
        for a, b, rel in zip(placed, placed[1:], shapes.scene_of(placed).relations, strict=False):
            assert (a.col, a.row) < (b.col, b.row)  # reading order
            assert rel == ("left of" if a.col < b.col else "above")
            if rel == "above":
                assert a.col == b.col and a.row < b.row


def test_no_held_out_pair_is_drawn_outside_test_comp():
    held = shapes.held_out_pairs(shapes.HELD_OUT)
    seen = set()
    for split in ("train", "valid", "test"):
        for i in range(1500):
            for p in shapes.make_scene(split, i):
                seen.add((p.thing.colour, p.thing.shape))
    assert not seen & held
    assert len(seen) == len(G.COLOURS) * len(G.SHAPES) - len(held)  # every other pair occurs
    for split, i in itertools.product(shapes.COMPOSITIONAL, range(300)):
        pairs = {(p.thing.colour, p.thing.shape) for p in shapes.make_scene(split, i)}
        assert pairs & held
    valid, _ = shapes.scenes("valid-comp", range(5))
    test, _ = shapes.scenes("test-comp", range(5))
    assert not np.array_equal(valid, test)


def test_test_comp_needs_held_out_pairs_and_they_must_be_real():
    for split in shapes.COMPOSITIONAL:
        with pytest.raises(ConfigError, match=split):
            shapes.make_scene(split, 0, held_out=[])
    with pytest.raises(ConfigError, match="data.held_out"):
        shapes.held_out_pairs(["pink circle"])


def test_scenes_are_the_same_from_their_seed_and_differ_between_seeds_and_splits():
    a, ca = shapes.scenes("train", [3, 7], seed=0)
    b, cb = shapes.scenes("train", [3, 7], seed=0)
    assert np.array_equal(a, b) and ca == cb
    assert a.shape == (2, 48, 48, 3) and a.dtype == np.uint8
    c, _ = shapes.scenes("train", [3, 7], seed=1)
    d, _ = shapes.scenes("valid", [3, 7], seed=0)
    assert not np.array_equal(a, c) and not np.array_equal(a, d)


def test_the_drawn_colour_is_where_the_layout_says():
    placed = [shapes.Placed(G.Thing("large", "red", "square"), 2, 0, 0.0, 0.0)]
    picture = np.asarray(shapes.render(placed, 48)).astype(int)
    assert np.abs(picture[8, 40] - shapes.RGB["red"]).max() < 10  # cell (col 2, row 0)
    assert picture[40, 8].max() == 0  # an empty cell stays black


def _save(tmp_path, image, name="p.png"):
    path = tmp_path / name
    image.save(path)
    return path


def test_a_picture_of_the_run_size_loads_unchanged(tmp_path):
    pictures, _ = shapes.scenes("test", [0])
    array, notes = shapes.load_picture(_save(tmp_path, Image.fromarray(pictures[0])), 48)
    assert notes == [] and np.array_equal(array, pictures[0])


def test_other_size_grey_and_transparent_pictures_are_converted(tmp_path):
    array, notes = shapes.load_picture(_save(tmp_path, Image.new("RGB", (100, 60), "red")), 48)
    assert array.shape == (48, 48, 3) and "resized from 100 x 60 to 48 x 48" in notes[0]
    grey, notes = shapes.load_picture(_save(tmp_path, Image.new("L", (48, 48), 128)), 48)
    assert grey.shape == (48, 48, 3) and (grey == 128).all() and "L converted to RGB" in notes
    rgba = Image.new("RGBA", (48, 48), (255, 0, 0, 0))
    rgba.putpixel((5, 5), (0, 255, 0, 255))
    array, notes = shapes.load_picture(_save(tmp_path, rgba), 48)
    assert array[0, 0].tolist() == [0, 0, 0]  # transparent: the black background
    assert array[5, 5].tolist() == [0, 255, 0]
    assert any("transparency" in n for n in notes)


def test_unreadable_and_missing_pictures_are_one_data_error(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a picture at all")
    with pytest.raises(DataError, match="bad.png: cannot read it as a picture"):
        shapes.load_picture(bad, 48)
    with pytest.raises(DataError, match="no such picture file"):
        shapes.load_picture(tmp_path / "missing.png", 48)


def test_attribute_scores_count_each_attribute_by_place():
    ref = "a small red circle left of a large blue square"
    assert G.attribute_scores([ref], [ref]) == {"precision": 1.0, "recall": 1.0, "f1": 1.0}
    # one colour wrong: 6 of 7 attributes (3 per thing and the relation)
    s = G.attribute_scores(["a small red circle left of a large green square"], [ref])
    assert s["precision"] == pytest.approx(6 / 7) and s["recall"] == pytest.approx(6 / 7)
    # only the first thing said: precision 1, recall 3/7
    s = G.attribute_scores(["a small red circle"], [ref])
    assert (s["precision"], s["recall"]) == (1.0, pytest.approx(3 / 7))
    # the same things in the other order are in the wrong places
    s = G.attribute_scores(["a large blue square left of a small red circle"], [ref])
    assert s["recall"] == pytest.approx(1 / 7)  # only the relation
    # a part off the grammar still states the attribute words it has
    s = G.attribute_scores(["a small red left of a large blue square"], [ref])
    assert s["precision"] == 1.0 and s["recall"] == pytest.approx(6 / 7)
    assert G.attribute_scores(["of of"], [ref])["f1"] == 0.0


def test_thing_scores_need_the_whole_thing():
    ref = "a small red circle left of a large blue square"
    assert G.thing_scores([ref], [ref])["f1"] == 1.0
    # one colour wrong: that thing and the relation lost, 1 of 3 facts left
    s = G.thing_scores(["a small red circle left of a large green square"], [ref])
    assert s["precision"] == pytest.approx(1 / 3) and s["recall"] == pytest.approx(1 / 3)
    s = G.thing_scores(["a small red circle"], [ref])
    assert (s["precision"], s["recall"]) == (1.0, pytest.approx(1 / 3))
    assert G.thing_scores(["a small red left of a large blue square"], [ref])["recall"] == (
        pytest.approx(1 / 3))
