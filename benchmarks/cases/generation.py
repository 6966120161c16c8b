"""Issue 16 case: feature ablation of a generated answer on a GPT-2-shaped LM.

Captum runs its default token-by-token scoring (``forward_in_tokens=True``) without the
key/value cache: its cached path raises an index error with transformers 5 on this model.

Every contender's model calls are counted with a forward hook, so the printed evaluation counts
are measured (calls and rows) on the last run, not assumed.
"""

from __future__ import annotations

import captum.attr as captum_attr
import torch

import mmattr
from benchmarks._harness import Setup, case
from tests.helpers.llm import byte_tokenizer

PROMPT_TOKENS, TARGET_TOKENS, N_FEATURES = 64, 8, 20


def gpt2_model(device: str, n_positions: int = 128):
    """GPT-2 shape from its config (6 layers, hidden 256, GPT-2's vocabulary), random weights."""
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    config = GPT2Config(n_layer=6, n_embd=256, n_head=8, n_positions=n_positions, vocab_size=50257)
    return GPT2LMHeadModel(config).to(device).eval()


class Calls:
    """Forward calls of a causal LM, reset per contender run.

    Counted on the LM's transformer body: Captum calls ``model.forward(...)`` directly, which
    runs no hook of the outer module, while every forward, either way, calls the body.
    """

    def __init__(self, model, evaluations: dict[str, str]) -> None:
        self.evaluations, self.calls = evaluations, 0
        model.base_model.register_forward_hook(self._count)

    def _count(self, module, args, kwargs_output) -> None:
        self.calls += 1

    def wrap(self, key: str, fn):
        def run():
            self.calls = 0
            fn()
            self.evaluations[key] = f"{self.calls} forwards"

        return run


def _prompt(tokenizer) -> str:
    words = "the cat sat on the mat and the dog ran to the park".split()
    text, n = "", 0
    while n < PROMPT_TOKENS:
        text += " " + words[n % len(words)]
        n = len(tokenizer.encode(text))
    return tokenizer.decode(tokenizer.encode(text)[:PROMPT_TOKENS])


@case("llm-ablation")
def llm_ablation(device: str) -> Setup:
    tokenizer = byte_tokenizer()
    model = gpt2_model(device)
    text = _prompt(tokenizer)
    target = torch.tensor(tokenizer.encode(" Once upon a time a small fox")[:TARGET_TOKENS])
    mask = (torch.arange(PROMPT_TOKENS) * N_FEATURES // PROMPT_TOKENS)[None].to(device)
    evaluations: dict[str, str] = {}
    calls = Calls(model, evaluations)
    rows = N_FEATURES + 1
    ids = torch.tensor([tokenizer.encode(text) + target.tolist()], device=device)
    assert ids.shape[1] == PROMPT_TOKENS + TARGET_TOKENS

    def floor():
        with torch.inference_mode():
            model(ids.expand(rows, -1), use_cache=False, logits_to_keep=TARGET_TOKENS + 1)

    ours = mmattr.LLMAttribution(mmattr.FeatureAblation(model), tokenizer)
    theirs = captum_attr.LLMAttribution(captum_attr.FeatureAblation(model), tokenizer)
    contenders = {
        "floor": calls.wrap("floor", floor),
        "mmattr": calls.wrap(
            "mmattr",
            lambda: ours.attribute(
                mmattr.TextTokenInput(text, tokenizer), target, feature_mask=mask
            ),
        ),
        "captum": calls.wrap(
            "captum",
            lambda: theirs.attribute(
                captum_attr.TextTokenInput(text, tokenizer),
                target,
                feature_mask=mask,
                use_cached_outputs=False,  # its cached path fails with transformers 5 here
            ),
        ),
    }
    note = (
        f"{PROMPT_TOKENS}-token prompt, {TARGET_TOKENS} target tokens, {N_FEATURES} features; "
        f"floor: {rows} rows of {PROMPT_TOKENS + TARGET_TOKENS} tokens in one forward"
    )
    return Setup(contenders, evaluations, note=note)


SYSTEM_TOKENS = 192


@case("llm-prefix-cache")
def llm_prefix_cache(device: str) -> Setup:
    """A chat-style prompt: a fixed 192-token system text, then 20 one-word features; the same
    model and target as ``llm-ablation``. Floor: the call without ``use_cached_prefix``."""
    tokenizer = byte_tokenizer()
    model = gpt2_model(device, n_positions=256)
    system = tokenizer.decode(tokenizer.encode(" ".join([_prompt(tokenizer)] * 3))[:SYSTEM_TOKENS])
    words = "cat sat on the mat and the dog ran to the park".split()
    values = [words[i % len(words)] for i in range(N_FEATURES)]
    template = system + " " + " ".join(["{}"] * N_FEATURES)
    target = torch.tensor(tokenizer.encode(" Once upon a time a small fox")[:TARGET_TOKENS])
    evaluations: dict[str, str] = {}
    calls = Calls(model, evaluations)
    llm_attr = mmattr.LLMAttribution(mmattr.FeatureAblation(model), tokenizer)

    def run(cached: bool):
        inp = mmattr.TextTemplateInput(template, values)
        return lambda: llm_attr.attribute(inp, target, use_cached_prefix=cached)

    contenders = {
        "floor": calls.wrap("floor", run(False)),
        "use_cached_prefix": calls.wrap("use_cached_prefix", run(True)),
    }
    length = len(tokenizer.encode(template.format(*values)))
    note = (
        f"{length}-token prompt ({SYSTEM_TOKENS}-token fixed prefix, then {N_FEATURES} one-word "
        f"features), {TARGET_TOKENS} target tokens; floor: the same call without the cache"
    )
    return Setup(contenders, evaluations, note=note)
