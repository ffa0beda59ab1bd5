"""The import graph follows the layers of README.md "Code layout": each layer imports only the layers below it.

    CLIs     train.py test.py pixelize.py train_demo.py datasets/ benchmarks/
    options  the flag parsers (they take the names of the values flags choose from from their owners)
    engine   the training loop, the test runner, the pixelize runner
    models | data | postprocess   (each owns the names of what it builds: models.names, data.base_dataset,
                                   postprocess.dither)
    util     image conversion, file I/O, HTML, logging, distributed helpers, argparse value types

Every ``import`` in the source tree is read with ``ast`` (inside functions too), so a lazy import
that climbs a layer is caught as well as a top-level one.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Layer of each top-level package or script; higher numbers sit above lower ones.
LAYERS = {
    "util": 0,
    "models": 1, "data": 1, "postprocess": 1,
    "engine": 2,
    "options": 3,
    "train": 4, "test": 4, "pixelize": 4, "train_demo": 4, "datasets": 4, "benchmarks": 4,
}
#: Packages of one layer that must not import each other.
SIBLINGS_APART = {"models": {"data", "postprocess"}, "data": {"models", "postprocess"},
                  "postprocess": {"models", "data"}}
#: Sanctioned climbs: none left (option parsing sits above the libraries, so asking the model and
#: dataset registries for their extra flags, the reference's plugin hook, goes down the layers).
PLUGIN_HOOK: dict[str, set[str]] = {}


def source_modules() -> list[tuple[str, Path]]:
    """(dotted module name, path) of every first-party source file outside tests/."""
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in ("tests", ".venv", "build", "docs") or rel.parts[0].startswith("."):
            continue
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found.append((".".join(parts), path))
    return found


def imports_of(path: Path, module: str) -> set[str]:
    """Absolute names of every module imported by ``path`` (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            names.add(prefix)
            names.update(f"{prefix}.{alias.name}" for alias in node.names)
    return names


def first_party(name: str) -> str | None:
    top = name.split(".")[0]
    return top if top in LAYERS else None


MODULES = source_modules()


def test_every_top_level_package_has_a_layer():
    tops = {name.split(".")[0] for name, _ in MODULES}
    assert tops <= set(LAYERS), f"give these a layer in LAYERS and README.md (Code layout): {sorted(tops - set(LAYERS))}"
    assert {"util", "options", "models", "data", "postprocess", "engine"} <= tops


@pytest.mark.parametrize("module,path", MODULES, ids=[name for name, _ in MODULES])
def test_imports_go_down_the_layers(module, path):
    top = module.split(".")[0]
    climbs = []
    for name in sorted(imports_of(path, module)):
        other = first_party(name)
        if other is None or other == top:
            continue
        allowed = PLUGIN_HOOK.get(module, set())
        if name in allowed or other in allowed:
            continue
        if LAYERS[other] > LAYERS[top] or (LAYERS[other] == LAYERS[top] and other in SIBLINGS_APART.get(top, ())):
            climbs.append(name)
    assert not climbs, f"{module} ({path.relative_to(ROOT)}) imports {climbs} from a layer above or beside it"


@pytest.mark.parametrize("module,path", [(m, p) for m, p in MODULES if m.split(".")[0] in ("postprocess", "options")],
                         ids=[m for m, _ in MODULES if m.split(".")[0] in ("postprocess", "options")])
def test_postprocess_and_option_names_need_no_torch(module, path):
    """postprocess is plain numpy/OpenCV; options defines names a torch-free pixelize uses."""
    torch_imports = {n for n in imports_of(path, module) if n.split(".")[0] == "torch"}
    assert not torch_imports, f"{module} imports {sorted(torch_imports)}"


def test_the_checker_sees_lazy_and_relative_imports(tmp_path):
    pkg = tmp_path / "util"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    probe = pkg / "probe.py"
    probe.write_text("from . import dist\n\ndef f():\n    from engine import training\n    import models.networks\n")
    assert imports_of(probe, "util.probe") >= {"util.dist", "engine", "engine.training", "models.networks"}
