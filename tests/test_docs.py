"""The docs match the code.

* ``docs/internal-api.md``: its progress-stage table lists exactly ``pumas_core.vocab.Stage``; its HTTP route
  table lists exactly the ``/pumas/...`` routes the apps register (``pumas serve``'s app, and ComfyUI's
  route table built like ``PromptServer.add_routes``), both directions.
* the panel's ``STAGE_LABELS`` name every stage and its ``MODEL_TYPES`` are ``pumas_core.vocab.ModelType``.
* ``comfyui_pumas_node/web/js/README.md``: its settings table lists exactly the keys the panel's Settings
  section saves, which are ``pumas_core.settings.KEYS``.
* README.md, docs/*.md, the panel README, install.py and the pack's entry files point only at files
  that are in the repository (see :func:`dangling_paths`).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from aiohttp import web
from routes_support import FakePromptServer, comfy_app

from pumas_core.vocab import Stage

ROOT = Path(__file__).resolve().parent.parent
INTERNAL_API = ROOT / "docs" / "internal-api.md"
WEB_JS = ROOT / "comfyui_pumas_node" / "web" / "js"
#: text files whose relative paths must exist (globs relative to the repository root)
CHECKED_TEXTS = ("README.md", "docs/*.md", "bench/README.md", "comfyui_pumas_node/web/js/README.md", "install.py",
                 "prestartup_script.py", "__init__.py", "comfyui_pumas_node/*.py")
STANDALONE_ONLY = "`pumas serve` only"


def section(text: str, heading: str) -> str:
    """The text under the Markdown heading ``heading`` (up to the next heading of the same or a higher level)."""
    level = len(heading) - len(heading.lstrip("#"))
    lines = text.splitlines()
    start = lines.index(heading) + 1
    end = next((i for i in range(start, len(lines)) if re.match(rf"#{{1,{level}}} ", lines[i])), len(lines))
    return "\n".join(lines[start:end])


def table_rows(text: str) -> list[list[str]]:
    """The cells of every Markdown table body row in ``text`` (header and ``|---|`` rows dropped)."""
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in text.splitlines()
            if line.strip().startswith("|")]
    return [r for r in rows[2:] if not set("".join(r)) <= set("-: ")] if rows else []


def code(cell: str) -> str:
    """The text of a cell that is one inline code span (`` `x` `` → ``x``)."""
    m = re.fullmatch(r"`([^`]+)`", cell)
    assert m, f"expected one `code` span, got {cell!r}"
    return m.group(1)


# ---- progress stages -----------------------------------------------------------------------------

def test_progress_stage_table_matches_the_vocabulary():
    rows = table_rows(section(INTERNAL_API.read_text(encoding="utf-8"), "### Progress stages"))
    documented = [code(r[0]) for r in rows]
    assert len(documented) == len(set(documented)), documented
    assert set(documented) == {s.value for s in Stage}


def test_the_panel_names_every_stage():
    js = (WEB_JS / "lib" / "format.js").read_text(encoding="utf-8")
    body = re.search(r"export const STAGE_LABELS = \{(.*?)\};", js, re.S)
    assert body, "STAGE_LABELS not found in lib/format.js"
    labelled = set(re.findall(r"(\w+):", body.group(1)))
    assert {s.value for s in Stage} - labelled == set()


def test_the_panel_model_types_are_the_vocabulary():
    from pumas_core.vocab import ModelType

    js = (WEB_JS / "lib" / "format.js").read_text(encoding="utf-8")
    body = re.search(r"export const MODEL_TYPES = \[(.*?)\];", js, re.S)
    assert body, "MODEL_TYPES not found in lib/format.js"
    assert re.findall(r'"([^"]+)"', body.group(1)) == [m.value for m in ModelType]


# ---- HTTP routes ---------------------------------------------------------------------------------

def documented_routes() -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """``(all routes, routes marked "pumas serve only")`` of the HTTP route table as ``(method, path)``."""
    rows = table_rows(section(INTERNAL_API.read_text(encoding="utf-8"), "## HTTP routes (`comfyui_pumas_node/`)"))
    routes = [(r[0], code(r[1])) for r in rows]
    assert len(routes) == len(set(routes)), routes
    return set(routes), {(r[0], code(r[1])) for r in rows if STANDALONE_ONLY in r[2]}


def pumas_routes(app: web.Application, prefix: str = "/pumas/") -> set[tuple[str, str]]:
    """``(method, path template)`` of every route of ``app`` under ``prefix`` (HEAD twins of GETs dropped)."""
    return {(r.method, r.resource.canonical) for r in app.router.routes()
            if r.resource is not None and r.resource.canonical.startswith(prefix) and r.method != "HEAD"}


def test_route_table_matches_the_standalone_app():
    from comfyui_pumas_node.standalone import create_app

    app = create_app(host="127.0.0.1")
    documented, _ = documented_routes()
    registered = pumas_routes(app)
    assert sorted(registered - documented) == [], "registered but not in docs/internal-api.md"
    assert sorted(documented - registered) == [], "in docs/internal-api.md but not registered"
    api_twins = {(m, p.removeprefix("/api")) for m, p in pumas_routes(app, "/api/pumas/")}
    assert api_twins == {(m, p) for m, p in registered if not p.startswith("/pumas/ui/")}


def test_route_table_matches_comfyui_registration():
    from comfyui_pumas_node.adapter import register_routes
    from comfyui_pumas_node.context import PumasContext
    from comfyui_pumas_node.routes import build_routes

    server = FakePromptServer()
    ctx = PumasContext(server="comfyui", library_factory=lambda **_: None)
    try:
        register_routes(server.routes, build_routes(ctx))
        registered = pumas_routes(comfy_app(server))
    finally:
        ctx.close()
    documented, standalone_only = documented_routes()
    assert registered == documented - standalone_only


# ---- panel settings ------------------------------------------------------------------------------

def test_panel_readme_settings_match_the_settings_section_and_the_core():
    from pumas_core.settings import KEYS

    readme = (WEB_JS / "README.md").read_text(encoding="utf-8")
    documented = [code(r[0]) for r in table_rows(section(readme, "## Settings"))]
    view = (WEB_JS / "lib" / "settings_view.js").read_text(encoding="utf-8")
    saved = set(re.findall(r"save\(\{\s*(\w+):", view))
    assert "addRoot" in view and "import_roots" in saved  # roots are added through the store's addRoot
    assert sorted(documented) == sorted(saved) == sorted(KEYS)
    entry = (WEB_JS / "pumas_panel.js").read_text(encoding="utf-8")
    if not re.search(r"registerExtension\(\{[^}]*\bsettings\s*:", entry, re.S):  # no ComfyUI settings registered
        assert not re.findall(r"`Pumas\.\w+`", readme), "the README names ComfyUI settings the panel no longer has"


# ---- paths inside the repository -----------------------------------------------------------------

#: a relative path: at least two components, none starting with a character that marks a URL, a route or a
#: placeholder (``https://x/y``, ``/pumas/...``, ``<root>/...``, ``~/...``); ``..`` allowed at the start.
PATH_RE = re.compile(r"(?<![\w./:~<>@$-])((?:\.\./)*[\w.*-]+(?:/[\w.*-]+)+/?)")
#: URLs relative to the panel's own URL (``/extensions/<pack>/``), served by ComfyUI: not repository files.
URL_RELATIVE = frozenset({"../../scripts/app.js", "../../scripts/api.js"})
LINK_RE = re.compile(r"\]\(([^)\s]+)\)")
#: a bare Markdown file name (``DESIGN.md``): a file of the repository root, ``docs/`` or the document's folder.
MD_NAME_RE = re.compile(r"(?<![\w./-])([\w-]+\.md)\b")


def _top_level() -> set[str]:
    """Names at the repository root that are tracked (``git ls-files``), else every entry there."""
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):  # no git, or not a checkout
        return {p.name for p in ROOT.iterdir()}
    return {p.split("/", 1)[0] for p in out.decode("utf-8").split("\0") if p}


TOP_LEVEL = _top_level()


def _exists(base: Path, rel: str) -> bool:
    """``rel`` (a path, a ``*`` glob, or a module path without ``.py``) exists under ``base`` inside the repo."""
    if not rel.endswith("/") and "*" not in rel and not Path(rel).suffix and _exists(base, rel + ".py"):
        return True
    target = (base / rel.rstrip("/")).resolve()
    if not target.is_relative_to(ROOT):
        return False
    if "*" in rel:
        return any(ROOT.glob(target.relative_to(ROOT).as_posix()))
    return target.exists()


def dangling_paths(doc: Path) -> list[str]:
    """Relative paths in ``doc`` that point at nothing in the repository.

    Checked: every Markdown link target that is not a URL or an anchor, and every path-looking token
    (``a/b``, ``a/b.md``, ``../x/y``) whose first component is ``..``, ``reference`` (the design notes,
    which are not shipped) or an entry of the repository root or of the document's folder; such a path must
    exist relative to the document's folder or to the repository root (``*`` globs must match; a module path
    may leave out ``.py``).  A bare ``Name.md`` must be in the document's folder, the root or ``docs/``.
    Untracked folders (``test-artifacts/``) are not the repository's.
    """
    text = doc.read_text(encoding="utf-8")
    base = doc.parent
    problems = []
    for target in LINK_RE.findall(text):
        rel = target.split("#", 1)[0]
        if rel and not re.match(r"[a-z]+:", rel) and not (_exists(base, rel) or _exists(ROOT, rel)):
            problems.append(f"{doc.relative_to(ROOT)}: link {target}")
    links = set(LINK_RE.findall(text))
    for rel in (m.rstrip(".") for m in PATH_RE.findall(text)):
        if rel in URL_RELATIVE or rel in links:
            continue
        first = rel.split("/", 1)[0]
        candidate = first in ("..", "reference") or first in TOP_LEVEL or (base / first).exists()
        if candidate and not (_exists(base, rel) or _exists(ROOT, rel)):
            problems.append(f"{doc.relative_to(ROOT)}: {rel}")
    for name in MD_NAME_RE.findall(text):
        if not any((d / name).is_file() for d in (base, ROOT, ROOT / "docs")):
            problems.append(f"{doc.relative_to(ROOT)}: {name}")
    return sorted(set(problems))


def test_docs_point_only_at_files_in_the_repository():
    docs = sorted({p for pattern in CHECKED_TEXTS for p in ROOT.glob(pattern)})
    assert len(docs) >= 5
    problems = [p for doc in docs for p in dangling_paths(doc)]
    assert not problems, "paths that are not in the repository:\n" + "\n".join(problems)


def test_the_path_check_catches_outside_references(tmp_path, monkeypatch):
    doc = ROOT / "docs" / "internal-api.md"
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: (
        "see reference/comfyui-integration.md §2, `../shared/reference/x.md`, [a](docs/nope.md), DESIGN.md, "
        "`tests/test_nothing_*.py`, but `docs/internal-api.md`, README.md, `tests/test_docs.py`, https://x.org/a/b, "
        "`/pumas/models/{model_id}`, `models/checkpoints`, application/json and [b](#anchor) are fine"))
    assert dangling_paths(doc) == sorted([
        "docs/internal-api.md: link docs/nope.md", "docs/internal-api.md: reference/comfyui-integration.md",
        "docs/internal-api.md: DESIGN.md",
        "docs/internal-api.md: ../shared/reference/x.md", "docs/internal-api.md: tests/test_nothing_*.py"])
