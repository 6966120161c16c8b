"""The documentation site builds strictly (broken references fail), its API reference covers every
engine class, its getting-started commands are the README's, and its algorithms table agrees with
the classes' declared properties."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import mmattr
from mmattr.engine.registry import methods

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
#: every registered attribution class that ``mmattr`` exports
REGISTERED = {info.cls.__name__: info for info in methods().values()}
ENGINE_CLASSES = sorted(n for n in mmattr.__all__ if n in REGISTERED)


def _bash_blocks(path: Path) -> list[str]:
    return re.findall(r"^```bash\n(.*?)^```", path.read_text(), flags=re.S | re.M)


def test_site_builds_strictly_with_every_engine_class(tmp_path: Path) -> None:
    site = tmp_path / "site"
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "-q"]
    command += ["-f", str(ROOT / "mkdocs.yml"), "-d", str(site)]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    reference = "".join(p.read_text() for p in (site / "api").rglob("index.html"))
    missing = [
        n for n in ENGINE_CLASSES if not re.search(rf'id="mmattr\.engine\.\w+\.{n}"', reference)
    ]
    assert missing == []
    # the reference is built from the docstrings: IntegratedGradients' formula line is there
    first_line = mmattr.IntegratedGradients.__doc__.strip().splitlines()[0]
    assert first_line.split(":")[0] in reference and "n_steps" in reference
    # the Args that engine/_docs.py completes at import are shown (griffe reads runtime docs)
    assert reference.count("extra arguments passed to") >= 30


def test_getting_started_commands_are_the_readme_s() -> None:
    readme = _bash_blocks(ROOT / "README.md")[:2]
    started = _bash_blocks(DOCS / "getting-started.md")[:2]
    assert len(readme) == 2 and started == readme


def _algorithm_rows() -> dict[str, list[str]]:
    rows = {}
    for line in (DOCS / "algorithms.md").read_text().splitlines():
        match = re.match(r"^\| `(\w+)` \|(.*)\|$", line)
        if match:
            assert match.group(1) not in rows, f"{match.group(1)} has two rows"
            rows[match.group(1)] = [cell.strip() for cell in match.group(2).split("|")]
    return rows


def test_algorithms_table_matches_the_classes() -> None:
    rows = _algorithm_rows()
    # the table lists the attribution methods (not the summaries, rules or embedding helpers)
    methods = [n for n in ENGINE_CLASSES if hasattr(getattr(mmattr, n), "needs_gradients")]
    assert sorted(rows) == methods
    for name, (family, _baseline, _cost, axioms) in rows.items():
        cls, info = getattr(mmattr, name), REGISTERED[name]
        expected = ("gradient",) if cls.needs_gradients else ("perturbation", "forward only")
        assert family in expected, name
        if info.convergence_delta:
            assert "completeness" in axioms, name


def test_readme_and_docs_link_every_notebook() -> None:
    readme = (ROOT / "README.md").read_text()
    listed = (DOCS / "notebooks.md").read_text()
    notebooks = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert len(notebooks) >= 6
    assert [n for n in notebooks if f"notebooks/{n}" not in readme] == []
    assert [n for n in notebooks if n not in listed] == []
    assert "mkdocs build --strict" in readme and "docs/" in readme


def test_the_three_uses_are_the_readme_s_tested_examples() -> None:
    def python_blocks(path: Path) -> list[str]:
        return re.findall(r"^```python\n(.*?)^```", path.read_text(), flags=re.S | re.M)

    # tests/test_readme.py runs the README's blocks after the first and checks their results
    assert python_blocks(DOCS / "uses.md") == python_blocks(ROOT / "README.md")[1:]
