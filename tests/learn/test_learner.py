"""The learner: teacher targets first, then steps; the student starts as the base network (the
up-norm statistics begin at the first batch's own); its losses fall on its own pictures; the result
has the key the Stylizer computes for the same style, weights, base and teacher."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from conftest import styled_net
from engine.learn.learner import Recipe, StyleLearner
from engine.learn.losses import gram, style_targets
from engine.runtime.stylizer import Stylizer
from engine.tools.synthetic import pattern_image

TINY = Recipe(steps=30, batch=2, crop=32, margin=16, size=64, photos=2, lr=1e-3)


@pytest.fixture(scope="module")
def teacher():
    return Stylizer(device="cpu", model="vgg", style_side=128)


def test_units_progress_and_the_start_equals_the_base_network(teacher):
    base = styled_net()
    style = pattern_image(96, 128, seed=21)
    contents = [pattern_image(96, 128, seed=40 + i) for i in range(2)]
    learner = StyleLearner([style], None, contents, TINY, teacher=teacher, base=(base, "base-id"))
    assert learner.total_units == 32 and learner.progress == 0
    learner.step()
    learner.step()
    assert len(learner.teachers) == 2 and learner.steps_done == 0 and learner.student is None
    # the first training step starts the student from the base weights; before its update the
    # up-norms reproduce the base network (statistics recorded from that batch)
    x, _, _ = learner._window_batch()
    learner._start_student(x)
    base_style = learner.style_params  # noqa: F841 - created
    with torch.no_grad():
        got = learner.student(x, learner.current_style(), 1.0)
        three = learner.current_style()
        from engine.nets.lite import LiteStyle

        want = base(x, LiteStyle(three.means[:3], three.stds[:3], three.film_scale, three.film_shift), 1.0)
    assert (got - want).abs().max() < 0.05
    first = None
    while learner.step():
        first = first if first is not None else learner.last_losses["loss"]
    assert learner.done and learner.progress == 1.0
    assert learner.last_losses["loss"] < first  # it learns
    result = learner.result()
    assert result.net.config.up_norms and len(result.style.means) == 5
    assert result.meta["steps"] == 30 and result.meta["key"] == learner.key


def test_a_grown_copy_starts_as_the_base_network_and_trains_its_new_blocks(teacher):
    """Recipe.half_blocks / extra_up_blocks grow the learned copy by identity blocks: before its first
    update it paints what the base network paints; after training the new blocks are not zero."""
    from dataclasses import replace

    from engine.nets.lite import LiteStyle

    base = styled_net(up_blocks=1)
    contents = [pattern_image(96, 128, seed=40 + i) for i in range(2)]
    recipe = replace(TINY, steps=3, half_blocks=1, extra_up_blocks=1)
    learner = StyleLearner([pattern_image(96, 128, seed=21)], None, contents, recipe, teacher=teacher,
                           base=(base, "base-id"))
    while len(learner.teachers) < 2:
        learner.step()
    x, _, _ = learner._window_batch()
    learner._start_student(x)
    assert (learner.student.config.up_blocks, learner.student.config.half_blocks) == (2, 1)
    with torch.no_grad():
        s = learner.current_style()
        want = base(x, LiteStyle(s.means[:3], s.stds[:3], s.film_scale, s.film_shift), 1.0)
        assert (learner.student(x, s, 1.0) - want).abs().max() < 0.05
    while learner.step():
        pass
    net = learner.result().net
    assert net.half_blocks[1].weight.abs().sum() > 0 and net.up_blocks[3].weight.abs().sum() > 0


def test_key_matches_the_stylizers(teacher):
    from engine.nets.lite_runner import _weights_digest

    base = styled_net()
    styles = [pattern_image(96, 128, seed=21), pattern_image(96, 128, seed=22)]
    learner = StyleLearner(styles, [3, 1], [pattern_image(96, 128, seed=40)], TINY, teacher=teacher,
                           base=(base, _weights_digest(base)))
    st = Stylizer(device="cpu", lite_net=base, style_side=64)
    st.set_styles(styles, [0.75, 0.25])
    assert st.learned_key() == learner.key
    st.set_styles(styles, [0.5, 0.5])
    assert st.learned_key() != learner.key


def test_style_targets_blend_statistics_and_grams():
    a, b = torch.rand(1, 4, 8, 8), torch.rand(1, 4, 6, 6) + 1
    (mean, std, g), = style_targets([[a, b]], torch.tensor([0.25, 0.75]))
    assert torch.allclose(mean, 0.25 * a.mean((2, 3)) + 0.75 * b.mean((2, 3)), atol=1e-6)
    assert torch.allclose(g, 0.25 * gram(a) + 0.75 * gram(b), atol=1e-6)
    assert std.shape == (1, 4) and np.all(std.numpy() > 0)
