"""TextAdapter: real WordPiece tokenizer, tiny random BERT/DistilBERT QA models, Captum parity."""

from __future__ import annotations

import captum.attr
import pytest
import torch
from torch import nn

import mmattr
from mmattr.adapters import ModalityInput, TextAdapter
from mmattr.fusion import explain

VOCAB = (
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "the",
    "ball",
    "box",
    "is",
    "red",
    "blue",
    "what",
    "color",
    "?",
    ".",
    "tea",
    "##pot",
    "note",
    "##book",
)
QUESTION, CONTEXT = "what color is the teapot ?", "the ball is red . the teapot is blue ."


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory):
    from transformers import BertTokenizer

    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    path.write_text("\n".join(VOCAB))
    return BertTokenizer(vocab=str(path))  # transformers 5 ignores vocab_file=


def _config(cls: type, **kwargs) -> object:
    return cls(vocab_size=len(VOCAB), max_position_embeddings=64, **kwargs)


@pytest.fixture(scope="module")
def bert():
    from transformers import BertConfig, BertForQuestionAnswering

    torch.manual_seed(0)
    config = _config(
        BertConfig,
        hidden_size=16,
        num_hidden_layers=3,
        num_attention_heads=2,
        intermediate_size=32,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    return BertForQuestionAnswering(config).double().eval()


def _forward(model: nn.Module, end: bool = False):
    def forward(text, attention_mask, token_type_ids=None):
        kwargs = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
        output = model(input_ids=text, attention_mask=attention_mask, **kwargs)
        return output.end_logits if end else output.start_logits

    return forward


def test_prepare_pair_meta_and_pad_baseline_keeps_special_positions(bert, tokenizer) -> None:
    adapter = TextAdapter.for_model(bert, tokenizer, max_length=24)
    x = adapter.prepare((QUESTION, CONTEXT))
    tokens = x.meta["tokens"]
    assert x.tensor.shape == (1, 24) and x.tensor.dtype == torch.long
    assert tokens[:8] == ["[CLS]", "what", "color", "is", "the", "tea", "##pot", "?"]
    assert set(x.model_kwargs) == {"attention_mask", "token_type_ids"}
    special = [i for i, t in enumerate(tokens) if t in ("[CLS]", "[SEP]", "[PAD]")]
    assert x.meta["special_positions"] == special
    assert x.meta["sequence_ids"][1] == 0 and x.meta["sequence_ids"][9] == 1
    assert x.meta["word_ids"][5] == x.meta["word_ids"][6] == 4  # tea ##pot: one word
    baseline = adapter.baseline(x)
    assert torch.equal(baseline[0, special], x.tensor[0, special])
    others = [i for i in range(24) if i not in special]
    assert (baseline[0, others] == tokenizer.pad_token_id).all()
    assert (x.tensor[0, others] != tokenizer.pad_token_id).all()


def test_unk_mask_and_zero_baselines(bert, tokenizer) -> None:
    x = TextAdapter.for_model(bert, tokenizer).prepare(QUESTION)
    inner = slice(1, -1)
    for kind, token_id in (("unk", 1), ("mask", 4)):
        baseline = TextAdapter.for_model(bert, tokenizer, baseline=kind).baseline(x)
        assert (baseline[0, inner] == token_id).all()
        assert (
            baseline[0, 0] == tokenizer.cls_token_id and baseline[0, -1] == tokenizer.sep_token_id
        )
    zero = TextAdapter.for_model(bert, tokenizer, baseline="zero")
    assert torch.equal(zero.baseline(x), x.tensor)
    embedded = zero.baseline_embedding(x)
    assert embedded.shape == (1, x.tensor.shape[1], 16) and float(embedded.abs().sum()) == 0.0
    pad = TextAdapter.for_model(bert, tokenizer)
    expected = bert.get_input_embeddings()(pad.baseline(x))
    torch.testing.assert_close(pad.baseline_embedding(x), expected, rtol=0, atol=0)


def test_word_mask_groups_word_pieces_and_special_tokens_alone(bert, tokenizer) -> None:
    x = TextAdapter.for_model(bert, tokenizer).prepare((QUESTION, CONTEXT))
    tokens = x.meta["tokens"]
    token_mask = TextAdapter.for_model(bert, tokenizer).feature_mask(x)
    assert torch.equal(token_mask, torch.arange(len(tokens)).unsqueeze(0))
    mask = TextAdapter.for_model(bert, tokenizer, mask_by="word").feature_mask(x)[0].tolist()
    assert mask == sorted(mask) and set(mask) == set(range(max(mask) + 1))  # 0..k-1 in order
    pieces = [i for i, t in enumerate(tokens) if t.startswith("##")]
    assert len(pieces) == 2 and all(mask[i] == mask[i - 1] for i in pieces)
    assert max(mask) + 1 == len(tokens) - len(pieces)
    the = [i for i, t in enumerate(tokens) if t == "the"]
    assert len({mask[i] for i in the}) == len(the)  # "the" in question and context differ


def _captum_lig(model, x, baseline_ids, position, n_steps):
    forward = _forward(model)
    lig = captum.attr.LayerIntegratedGradients(forward, model.get_input_embeddings())
    args = (x.model_kwargs["attention_mask"], x.model_kwargs.get("token_type_ids"))
    return lig.attribute(
        x.tensor,
        baselines=baseline_ids,
        target=position,
        additional_forward_args=args,
        n_steps=n_steps,
    )


def test_integrated_gradients_through_explain_equals_captum_lig(bert, tokenizer) -> None:
    adapter = TextAdapter.for_model(bert, tokenizer, max_length=22)
    x = adapter.prepare((QUESTION, CONTEXT))
    result = explain(
        bert,
        {"text": x},
        adapters={"text": adapter},
        forward=_forward(bert),
        target=9,
        method="integrated_gradients",
        n_steps=24,
        contributions=("attribution_share",),
    )
    expected = _captum_lig(bert, x, adapter.baseline(x), 9, 24)
    assert result.attributions["text"].shape == (1, 22, 16)
    torch.testing.assert_close(result.attributions["text"], expected, rtol=1e-5, atol=1e-10)
    html = adapter.render(result.attributions["text"], x)
    values = [float(v) for v in html.split('data-attr="')[1:] for v in [v.split('"')[0]]]
    torch.testing.assert_close(
        torch.tensor(values, dtype=torch.float64), expected.sum(-1)[0], rtol=1e-5, atol=1e-6
    )


def test_zero_embedding_baseline_equals_captum_ig_from_zero(bert, tokenizer) -> None:
    from mmattr.adapters.text import EmbeddingForward

    adapter = TextAdapter.for_model(bert, tokenizer, baseline="zero")
    x = adapter.prepare(QUESTION)
    forward = EmbeddingForward(bert, adapter.attribution_layer(bert), x, "start")
    inputs = bert.get_input_embeddings()(x.tensor).detach()
    baselines = adapter.baseline_embedding(x)
    ours = mmattr.IntegratedGradients(forward).attribute(
        inputs, baselines=baselines, target=3, n_steps=20
    )

    def by_embeds(embeds):
        return bert(inputs_embeds=embeds, **x.model_kwargs).start_logits

    reference = captum.attr.IntegratedGradients(by_embeds).attribute(
        inputs, baselines=torch.zeros_like(inputs), target=3, n_steps=20
    )
    torch.testing.assert_close(ours, reference, rtol=1e-5, atol=1e-10)


def test_distilbert_via_for_model_matches_captum_lig(tokenizer) -> None:
    from transformers import DistilBertConfig, DistilBertForQuestionAnswering

    from mmattr.adapters.text import encoder_layers

    torch.manual_seed(1)
    config = _config(
        DistilBertConfig,
        dim=16,
        n_layers=2,
        n_heads=2,
        hidden_dim=32,
        dropout=0.0,
        attention_dropout=0.0,
    )
    model = DistilBertForQuestionAnswering(config).double().eval()
    adapter = TextAdapter.for_model(model, tokenizer, mask_by="word")
    x = adapter.prepare((QUESTION, CONTEXT))
    assert encoder_layers(model) == list(model.distilbert.transformer.layer)
    forward = _forward(model)
    del x.model_kwargs["token_type_ids"]  # DistilBERT takes none
    result = explain(
        model,
        {"text": x},
        adapters={"text": adapter},
        forward=forward,
        target=4,
        n_steps=16,
        contributions=("attribution_share",),
    )
    expected = _captum_lig(model, x, adapter.baseline(x), 4, 16)
    torch.testing.assert_close(result.attributions["text"], expected, rtol=1e-5, atol=1e-10)


def test_layer_token_attributions_equal_captum_layer_conductance_per_layer(bert, tokenizer):
    adapter = TextAdapter.for_model(bert, tokenizer)
    matrix = adapter.layer_token_attributions(bert, QUESTION, CONTEXT, target="end", n_steps=10)
    x = adapter.prepare((QUESTION, CONTEXT))
    inputs = bert.get_input_embeddings()(x.tensor).detach()
    baselines = adapter.baseline_embedding(x)

    def by_embeds(embeds):
        rows = embeds.shape[0]
        kwargs = {k: v.expand(rows, -1) for k, v in x.model_kwargs.items()}
        return bert(inputs_embeds=embeds, **kwargs).end_logits

    with torch.no_grad():
        position = int(by_embeds(inputs).argmax())
    rows = []
    for layer in bert.bert.encoder.layer:
        conductance = captum.attr.LayerConductance(by_embeds, layer)
        values = conductance.attribute(inputs, baselines=baselines, target=position, n_steps=10)
        rows.append(values.sum(-1)[0])
    expected = torch.stack(rows)
    assert matrix.shape == (3, x.tensor.shape[1])
    torch.testing.assert_close(matrix, expected, rtol=1e-4, atol=1e-8)


def test_bad_input_errors(bert, tokenizer) -> None:
    small = nn.Embedding(len(VOCAB) - 3, 8)
    with pytest.raises(ValueError, match=r"tokenizer has 19 tokens but embedding has 16 rows"):
        TextAdapter(tokenizer, small)
    adapter = TextAdapter.for_model(bert, tokenizer)
    with pytest.raises(TypeError, match="text is int; expected a str"):
        adapter.prepare(42)
    with pytest.raises(TypeError, match=r"text is tuple of \['str', 'int'\]"):
        adapter.prepare(("what", 3))
    with pytest.raises(ValueError, match=r"x.tensor has ids 2..40; expected ids in 0..18"):
        adapter.baseline(ModalityInput(torch.tensor([[2, 40, 3]])))
    with pytest.raises(TypeError, match="expected token ids"):
        adapter.feature_mask(ModalityInput(torch.zeros(1, 3)))
    with pytest.raises(ValueError, match="baseline is 'eos'"):
        TextAdapter.for_model(bert, tokenizer, baseline="eos")
    with pytest.raises(ValueError, match="not a submodule"):
        TextAdapter(tokenizer, nn.Embedding(30, 16)).attribution_layer(bert)
    with pytest.raises(TypeError, match="inputs\\['text'\\] is a int"):
        explain(bert, {"text": 5}, adapters={"text": adapter}, forward=_forward(bert), target=0)


def test_feature_ablation_by_word_through_explain_equals_captum(bert, tokenizer) -> None:
    adapter = TextAdapter.for_model(bert, tokenizer, mask_by="word")
    x = adapter.prepare((QUESTION, CONTEXT))
    result = explain(
        bert,
        {"text": x},
        adapters={"text": adapter},
        forward=_forward(bert),
        target=10,
        method="feature_ablation",
        contributions=("attribution_share",),
    )
    mask = adapter.feature_mask(x)
    expected = captum.attr.FeatureAblation(_forward(bert)).attribute(
        x.tensor,
        baselines=adapter.baseline(x),
        target=10,
        additional_forward_args=(
            x.model_kwargs["attention_mask"],
            x.model_kwargs["token_type_ids"],
        ),
        feature_mask=mask,
    )
    torch.testing.assert_close(result.attributions["text"], expected, rtol=1e-5, atol=1e-10)
    pieces = [i for i, t in enumerate(x.meta["tokens"]) if t.startswith("##")]
    for piece in pieces:  # one ablation per word: its pieces share the score
        assert result.attributions["text"][0, piece] == result.attributions["text"][0, piece - 1]
    assert float(expected.abs().sum()) > 0
