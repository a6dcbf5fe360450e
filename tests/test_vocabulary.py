"""No bare string literal for a vocabulary value outside ``pumas_core/vocab.py``.

The check reads the AST of every module of ``pumas_core`` and ``comfyui_pumas_node``: a string constant
that *equals* a value of one of the vocabularies (``ModelType``, ``UnitKind``, ``FileFormat``,
``SecurityTier``, ``MatchSource``, ``Trust``, ``Stage``) is reported with its file and line.  Docstrings
and f-string fragments never equal a value, so prose is not caught.  A literal that means something else
(a substring searched in tensor names, a word of a file name) carries ``# not-vocab: <why>`` on its line.
"""

from __future__ import annotations

import ast
from pathlib import Path

from pumas_core import vocab

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("pumas_core", "comfyui_pumas_node")

#: Values that are also another vocabulary: ComfyUI folder keys (``vae``, ``clip_vision``, ``controlnet``,
#: ``gligen``, ``photomaker``), health's ``action: "none"``, the ``other``/``unknown`` family and base model,
#: workflow ``hash_type: "hash"`` keys, adoption journal ``done`` records.  A literal of one of these cannot be
#: told apart from its other meaning by reading the code, so they are not checked.
AMBIGUOUS = frozenset({"vae", "clip_vision", "controlnet", "gligen", "photomaker", "none", "other", "unknown",
                       "hash", "done"})
PRAGMA = "# not-vocab:"


def _vocabulary_values() -> dict[str, str]:
    found: dict[str, str] = {}
    for enum in vocab.VOCABULARIES:
        for member in enum:
            if member.value not in AMBIGUOUS:
                found[member.value] = f"{enum.__name__}.{member.name}"
    return found


def _docstring_ids(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def bare_vocabulary_literals(root: Path = ROOT) -> list[str]:
    """``["path:line: 'lora' (use ModelType.LORA)", ...]`` for every offending literal."""
    wanted = _vocabulary_values()
    problems = []
    for pkg in PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            if path.name == "vocab.py" and path.parent.name == "pumas_core":
                continue
            text = path.read_text(encoding="utf-8")
            lines = text.splitlines()
            tree = ast.parse(text, filename=str(path))
            docs = _docstring_ids(tree)
            for node in ast.walk(tree):
                if (isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in wanted
                        and id(node) not in docs and PRAGMA not in lines[node.lineno - 1]):
                    rel = path.relative_to(root).as_posix()
                    problems.append(f"{rel}:{node.lineno}: {node.value!r} (use {wanted[node.value]})")
    return problems


def test_vocabulary_values_are_spelled_once():
    problems = bare_vocabulary_literals()
    assert not problems, "bare vocabulary literals:\n" + "\n".join(problems)


def test_the_check_catches_a_bare_literal(tmp_path):
    pkg = tmp_path / "pumas_core"
    pkg.mkdir()
    (pkg / "bad.py").write_text('"""lora"""\nKIND = "sharded-set"\nOK = "sharded-set"  # not-vocab: test\n')
    (tmp_path / "comfyui_pumas_node").mkdir()
    assert bare_vocabulary_literals(tmp_path) == ["pumas_core/bad.py:2: 'sharded-set' (use UnitKind.SHARDED_SET)"]


def test_members_are_their_values():
    import json
    assert vocab.ModelType.LORA == "lora" and f"{vocab.UnitKind.SHARDED_SET}" == "sharded-set"
    assert json.dumps({"t": vocab.Stage.HASHING}) == '{"t": "hashing"}'
    assert {vocab.ModelType.VAE: 1}["vae"] == 1
    assert vocab.values(vocab.Trust) == ("verified", "high", "low", "none")
