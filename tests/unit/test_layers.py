"""Each side keeps to its side: models/ computes in threads and never awaits (nor imports the web
edge); gateway/ imports no heavy model library at module level."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
THREAD_SIDE_NEVER_IMPORTS = {"fastapi", "starlette", "gateway", "anyio", "asyncio", "uvicorn"}
HEAVY = {"torch", "ctranslate2", "faster_whisper", "piper", "pyannote"}


def _imports(tree: ast.AST, *, top_level_only: bool = False) -> set[str]:
    nodes = tree.body if top_level_only and isinstance(tree, ast.Module) else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _problems_of_thread_side(source: str, name: str) -> list[str]:
    tree = ast.parse(source, name)
    problems = [f"{name} imports {module}" for module in sorted(_imports(tree) & THREAD_SIDE_NEVER_IMPORTS)]
    for node in ast.walk(tree):
        if isinstance(node, (ast.AsyncFunctionDef, ast.Await, ast.AsyncFor, ast.AsyncWith)):
            problems.append(f"{name}:{node.lineno} awaits")
    return problems


def test_models_never_await_nor_import_the_edge() -> None:
    problems = [
        problem
        for path in sorted((ROOT / "models").rglob("*.py"))
        for problem in _problems_of_thread_side(path.read_text(), str(path.relative_to(ROOT)))
    ]
    assert problems == []


def test_gateway_imports_no_model_library_at_module_level() -> None:
    problems = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / "gateway").rglob("*.py"))
        for name in _imports(ast.parse(path.read_text()), top_level_only=True) & HEAVY
    ]
    assert problems == []


def test_the_check_can_fail() -> None:
    source = "import anyio\n\n\nasync def f() -> None:\n    await g()\n"
    assert _problems_of_thread_side(source, "probe.py") == [
        "probe.py imports anyio",
        "probe.py:4 awaits",
        "probe.py:5 awaits",
    ]
