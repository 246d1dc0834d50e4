"""The edit pipeline: removals chain, "before" is always the original, undo and redo move through the stack."""

import numpy as np
import pytest

from ic.errors import ICError, NothingToRemove
from ic.experiment import EditSession
from ic.inpaint import get_inpainter

from conftest import sample


def test_removing_the_tripod_changes_the_answer(camera, tripod_mask, lite0):
    session = EditSession(camera, "camera.png")
    record = session.apply(tripod_mask, get_inpainter("patchmatch"), lite0)
    assert record.before[0]["label"] == "tripod" and record.before[0]["prob"] > 0.9
    tripod = next(change for change in record.changes if change["index"] == 872)
    assert tripod["after"] < 0.2 and tripod["delta"] == pytest.approx(tripod["after"] - tripod["before"])
    assert record.top1_changed and record.after[0]["index"] != 872
    assert {c["index"] for c in record.changes} == {r["index"] for r in record.before + record.after}
    assert record.timings_ms["inpaint"] > 0 and record.timings_ms["classify"] > 0
    assert record.model == "tf_efficientnet_lite0" and record.inpainter == "patchmatch"
    assert record.weights_hash == lite0.weights_hash and record.preprocess == "squash" and record.seed == 0
    assert record.summary()["removed_fraction"] == pytest.approx(tripod_mask.mean(), abs=1e-4)


def test_removals_accumulate_and_before_stays_the_original(camera, lite0):
    session = EditSession(camera)
    telea = get_inpainter("telea")
    first, second = np.zeros((512, 512), bool), np.zeros((512, 512), bool)
    first[300:360, 250:330] = True
    second[100:140, 380:460] = True
    one = session.apply(first, telea, lite0)
    two = session.apply(second, telea, lite0)
    assert np.array_equal(two.mask, first | second)
    assert np.array_equal(two.step_mask, second)
    assert two.before == one.before  # both against the original photo
    assert np.array_equal(two.edited[first], one.edited[first])  # the first removal is kept
    assert np.array_equal(two.original, camera)


def test_undo_redo_and_reset_move_through_the_stack(camera, tripod_mask, lite0):
    session = EditSession(camera)
    record = session.apply(tripod_mask, get_inpainter("telea"), lite0)
    assert session.can_undo and not session.can_redo
    session.undo()
    assert np.array_equal(session.edited, camera) and not session.mask.any()
    assert np.allclose(session.current_probs(lite0), session.original_probs(lite0))
    session.redo()
    assert np.array_equal(session.edited, record.edited)
    session.reset()
    assert session.removals == 0 and session.can_redo
    other = np.zeros((512, 512), bool)
    other[10:40, 10:40] = True
    session.apply(other, get_inpainter("telea"), lite0)  # a new removal drops the redo branch
    assert not session.can_redo and session.removals == 1


def test_empty_and_near_total_masks_leave_the_session_unchanged(camera, lite0):
    session = EditSession(camera)
    with pytest.raises(NothingToRemove):
        session.apply(np.zeros((512, 512), bool), get_inpainter("telea"), lite0)
    almost = np.ones((512, 512), bool)
    almost[:20] = False
    with pytest.raises(ICError, match="context"):
        session.apply(almost, get_inpainter("telea"), lite0)
    assert session.removals == 0


def test_large_photo_is_edited_small_and_exported_at_full_size(lite0):
    photo = np.repeat(np.repeat(sample("astronaut.png"), 4, axis=0), 4, axis=1)  # 2048 x 2048
    session = EditSession(photo)
    assert session.shape == (1024, 1024)
    mask = np.zeros(session.shape, bool)
    mask[400:600, 400:600] = True
    session.apply(mask, get_inpainter("blur"), lite0)
    exported = session.export()
    assert exported.shape == photo.shape
    outside = ~session.export_mask()
    assert np.array_equal(exported[outside], photo[outside])
    assert not np.array_equal(exported[800:1200, 800:1200], photo[800:1200, 800:1200])


def test_the_undo_stack_is_bounded_and_counts_every_removal(camera, lite0, monkeypatch):
    from ic import experiment

    monkeypatch.setattr(experiment, "MAX_UNDO", 3)
    session = EditSession(camera)
    for i in range(5):
        mask = np.zeros((512, 512), bool)
        mask[10 + 40 * i:40 + 40 * i, 10:40] = True
        session.apply(mask, get_inpainter("blur"), lite0)
    assert session.removals == 5 and len(session._states) == 4
    assert session.mask.sum() == 5 * 30 * 30  # the union keeps the forgotten steps
    for _ in range(3):
        session.undo()
    assert session.removals == 0 and np.array_equal(session.edited, camera)
