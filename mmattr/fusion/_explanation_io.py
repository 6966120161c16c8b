"""Saving and loading an :class:`~mmattr.fusion.explanation.Explanation`: a JSON document and
a safetensors file beside it; never pickle.

Names never become parts of keys: tensors are stored under positional keys
(``attributions/0``, ``meta/1``) that the JSON maps back to modality names, and pairs of
modalities are stored as lists, so any string survives (``"a/b"``, ``"x|y"``, ``".."``).
The drawing metadata is ``"meta"``: modality -> its JSON values; its tensors are listed in
``"meta_tensors"`` as ``[modality, key, position]`` (``"inputs"`` is read as ``"meta"``).
Targets keep their form (int, tuple, list of ints or tuples, tensor) as tagged values.
Loading checks the document's structure and reads only the two regular files, no symlink.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from torch import Tensor

FORMAT = "mmattr.Explanation/2"
TARGET_KEY = "target"
CONTRIBUTION_FIELDS = ("values", "estimator", "evaluations", "interactions", "extra")


def tensor_file(path: Path) -> Path:
    """The safetensors file beside the JSON document ``path``."""
    return path.with_name(path.name + ".safetensors")


def write(explanation: Any, path: str | Path) -> None:
    """Write ``path`` (JSON) and ``path.safetensors``; nothing is written if a value fails."""
    from safetensors.torch import save_file

    path = _check_save_path(path)
    tensors: dict[str, Tensor] = {}
    for index, tensor in enumerate(explanation.attributions.values()):
        tensors[f"attributions/{index}"] = tensor.detach().clone().contiguous()
    meta, meta_tensors = _encode_meta(explanation.inputs, tensors)
    document = {
        "format": FORMAT,
        "method": explanation.method,
        "target": encode_target(explanation.target, tensors),
        "attributions": list(explanation.attributions),
        "contributions": {k: c.to_dict() for k, c in explanation.contributions.items()},
        "meta": meta,
        "meta_tensors": meta_tensors,
    }
    text = json.dumps(document, indent=1)
    save_file(tensors, str(tensor_file(path)))
    path.write_text(text, encoding="utf-8")


def _check_save_path(path: str | Path) -> Path:
    """A file name in an existing folder, where neither file is a symlink."""
    if str(path).strip() in ("", "."):
        raise ValueError(f"path is {str(path)!r}; expected a file name, e.g. 'explanation.json'")
    path = Path(path)
    if not path.parent.is_dir():
        raise ValueError(f"path={str(path)!r}: the folder {str(path.parent)!r} does not exist")
    for file in (path, tensor_file(path)):
        if file.is_symlink():
            raise ValueError(f"path: {file} is a symbolic link; expected a regular file or none")
    return path


def _encode_meta(meta: dict, tensors: dict[str, Tensor]) -> tuple[dict, list]:
    """``meta`` without its tensors (JSON values only), and ``[modality, key, position]``
    of each tensor, stored as ``tensors["meta/<i>"]`` for the i-th."""
    values: dict[str, dict[str, Any]] = {}
    listed: list[list] = []
    for modality, info in meta.items():
        values[modality] = {}
        for position, (key, value) in enumerate(info.items()):
            if isinstance(value, Tensor):
                tensors[f"meta/{len(listed)}"] = value.detach().clone().contiguous()
                listed.append([modality, key, position])
                continue
            try:
                json.dumps(value)
            except (TypeError, ValueError):
                raise TypeError(
                    f"meta[{modality!r}][{key!r}] is {type(value).__name__}; expected a tensor "
                    "or a JSON value (str, number, bool, None, list, dict)"
                ) from None
            values[modality][key] = value
    return values, listed


def read(path: str | Path) -> dict[str, Any]:
    """The fields of the Explanation saved at ``path``, checked: ``attributions``,
    ``contributions`` (as checked dicts), ``target``, ``method``, ``meta``."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    path = Path(path)
    raw = read_regular_file(path)
    try:
        tensors = load(read_regular_file(tensor_file(path)))
    except SafetensorError as error:
        raise ValueError(f"{tensor_file(path)} is not a safetensors file: {error}") from None
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else error
        raise ValueError(f"{path} is not JSON written by Explanation.save: {reason}") from None
    return _check_document(document, tensors, str(path))


def read_regular_file(path: Path) -> bytes:
    """The bytes of ``path``, a regular file; a symlink, folder or device is refused."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} does not exist; expected a file of Explanation.save")
    if stat.S_ISLNK(mode) or not stat.S_ISREG(mode):
        what = "a symbolic link" if stat.S_ISLNK(mode) else "not a regular file"
        raise ValueError(f"{path} is {what}; Explanation.load reads only regular files")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
            raise ValueError(f"{path} is not a regular file; Explanation.load reads only those")
        return file.read()


def _check_document(document: Any, tensors: dict[str, Tensor], where: str) -> dict[str, Any]:
    _expect(document, dict, where, "an object")
    if document.get("format") != FORMAT:
        raise ValueError(
            f"{where}: format is {document.get('format')!r}; expected {FORMAT!r} "
            "(a file written by Explanation.save)"
        )
    names = _field(document, "attributions", list, where, "a list of modality names")
    _check_strings(names, f"{where}: attributions")
    attributions = {
        name: _tensor(tensors, f"attributions/{i}", where) for i, name in enumerate(names)
    }
    contributions = _field(document, "contributions", dict, where, "an object")
    if "meta" not in document and "inputs" in document:  # the name before the rename
        document["meta"] = document.pop("inputs")
    meta = _field(document, "meta", dict, where, "an object of modality -> metadata")
    listed = _field(document, "meta_tensors", list, where, "a list")
    return {
        "attributions": attributions,
        "contributions": {
            k: check_contribution(c, f"{where}: contributions[{k!r}]")
            for k, c in contributions.items()
        },
        "target": decode_target(document.get("target"), tensors, f"{where}: target"),
        "method": _field(document, "method", str, where, "a string"),
        "meta": _decode_meta(meta, listed, tensors, where),
    }


def _decode_meta(meta: dict, listed: list, tensors: dict[str, Tensor], where: str) -> dict:
    """The inverse of :func:`_encode_meta`: each tensor back at its position."""
    decoded = {}
    for modality, values in meta.items():
        decoded[modality] = list(
            _expect(values, dict, f"{where}: meta[{modality!r}]", "an object").items()
        )
    for index, entry in enumerate(listed):
        at = f"{where}: meta_tensors[{index}]"
        if not (isinstance(entry, list) and len(entry) == 3):
            raise ValueError(f"{at} is {_kind(entry)}; expected [modality, key, position]")
        modality, key = (
            _expect(entry[0], str, at, "a modality name"),
            _expect(entry[1], str, at, "a key"),
        )
        position = _expect(entry[2], int, at, "a position")
        if position < 0:
            raise ValueError(f"{at} has position {position}; expected a position >= 0")
        if modality not in decoded:
            raise ValueError(f"{at} names modality {modality!r}, which meta does not have")
        decoded[modality].insert(position, (key, _tensor(tensors, f"meta/{index}", where)))
    return {modality: dict(items) for modality, items in decoded.items()}


def check_contribution(data: Any, where: str) -> dict[str, Any]:
    """The fields of a saved :class:`Contribution`, each checked; interactions as a dict."""
    _expect(data, dict, where, "an object")
    values = _field(data, "values", dict, where, "an object of modality -> number")
    for name, value in values.items():
        _expect_number(value, f"{where}.values[{name!r}]")
    interactions = {}
    for index, item in enumerate(_field(data, "interactions", list, where, "a list")):
        at = f"{where}.interactions[{index}]"
        if not (isinstance(item, list) and len(item) == 3):
            raise ValueError(f"{at} is {_kind(item)}; expected [modality, modality, number]")
        _check_strings(item[:2], at, unique=False)
        interactions[item[0], item[1]] = _expect_number(item[2], at)
    evaluations = _field(data, "evaluations", int, where, "an int")
    return {
        "values": values,
        "estimator": _field(data, "estimator", str, where, "a string"),
        "evaluations": evaluations,
        "interactions": interactions,
        "extra": _field(data, "extra", dict, where, "an object"),
    }


def encode_target(target: Any, tensors: dict[str, Tensor]) -> Any:
    """None, int, tuple or list as tagged JSON (``{"tuple": [...]}``); a tensor goes to
    ``tensors`` under ``"target"``."""
    if target is None:
        return None
    if isinstance(target, Tensor):
        tensors[TARGET_KEY] = target.detach().clone().contiguous()
        return {"tensor": TARGET_KEY}
    if isinstance(target, int) and not isinstance(target, bool):
        return {"int": target}
    if isinstance(target, (tuple, list)):
        tag = "tuple" if isinstance(target, tuple) else "list"
        return {tag: [encode_target(item, tensors) for item in target]}
    raise TypeError(
        f"target is {type(target).__name__}; expected None, an int, a tuple, a list or a tensor"
    )


def decode_target(value: Any, tensors: dict[str, Tensor], where: str) -> Any:
    """The inverse of :func:`encode_target`."""
    if value is None:
        return None
    if isinstance(value, dict) and len(value) == 1:
        ((tag, item),) = value.items()
        if tag == "int" and isinstance(item, int) and not isinstance(item, bool):
            return item
        if tag in ("tuple", "list") and isinstance(item, list):
            items = [decode_target(v, tensors, f"{where}[{i}]") for i, v in enumerate(item)]
            return tuple(items) if tag == "tuple" else items
        if tag == "tensor" and item == TARGET_KEY:
            return _tensor(tensors, TARGET_KEY, where)
    raise ValueError(
        f"{where} is {_kind(value)}; expected null, {{'int': n}}, {{'tuple': [...]}}, "
        f"{{'list': [...]}} or {{'tensor': {TARGET_KEY!r}}}"
    )


def _kind(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, (str, int, float)) else type(value).__name__
    return text if len(text) < 40 else text[:37] + "..."


def _expect(value: Any, kind: type, where: str, expected: str) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(f"{where} is {_kind(value)}; expected {expected}")
    return value


def _field(data: dict, key: str, kind: type, where: str, expected: str) -> Any:
    if key not in data:
        raise ValueError(f"{where}: {key!r} is missing; expected {expected}")
    return _expect(data[key], kind, f"{where}: {key}", expected)


def _expect_number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{where} is {_kind(value)}; expected a number")
    return value


def _check_strings(values: list, where: str, unique: bool = True) -> None:
    for index, value in enumerate(values):
        _expect(value, str, f"{where}[{index}]", "a string")
    if unique and len(set(values)) != len(values):
        raise ValueError(f"{where} names a modality twice")


def _tensor(tensors: dict[str, Tensor], key: str, where: str) -> Tensor:
    if key not in tensors:
        raise ValueError(f"{where}: the tensor file has no {key!r}; it does not match the JSON")
    return tensors[key]
