"""What people hold, given as it is: clear errors naming what to pass, raw images of any
kind, and a segmentation that silently collapses made loud."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

import mmattr
from mmattr import explain
from mmattr.adapters import AudioAdapter, ImageAdapter
from mmattr.adapters.image import as_pixels
from tests.hf import _models


def _qa_output(x: torch.Tensor):
    from transformers.modeling_outputs import QuestionAnsweringModelOutput

    return QuestionAnsweringModelOutput(start_logits=2 * x, end_logits=3 * x)


def test_an_ambiguous_model_output_names_its_fields_and_output():
    x = torch.ones(1, 4)
    with pytest.raises(TypeError, match=r"fields \['start_logits', 'end_logits'\].*output="):
        explain(_qa_output, {"x": x}, target=0)
    with pytest.raises(TypeError, match=r"fields \['start_logits', 'end_logits'\]"):
        mmattr.Saliency(_qa_output).attribute(x, target=0)
    with pytest.raises(ValueError, match=r"output='logits'.*\['start_logits', 'end_logits'\]"):
        explain(_qa_output, {"x": x}, target=0, output="logits")
    # named, indexed or picked by a callable: the same field, the same numbers
    by_name = explain(_qa_output, {"x": x}, target=1, output="end_logits", method="saliency")
    by_index = explain(_qa_output, {"x": x}, target=1, output=1, method="saliency")
    by_call = explain(
        _qa_output, {"x": x}, target=1, output=lambda o: o.end_logits, method="saliency"
    )
    expected = torch.tensor([[0.0, 3.0, 0.0, 0.0]])
    for result in (by_name, by_index, by_call):
        assert torch.equal(result.attributions["x"], expected)


def test_dicts_and_tuples_give_logits_or_their_only_tensor():
    x = torch.tensor([[1.0, 2.0]])
    as_dict = mmattr.InputXGradient(lambda v: {"logits": v * v, "loss": None})
    assert torch.equal(as_dict.attribute(x, target=1), torch.tensor([[0.0, 8.0]]))
    as_tuple = mmattr.InputXGradient(lambda v: (v * v,))
    assert torch.equal(as_tuple.attribute(x, target=0), torch.tensor([[2.0, 0.0]]))
    with pytest.raises(TypeError, match=r"tuple with fields \[0, 1\]"):
        mmattr.Saliency(lambda v: (v, v)).attribute(x, target=0)


def test_processor_keys_matching_no_modality_are_named():
    from transformers import BatchFeature

    encoded = BatchFeature(
        {"input_ids": torch.ones(1, 3, dtype=torch.long), "labels": torch.ones(1)}
    )
    with pytest.raises(ValueError, match=r"\['labels'\] match no modality.*pixel_values"):
        explain(lambda input_ids, labels: input_ids.float(), encoded)


def test_a_file_path_is_refused_naming_what_to_load():
    with pytest.raises(TypeError, match=r"file path \('cat.jpg'\).*PIL.Image.open"):
        ImageAdapter().prepare("cat.jpg")
    with pytest.raises(TypeError, match=r"inputs\['image'\].*file path.*PIL.Image.open"):
        explain(lambda image: image.sum((1, 2, 3))[:, None], {"image": "cat.jpg"}, target=0)
    from pathlib import Path

    with pytest.raises(TypeError, match=r"file path.*torchaudio.load"):
        AudioAdapter().prepare(Path("clip.wav"))


@pytest.mark.parametrize("mode", ["RGB", "L", "RGBA", "P", "CMYK"])
def test_pil_images_of_any_mode_are_their_rgb_pixels(mode):
    image = Image.fromarray(_models.image()).convert(mode)
    expected = torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1)[None] / 255
    assert torch.equal(as_pixels(image), expected)


def test_datasets_image_dicts_and_grey_arrays_are_read_from_memory():
    image = Image.fromarray(_models.image())
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    feature = {"bytes": buffer.getvalue(), "path": "train/0001.png"}
    assert torch.equal(as_pixels(feature), as_pixels(image))
    with pytest.raises(TypeError, match=r"no 'bytes'"):
        as_pixels({"path": "train/0001.png"})
    grey = _models.image()[..., 0]
    assert torch.equal(as_pixels(grey), as_pixels(np.stack([grey] * 3, axis=-1)))


def test_slic_giving_few_segments_warns_with_the_value_range_and_the_setting():
    noise = torch.rand(3, 48, 48, generator=torch.Generator().manual_seed(0))
    with pytest.warns(UserWarning, match=r"1 segment\(s\) for n_segments=40.*\[.*\].*compactness"):
        x = ImageAdapter(n_segments=40).prepare(noise)
    assert int(x.meta["segments"].max()) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fixed = ImageAdapter(n_segments=40, segmentation_kwargs={"compactness": 100}).prepare(noise)
    assert int(fixed.meta["segments"].max()) + 1 >= 10


def test_a_single_input_model_is_called_positionally_only_when_unambiguous():
    def one(x):
        return x.sum(1, keepdim=True)

    result = explain(one, {"image": torch.ones(1, 3)}, method="saliency")
    assert torch.equal(result.attributions["image"], torch.ones(1, 3))

    def two(x, y):
        return x.sum(1, keepdim=True)

    with pytest.raises(ValueError, match=r"\['image'\].*parameters \['x', 'y'\]"):
        explain(two, {"image": torch.ones(1, 3)})
