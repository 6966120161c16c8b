"""TextAdapter: token ids from a transformers tokenizer, attributed through the input embedding.

Gradient methods attribute at the embedding output e = E[ids] (the LayerIntegratedGradients
way) against the baseline embedding e' = E[ids'] (PAD/UNK/MASK ids, CLS/SEP kept) or e' = 0;
perturbation methods replace token ids by the baseline ids.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from mmattr.adapters._towers import module_path, text_embedding
from mmattr.adapters.base import ModalityInput
from mmattr.engine.layer import LayerConductance
from mmattr.engine.toolkit import replace_layer

BASELINES = ("pad", "unk", "mask", "zero")
MASK_BY = ("token", "word")
TARGETS = ("start", "end")
_BASELINE_TOKEN = {"pad": "pad_token_id", "unk": "unk_token_id", "mask": "mask_token_id"}
# where encoder layers live in transformers models (BERT/RoBERTa/ELECTRA, DistilBERT, others)
_ENCODER_PATHS = (
    ("encoder", "layer"),
    ("transformer", "layer"),
    ("encoder", "layers"),
    ("layers",),
)


class TextAdapter:
    """Text (or a question-context pair) -> token ids, baselines, token/word groups and HTML.

    Args:
        tokenizer: a transformers tokenizer (fast tokenizers give word ids for ``mask_by="word"``).
        embedding: the model's input embedding, ``(vocab, D)``; ``len(tokenizer)`` must not exceed
            its ``num_embeddings``.
        baseline: "pad" (default: every token -> PAD, CLS/SEP/PAD positions kept, as in Captum's
            BERT SQuAD tutorial), "unk", "mask", or "zero" (ids unchanged, zero embedding: see
            :meth:`baseline_embedding`).
        mask_by: "token" (default: one group per token) or "word" (word pieces of a word share a
            group); special tokens are always their own group.
        max_length: pad and truncate every input to this many tokens (default None: its length).

    Example:
        >>> import torch
        >>> adapter = TextAdapter.for_model(model, tokenizer)  # doctest: +SKIP
        >>> x = adapter.prepare(("what color is the ball ?", "the ball is red ."))  # doctest: +SKIP
        >>> html = adapter.render(torch.randn(x.tensor.shape), x)  # doctest: +SKIP
    """

    modality: ClassVar[str] = "text"

    def __init__(
        self,
        tokenizer: Any,
        embedding: nn.Embedding,
        baseline: str = "pad",
        mask_by: str = "token",
        max_length: int | None = None,
    ) -> None:
        if not isinstance(embedding, nn.Embedding):
            raise TypeError(
                f"embedding is {type(embedding).__name__}; expected torch.nn.Embedding "
                "(model.get_input_embeddings())"
            )
        if not callable(tokenizer) or not hasattr(tokenizer, "convert_ids_to_tokens"):
            raise TypeError(
                f"tokenizer is {type(tokenizer).__name__}; expected a transformers tokenizer"
            )
        if len(tokenizer) > embedding.num_embeddings:
            raise ValueError(
                f"tokenizer has {len(tokenizer)} tokens but embedding has "
                f"{embedding.num_embeddings} rows; the tokenizer does not match the model"
            )
        if baseline not in BASELINES:
            raise ValueError(f"baseline is {baseline!r}; expected one of {BASELINES}")
        if baseline != "zero" and getattr(tokenizer, _BASELINE_TOKEN[baseline]) is None:
            raise ValueError(
                f"baseline is {baseline!r} but the tokenizer has no {_BASELINE_TOKEN[baseline]}; "
                f"choose another of {BASELINES}"
            )
        if mask_by not in MASK_BY:
            raise ValueError(f"mask_by is {mask_by!r}; expected one of {MASK_BY}")
        if max_length is not None and (not isinstance(max_length, int) or max_length < 2):
            raise ValueError(f"max_length is {max_length!r}; expected None or an int >= 2")
        self.tokenizer, self.embedding = tokenizer, embedding
        self.embedding_path = ""  # set by for_model: where in the model the embedding is
        self.baseline_kind, self.mask_by, self.max_length = baseline, mask_by, max_length

    @classmethod
    def for_model(cls, model: nn.Module, tokenizer: Any, **kwargs: Any) -> TextAdapter:
        """The adapter of a transformers model: its token embedding and ``tokenizer``.

        The embedding is ``get_input_embeddings()``, or the text tower's (``text_model``,
        ``text_encoder``...: CLIP, SigLIP, BLIP) when the model has none; the chosen module's
        path is ``adapter.embedding_path``. ``kwargs`` go to :class:`TextAdapter`.
        """
        embedding = text_embedding(model)
        adapter = cls(tokenizer, embedding, **kwargs)
        adapter.embedding_path = module_path(model, embedding)
        return adapter

    @classmethod
    def from_processor(cls, processor: Any, model: nn.Module, **kwargs: Any) -> TextAdapter:
        """:meth:`for_model` with the tokenizer of ``processor`` (a processor holding
        ``.tokenizer``, or the tokenizer itself)."""
        return cls.for_model(model, getattr(processor, "tokenizer", processor), **kwargs)

    def annotate(self, x: ModalityInput) -> ModalityInput:
        """``x`` (token ids from a tokenizer or processor) with the meta :meth:`prepare` gives:
        tokens, special positions, word and sequence ids (from a fast tokenizer's encoding in
        ``x.raw``, the processor's output, else from word pieces)."""
        ids = self._ids(x)
        if ids.shape[0] != 1:
            raise ValueError(f"input_ids has shape {tuple(ids.shape)}; expected one text (1, L)")
        special = self._special(ModalityInput(ids), ids)
        if self.tokenizer.pad_token_id is not None:
            special |= ids[0] == self.tokenizer.pad_token_id
        tokens = self.tokenizer.convert_ids_to_tokens(ids[0].tolist())
        encoded = x.raw if isinstance(x.raw, Mapping) else x.model_kwargs
        word_ids, sequence_ids = _word_and_sequence_ids(encoded, tokens, special)
        meta = {
            **x.meta,
            "tokens": tokens,
            "word_ids": word_ids,
            "special_positions": special.nonzero().flatten().tolist(),
            "sequence_ids": sequence_ids,
        }
        return ModalityInput(ids, dict(x.model_kwargs), meta, x.raw)

    def prepare(self, raw: str | Sequence[str]) -> ModalityInput:
        """Tokenise ``text`` or ``(question, context)``: ids (1, L), model_kwargs and token meta.

        meta: ``tokens``, ``word_ids`` (None for special tokens), ``special_positions``
        (CLS/SEP/PAD indices), ``sequence_ids`` (0 question, 1 context, None special).
        """
        texts = _texts(raw)
        padding = "max_length" if self.max_length is not None else False
        encoded = self.tokenizer(
            *texts,
            return_tensors="pt",
            padding=padding,
            truncation=self.max_length is not None,
            max_length=self.max_length,
            return_special_tokens_mask=True,
        )
        ids = encoded["input_ids"]  # (1, tokens)
        self._check_ids(ids, "the tokenizer's input_ids")
        special = encoded["special_tokens_mask"][0].bool()
        if self.tokenizer.pad_token_id is not None:
            special |= ids[0] == self.tokenizer.pad_token_id
        tokens = self.tokenizer.convert_ids_to_tokens(ids[0].tolist())
        word_ids, sequence_ids = _word_and_sequence_ids(encoded, tokens, special)
        kwargs = {k: encoded[k] for k in ("attention_mask", "token_type_ids") if k in encoded}
        meta = {
            "tokens": tokens,
            "word_ids": word_ids,
            "special_positions": special.nonzero().flatten().tolist(),
            "sequence_ids": sequence_ids,
        }
        return ModalityInput(ids, kwargs, meta, raw)

    def baseline(self, x: ModalityInput) -> Tensor:
        """Baseline ids, ``x.tensor``'s shape: PAD/UNK/MASK except at special positions.

        For "zero" the ids are unchanged (perturbation then changes nothing); gradient methods
        take the zero embedding from :meth:`baseline_embedding`.
        """
        ids = self._ids(x)
        if self.baseline_kind == "zero":
            return ids.clone()
        replacement = getattr(self.tokenizer, _BASELINE_TOKEN[self.baseline_kind])
        return torch.where(self._special(x, ids), ids, torch.full_like(ids, replacement))

    def baseline_embedding(self, x: ModalityInput) -> Tensor:
        """The baseline at the attribution layer's output, (B, L, D): E[baseline(x)], or zeros.

        Fusion and :meth:`layer_token_attributions` use it as the baseline of gradient methods
        that attribute at :meth:`attribution_layer` (the embedding output).
        """
        with torch.no_grad():
            embedded = self.embedding(self.baseline(x))
        return torch.zeros_like(embedded) if self.baseline_kind == "zero" else embedded

    def attribution_layer(self, model: nn.Module) -> nn.Module:
        """The input embedding: gradient methods attribute to its output."""
        if isinstance(model, nn.Module) and not any(m is self.embedding for m in model.modules()):
            raise ValueError(
                f"the adapter's embedding is not a submodule of model {type(model).__name__}; "
                "build the adapter with TextAdapter.for_model(model, tokenizer)"
            )
        return self.embedding

    def feature_mask(self, x: ModalityInput) -> Tensor:
        """(1, L) group ids 0..k-1 in order: one per token, or one per word (pieces together);
        each special token is its own group."""
        special = self._special(x, self._ids(x)).tolist()
        word_ids = x.meta.get("word_ids")
        sequence_ids = x.meta.get("sequence_ids") or [None] * len(special)
        if self.mask_by == "token" or word_ids is None:
            return torch.arange(len(special)).unsqueeze(0)
        groups: dict[Any, int] = {}
        mask = []
        for position, (word, sequence) in enumerate(zip(word_ids, sequence_ids)):
            key = ("special", position) if special[position] or word is None else (sequence, word)
            mask.append(groups.setdefault(key, len(groups)))
        return torch.tensor(mask).unsqueeze(0)

    def render(self, attribution: Tensor, x: ModalityInput, **kwargs: Any) -> str:
        """HTML of the tokens highlighted by their attribution (summed over the embedding dim
        when given (1, L, D)); ``kwargs`` go to :func:`mmattr.visualizers.text_html`."""
        from mmattr.visualizers.text import text_html

        values = torch.as_tensor(attribution).detach()
        if values.dim() == 3:
            values = values.sum(-1)
        if values.dim() == 2:
            if values.shape[0] != 1:
                raise ValueError(
                    f"attribution has shape {tuple(attribution.shape)}; expected one example: "
                    "(1, L), (L,) or (1, L, D)"
                )
            values = values[0]
        tokens = x.meta.get("tokens") or self.tokenizer.convert_ids_to_tokens(
            self._ids(x)[0].tolist()
        )
        return text_html(tokens, values.double().cpu().numpy(), **kwargs)

    def layer_token_attributions(
        self,
        model: nn.Module,
        question: str,
        context: str,
        target: str = "start",
        n_steps: int = 50,
        layers: Sequence[nn.Module] | None = None,
        internal_batch_size: int | None = None,
    ) -> Tensor:
        """(layers, tokens) conductance of each encoder layer for each token, summed over hidden
        units: the "which layer looked at which token" matrix of a QA model.

        Conductance flows from the embedding output (this adapter's baseline embedding to the
        input's) through each of ``layers`` (default the encoder layers) to the ``target``
        ("start" or "end") logit at the predicted answer position, all layers in one pass.
        """
        if target not in TARGETS:
            raise ValueError(f"target is {target!r}; expected one of {TARGETS}")
        x = self.prepare((question, context))
        layers = list(layers) if layers is not None else encoder_layers(model)
        forward = EmbeddingForward(model, self.attribution_layer(model), x, target)
        with torch.no_grad():
            inputs = self.embedding(x.tensor)  # (1, tokens, hidden)
            position = int(forward(inputs).argmax(-1)[0])
        baselines = self.baseline_embedding(x)
        conductance = LayerConductance(forward, layers)
        per_layer = conductance.attribute(
            inputs,
            baselines=baselines,
            target=position,
            n_steps=n_steps,
            internal_batch_size=internal_batch_size,
        )
        return torch.stack([_per_token(a) for a in per_layer])

    def _ids(self, x: ModalityInput) -> Tensor:
        ids = x.tensor
        if not isinstance(ids, Tensor) or ids.dtype != torch.long or ids.dim() != 2:
            raise TypeError(
                f"x.tensor is {getattr(ids, 'dtype', type(ids).__name__)} with shape "
                f"{tuple(getattr(ids, 'shape', ()))}; expected token ids (batch, tokens) long"
            )
        self._check_ids(ids, "x.tensor")
        return ids

    def _check_ids(self, ids: Tensor, name: str) -> None:
        rows = self.embedding.num_embeddings
        if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= rows):
            raise ValueError(
                f"{name} has ids {int(ids.min())}..{int(ids.max())}; expected ids in "
                f"0..{rows - 1} (the embedding's rows)"
            )

    def _special(self, x: ModalityInput, ids: Tensor) -> Tensor:
        """(L,) bool: CLS/SEP/PAD positions of ``ids`` (checked by :meth:`_ids`), from meta or
        from the tokenizer's special ids."""
        positions = x.meta.get("special_positions")
        if positions is not None:
            special = torch.zeros(ids.shape[1], dtype=torch.bool)
            special[list(positions)] = True
            return special
        # Without meta: added special tokens are the tokenizer's special ids, except UNK/MASK
        # that stand for text.
        text_ids = {self.tokenizer.unk_token_id, self.tokenizer.mask_token_id}
        kept = [i for i in self.tokenizer.all_special_ids if i not in text_ids]
        return torch.isin(ids[0], torch.tensor(kept, dtype=torch.long))


class EmbeddingForward(nn.Module):
    """forward(embeddings) -> the ``target`` logits of ``model`` on ``x`` with the embedding
    layer's output replaced by ``embeddings`` (rows repeat ``x``'s ids and model_kwargs)."""

    def __init__(self, model: nn.Module, embedding: nn.Module, x: ModalityInput, target: str):
        super().__init__()
        self.model, self.embedding, self.x, self.target = model, embedding, x, target

    def forward(self, embeddings: Tensor) -> Tensor:
        rows = embeddings.shape[0]
        kwargs = {k: v.expand(rows, *v.shape[1:]) for k, v in self.x.model_kwargs.items()}
        ids = self.x.tensor.expand(rows, -1)
        with replace_layer(self.embedding, lambda _: embeddings):
            output = self.model(input_ids=ids, **kwargs)
        name = f"{self.target}_logits"
        if hasattr(output, name):
            return getattr(output, name)
        return output[TARGETS.index(self.target)]


def encoder_layers(model: nn.Module) -> list[nn.Module]:
    """The encoder's layers of a transformers model (``base_model.encoder.layer`` and kin)."""
    base = getattr(model, "base_model", model)
    for path in _ENCODER_PATHS:
        found: Any = base
        for name in path:
            found = getattr(found, name, None)
        if isinstance(found, nn.ModuleList) and len(found) > 0:
            return list(found)
    raise ValueError(
        f"model {type(model).__name__} has none of the encoder layer lists "
        f"{['.'.join(p) for p in _ENCODER_PATHS]} under base_model; pass layers=[...]"
    )


def _per_token(attribution: Any) -> Tensor:
    """One layer's (1, tokens, hidden) attribution summed over hidden units: (tokens,)."""
    if isinstance(attribution, tuple):
        attribution = attribution[0]
    return attribution.detach().reshape(attribution.shape[0], attribution.shape[1], -1).sum(-1)[0]


def _texts(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, str):
        return (raw,)
    if isinstance(raw, (tuple, list)) and len(raw) == 2 and all(isinstance(t, str) for t in raw):
        return tuple(raw)
    shown = type(raw).__name__
    if isinstance(raw, (tuple, list)):
        shown += f" of {[type(t).__name__ for t in raw]}"
    raise TypeError(f"text is {shown}; expected a str or a (question, context) pair of str")


def _word_and_sequence_ids(
    encoded: Any, tokens: list[str], special: Tensor
) -> tuple[list[int | None], list[int | None]]:
    """Word and sequence ids from a fast tokenizer; otherwise words from "##" word pieces and
    sequences from token_type_ids (0 where the tokenizer gives none)."""
    if getattr(encoded, "encodings", None):
        return encoded.word_ids(0), encoded.sequence_ids(0)
    types = encoded.get("token_type_ids")
    types = types[0].tolist() if types is not None else [0] * len(tokens)
    word_ids: list[int | None] = []
    sequence_ids: list[int | None] = []
    word = -1
    for token, is_special, sequence in zip(tokens, special.tolist(), types):
        if not is_special:
            word += 0 if token.startswith("##") and word_ids and word_ids[-1] is not None else 1
        word_ids.append(None if is_special else word)
        sequence_ids.append(None if is_special else sequence)
    return word_ids, sequence_ids
