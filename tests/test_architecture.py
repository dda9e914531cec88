"""The import contracts in .importlinter hold: the layers (entry points > tasks > services > selectors > models >
pure math, the influence and webhooks packages included), pure math without Django, forum_integration over the
engine and never the reverse, migrations without live code, and no import cycles."""
from __future__ import annotations

from pathlib import Path

from importlinter import api
from importlinter.application import output, use_cases

CONFIG = Path(__file__).resolve().parent.parent / ".importlinter"


def test_import_contracts_are_kept():
    with output.console.capture() as captured:
        kept = use_cases.lint_imports(config_filename=str(CONFIG), no_logo=True, cache_dir=None)
    report = captured.get()
    broken = report[report.find("Broken contracts"):] if "Broken contracts" in report else report
    assert kept, f"import contracts broken (run `.venv/bin/lint-imports` for the same report):\n{broken}"


def _todo_entries() -> set[str]:
    """Ignore entries listed under a "; TODO(engine)" comment: temporary, for the lead to remove after merging."""
    entries, todo = set(), False
    for line in CONFIG.read_text().splitlines():
        text = line.strip()
        if text.startswith(";"):
            todo = "TODO(engine)" in text
        elif "->" in text and line[:1].isspace():
            if todo:
                entries.add(text)
        else:
            todo = False
    return entries


def _layer_modules(layer: str) -> list[str]:
    return [name.strip().strip("()") for name in layer.replace(":", "|").split("|")]


def test_the_only_permanent_exception_is_a_service_queueing_its_own_task():
    """Every ignored import is either a service module importing the tasks module of its own package (to queue
    the task it owns), or a TODO(engine) entry."""
    contracts = api.read_configuration(str(CONFIG))["contracts_options"]
    layers = [_layer_modules(layer) for c in contracts if c["type"] == "layers" for layer in c["layers"]]
    tasks_layer = next(layer for layer in layers if "community_scoring.tasks" in layer)
    services_layer = next(layer for layer in layers if "community_scoring.services" in layer)
    todo = _todo_entries()
    for contract in contracts:
        for entry in contract.get("ignore_imports") or []:
            if entry in todo:
                continue
            importer, imported = (part.strip() for part in entry.split("->"))
            owner = next((m for m in services_layer if importer == m or importer.startswith(m + ".")), None)
            assert owner is not None and imported in tasks_layer, f"{contract['name']}: {entry} is not allowed"
            assert owner.rpartition(".")[0] == imported.rpartition(".")[0], (
                f"{contract['name']}: {entry}: a service may queue only its own package's tasks")
