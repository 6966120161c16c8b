"""Explain a BERT question-answering model token by layer: mmattr's one-pass multi-layer
conductance against Captum's per-layer loop (Captum's BERT SQuAD tutorial conventions)."""

from __future__ import annotations

import captum.attr as captum_attr
import pytest
import torch
from transformers import BertConfig, BertForQuestionAnswering

import mmattr

CLS, SEP, PAD = 2, 3, 0


@pytest.fixture(scope="module")
def qa():
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=40,
        hidden_size=32,
        num_hidden_layers=12,
        num_attention_heads=2,
        intermediate_size=48,
        max_position_embeddings=32,
    )
    model = BertForQuestionAnswering(config).eval()
    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(5, 40, (2, 14), generator=generator)
    ids[:, 0], ids[:, 5], ids[:, -1] = CLS, SEP, SEP
    token_types = (torch.arange(14) > 5).long().expand(2, 14)
    mask = torch.ones_like(ids)
    reference = torch.where((ids == CLS) | (ids == SEP), ids, torch.full_like(ids, PAD))
    embed = model.get_input_embeddings()
    with torch.no_grad():
        inputs, baselines = embed(ids), embed(reference)
    return model, ids, reference, token_types, mask, inputs, baselines


def _logits(model, which):
    def forward(embeddings, token_type_ids, attention_mask):
        out = model(
            inputs_embeds=embeddings, token_type_ids=token_type_ids, attention_mask=attention_mask
        )
        return out.start_logits if which == "start" else out.end_logits

    return forward


@pytest.mark.parametrize("which,target", [("start", [7, 9]), ("end", [8, 11])])
def test_all_layers_in_one_pass_match_captum_per_layer_loop(qa, which, target):
    model, _, _, token_types, mask, inputs, baselines = qa
    forward, layers = _logits(model, which), list(model.bert.encoder.layer)
    kwargs = dict(
        baselines=baselines, target=target, n_steps=8, additional_forward_args=(token_types, mask)
    )
    ours = mmattr.LayerConductance(forward, layers).attribute(
        inputs, **kwargs, internal_batch_size=6
    )
    assert len(ours) == 12
    for layer, attribution in zip(layers, ours):
        theirs = captum_attr.LayerConductance(forward, layer).attribute(inputs, **kwargs)
        assert attribution.shape == theirs.shape == inputs.shape
        scale = theirs.detach().abs().max()
        torch.testing.assert_close(attribution, theirs, rtol=1e-4, atol=1e-4 * float(scale))


def test_one_pass_equals_single_layer_calls_and_is_complete(qa):
    model, _, _, token_types, mask, inputs, baselines = qa
    forward, layers = _logits(model, "start"), list(model.bert.encoder.layer)
    kwargs = dict(
        baselines=baselines,
        target=7,
        n_steps=40,
        method="riemann_trapezoid",
        additional_forward_args=(token_types, mask),
        return_convergence_delta=True,
    )
    together, deltas = mmattr.LayerConductance(forward, layers).attribute(inputs, **kwargs)
    with torch.no_grad():
        gap = forward(inputs, token_types, mask)[:, 7] - forward(baselines, token_types, mask)[:, 7]
    for index in (0, 5, 11):
        alone, delta = mmattr.LayerConductance(forward, layers[index]).attribute(inputs, **kwargs)
        torch.testing.assert_close(together[index], alone, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(deltas[index], delta, rtol=1e-4, atol=1e-5)
    for attribution, delta in zip(together, deltas):
        # completeness: Σ conductance = F(x) − F(b) up to the reported delta, which is small
        torch.testing.assert_close(attribution.flatten(1).sum(1) - gap, delta, rtol=0, atol=1e-4)
        assert delta.abs().max() < 0.05 * gap.abs().max()


def test_token_attributions_through_the_embedding_match_captum(qa):
    model, ids, reference, token_types, mask, _, _ = qa

    def forward(input_ids, token_type_ids, attention_mask):
        return model(
            input_ids=input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask
        ).start_logits

    kwargs = dict(
        baselines=reference,
        target=[7, 9],
        n_steps=16,
        additional_forward_args=(token_types, mask),
        return_convergence_delta=True,
    )
    embedding = model.get_input_embeddings()
    ours, our_delta = mmattr.LayerIntegratedGradients(forward, embedding).attribute(ids, **kwargs)
    theirs, their_delta = captum_attr.LayerIntegratedGradients(forward, embedding).attribute(
        ids, **kwargs
    )
    scale = float(theirs.abs().max())
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-4 * scale)
    torch.testing.assert_close(our_delta, their_delta, rtol=1e-3, atol=1e-4 * scale)
    # PAD baseline keeps CLS/SEP: their embeddings are identical, so their attribution is 0
    special = (ids == CLS) | (ids == SEP)
    assert ours.sum(-1)[special].abs().max() == 0
