"""Issue 6: mmattr's own attributions find the ground truth the zoo's generators plant.

Measures are in ``_ground_truth.py``; every one runs on held-out data no training run saw.
"""

from __future__ import annotations

from mmattr import zoo
from tests.zoo import _ground_truth as truth

N_EXAMPLES = 64


def _held_out(name: str) -> tuple[zoo.ZooModel, dict]:
    bundle = zoo.load(name)
    return bundle, bundle.spec.generate(N_EXAMPLES, seed=truth.HELD_OUT_SEED)


def test_shapes_cnn_top_attribution_lies_on_the_shape() -> None:
    rate = truth.image_hit_rate(*_held_out("shapes-cnn"))
    assert rate >= 0.9, f"top pixel on the shape in {rate:.3f} of images"


def test_keyword_audio_top_frame_lies_in_the_event() -> None:
    rate = truth.audio_hit_rate(*_held_out("keyword-audio"))
    assert rate >= 0.9, f"top frame inside the event in {rate:.3f} of clips"


def test_qa_bert_identifying_token_is_among_the_top_three() -> None:
    rate = truth.qa_top3_rate(*_held_out("qa-bert"))
    assert rate >= 0.9, f"asked noun among the top-3 context tokens in {rate:.3f} of examples"


def test_ba_shapes_gcn_attribution_separates_the_house() -> None:
    bundle = zoo.load("ba-shapes-gcn")
    graph = bundle.make_data(1, seed=truth.HELD_OUT_SEED)[0]
    auroc = truth.graph_auroc(bundle, graph, targets=20)
    assert auroc >= 0.9, f"mean AUROC against house membership {auroc:.3f}"
