"""The code's shape in figures: files that branch on the database vendor, files holding raw SQL, import cycles,
imports placed inside functions, and the ten longest functions. Migrations and system checks are left out.

    python bench/shape.py [--root DIR]

Counted over the packages community_scoring, forum_integration and settings (tests and benchmarks aside):
- vendor branch: a line naming ``connection.vendor``, ``is_postgresql(`` or a backend ENGINE string;
- raw SQL: ``cursor(``, ``RawSQL``, ``.raw(``, ``.extra(``, or a string literal shaped like a statement
  (SELECT ... FROM, INSERT INTO, UPDATE ... SET, DELETE FROM, WITH ... AS ();
- import cycles: strongly connected groups of two or more modules in the graph of every import, at module level
  or inside a function (an import of ``pkg.name`` where name is a module counts as an import of that module);
  printed twice: with every import, and without the one exception the layers allow (a services module importing
  its own package's tasks module, to queue its task: .importlinter);
- function-level imports: import statements inside a function or method body.
"""
from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

import networkx as nx

PACKAGES = ("community_scoring", "forum_integration", "settings")
VENDOR = re.compile(r"connection\.vendor|\bis_postgresql\(|backends\.postgresql|\.vendor\s*[!=]=")
SQL_CALL = re.compile(r"\bcursor\(|\bRawSQL\b|\.raw\(|\.extra\(")
SQL_TEXT = re.compile(r"\bSELECT\b[\s\S]*\bFROM\b|\bINSERT\s+INTO\b|\bUPDATE\b\s+\S+\s+\bSET\b|\bDELETE\s+FROM\b"
                      r"|\bWITH\b\s+\w+\s+AS\s*\(", re.IGNORECASE)


def project_files(root: Path) -> list[Path]:
    files = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root)
            if "migrations" in rel.parts or rel.name == "checks.py":
                continue
            files.append(path)
    return files


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def sql_strings(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL_TEXT.search(node.value):
            return True
    return False


def imports_of(tree: ast.AST, name: str, is_package: bool, modules: set[str]) -> tuple[set[str], int]:
    """Project modules this module imports, and how many import statements sit inside functions."""
    found: set[str] = set()
    inner = 0
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inner += sum(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(node))
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found, inner


def function_lengths(tree: ast.AST, name: str) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out.append((node.end_lineno - node.lineno + 1, f"{name}.{node.name}"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(Path(__file__).resolve().parent.parent))
    root = Path(parser.parse_args().root).resolve()
    files = project_files(root)
    modules = {module_name(root, p): p for p in files}
    vendor, raw_sql, lengths = [], [], []
    graph = nx.DiGraph()
    inner_total = 0
    for name, path in modules.items():
        text = path.read_text()
        tree = ast.parse(text)
        rel = str(path.relative_to(root))
        if VENDOR.search(text):
            vendor.append(rel)
        if SQL_CALL.search(text) or sql_strings(tree):
            raw_sql.append(rel)
        graph.add_node(name)
        found, inner = imports_of(tree, name, path.name == "__init__.py", set(modules))
        inner_total += inner
        graph.add_edges_from((name, target) for target in found)
        lengths.extend(function_lengths(tree, name))
    # A package's __init__ importing its own submodules is how packages re-export: not a cycle of design.
    for name in list(graph.nodes):
        for target in list(graph.successors(name)):
            if target.startswith(name + "."):
                graph.remove_edge(name, target)
    cycles = [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    allowed = [(a, b) for a, b in graph.edges if ".services" in a and b == a.split(".services")[0] + ".tasks"]
    graph.remove_edges_from(allowed)
    other_cycles = [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]
    print(f"files branching on the database vendor: {len(vendor)}")
    for rel in vendor:
        print(f"  {rel}")
    print(f"files holding raw SQL: {len(raw_sql)}")
    for rel in raw_sql:
        print(f"  {rel}")
    print(f"import cycles (groups of modules importing each other): {len(cycles)}, "
          f"modules in them: {sum(len(c) for c in cycles)}")
    for cycle in cycles:
        print(f"  {' <-> '.join(cycle)}")
    print(f"import cycles without the allowed service -> own tasks imports ({len(allowed)}): {len(other_cycles)}")
    for cycle in other_cycles:
        print(f"  {' <-> '.join(cycle)}")
    print(f"imports inside functions: {inner_total}")
    print("ten longest functions (lines):")
    for length, name in sorted(lengths, reverse=True)[:10]:
        print(f"  {length:4d}  {name}")


if __name__ == "__main__":
    sys.exit(main())
