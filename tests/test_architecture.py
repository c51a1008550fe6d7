"""The package's structure: one place per concept, no import circle, no global side effects."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sklearn_ser"


def _modules() -> dict[str, ast.Module]:
    trees = {}
    for file in sorted(PACKAGE.rglob("*.py")):
        parts = file.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        trees[name] = ast.parse(file.read_text(), filename=str(file))
    return trees


def _module_level_imports(name: str, tree: ast.Module, known: set[str]) -> set[str]:
    """Modules of the package imported when ``name`` is imported (not inside functions)."""
    package = name if name in known and (PACKAGE.parent / name.replace(".", "/")).is_dir() \
        else name.rpartition(".")[0]
    found = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(t for t in targets if t in known and t != name)
    return found


def test_no_import_circle():
    trees = _modules()
    known = set(trees)
    graph = {name: _module_level_imports(name, tree, known) for name, tree in trees.items()}
    # A package's __init__ importing its own submodules is how packages work, not a circle.
    for name in graph:
        graph[name] = {t for t in graph[name] if not t.startswith(name + ".")}
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycle = path[path.index(target):] + [target] if target in path else [target]
                pytest.fail("import circle: " + " -> ".join(cycle))
            if target not in state:
                visit(target, [*path, target])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_every_exception_and_warning_lives_in_exceptions_py():
    misplaced = []
    for name, tree in _modules().items():
        if name == "sklearn_ser.exceptions":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = [ast.unparse(b) for b in node.bases]
                if any(b.endswith(("Error", "Warning", "Exception")) for b in bases):
                    misplaced.append(f"{name}.{node.name}")
    assert misplaced == []


def test_step_names_are_looked_up_through_the_constants():
    # `named_steps["cnn"]` (or `steps["cnn"]`, `"cnn" in steps`, `steps[0][0] == "load"`)
    # written out would be a second place for a step's name; pipeline.py holds the constants.
    from sklearn_ser import pipeline

    step_names = set(pipeline.CNN_STEPS) | set(pipeline.ENCODER_STEPS)
    literal = [f"{name}:{line}" for name, tree in _modules().items()
               if name != "sklearn_ser.pipeline"
               for line in _step_name_literals(tree, step_names)]
    assert literal == []


def _step_name_literals(tree: ast.AST, step_names: set[str]) -> list[int]:
    """Lines where a step name is written out as a key, a comparison operand or a .get key."""
    lines = []
    for node in ast.walk(tree):
        keys = []
        if isinstance(node, ast.Subscript):
            keys = [node.slice]
        elif isinstance(node, ast.Compare):  # either side: "cnn" in steps, name == "load"
            keys = [node.left, *node.comparators]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "get" and node.args):
            keys = [node.args[0]]
        if any(isinstance(k, ast.Constant) and k.value in step_names for k in keys):
            lines.append(node.lineno)
    return lines


@pytest.mark.parametrize("source", [
    'model.named_steps["cnn"]',
    '"encoder" in model.named_steps',
    'model.steps[0][0] == "load"',
    '"scale" != name',
    'steps.get("classifier")',
])
def test_the_step_name_check_sees_every_form(source):
    # The check above passes only if it can fail: each form written out is caught.
    from sklearn_ser import pipeline

    names = set(pipeline.CNN_STEPS) | set(pipeline.ENCODER_STEPS)
    assert _step_name_literals(ast.parse(source), names) == [1]
    assert _step_name_literals(ast.parse(source.replace('"', "")), names) == []


def test_importing_the_library_changes_nothing_global():
    # Third-party libraries first: what they change on import is theirs, not ours.
    code = (
        "import logging, os, sys, warnings\n"
        "import keras, librosa, numba, pandas, scikeras.wrappers, sklearn, soundfile\n"
        "env, filters = dict(os.environ), list(warnings.filters)\n"
        "levels = {n: logging.getLogger(n).level for n in ('tensorflow', 'absl')}\n"
        "import sklearn_ser, sklearn_ser.models, sklearn_ser.pipeline, sklearn_ser.encoders\n"
        "import sklearn_ser.persistence, sklearn_ser.segments, sklearn_ser.experiment\n"
        "sklearn_ser.make_ser_pipeline(); sklearn_ser.make_ser_pipeline('reference')\n"
        "assert dict(os.environ) == env, set(os.environ.items()) ^ set(env.items())\n"
        "assert list(warnings.filters) == filters, 'warning filters changed'\n"
        "assert {n: logging.getLogger(n).level for n in levels} == levels, 'log levels'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]


def test_import_sklearn_ser_is_light():
    code = (
        "import sys, sklearn_ser\n"
        "heavy = {'numpy', 'sklearn', 'librosa', 'numba', 'tensorflow', 'keras', 'pandas'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("module, name", [
    ("sklearn_ser.audio", "AudioLoader"),
    ("sklearn_ser.features", "FeatureImageExtractor"),
    ("sklearn_ser.encoders", "GE2EEncoder"),
    ("sklearn_ser.models", "SERClassifier"),
    ("sklearn_ser.pipeline", "SERPipeline"),
])
def test_pickles_of_the_old_layout_still_resolve(module, name):
    # A pickle names a class by module path: models saved before the split must load.
    import importlib
    import pickle

    found = pickle.loads(f"c{module}\n{name}\n.".encode())
    assert found is getattr(importlib.import_module(module), name)
