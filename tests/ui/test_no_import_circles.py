"""No import circles: inside the window's modules, and between the studio's packages.

An import circle makes the load order matter and lets a lower module reach up into the one that builds it
(``canvas_tabs`` knowing the whole ``MainWindow``). Imports under ``if TYPE_CHECKING:`` count too, as they do
for grimp and import-linter: they tie the modules together just the same for a reader and a type checker.
"""

from __future__ import annotations

from itertools import combinations

import grimp
import pytest

# The packages that must not import each other, directly or through others.
PACKAGES = [
    "studio.ui",
    "studio.state",
    "studio.backend",
    "studio.engine",
    "studio.models",
    "studio.metadata",
    "studio.prompt",
    "studio.pose",
]


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    # No cache: the graph is built in a fraction of a second and the tests then leave no files behind.
    return grimp.build_graph("studio", cache_dir=None)


def test_no_module_in_the_window_imports_itself_round_a_circle(graph: grimp.ImportGraph) -> None:
    ui = [m for m in graph.modules if m.startswith("studio.ui")]
    circles: dict[frozenset[str], str] = {}  # by its modules, so a circle is named once, not from each end
    for importer in ui:
        for imported in graph.find_modules_directly_imported_by(importer):
            if not imported.startswith("studio.ui"):
                continue
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back:
                circles.setdefault(frozenset(back), " -> ".join((importer, *back)))
    assert not circles, "import circles in studio.ui:\n" + "\n".join(sorted(circles.values()))


@pytest.mark.parametrize(("first", "second"), list(combinations(PACKAGES, 2)))
def test_no_two_packages_import_each_other(graph: grimp.ImportGraph, first: str, second: str) -> None:
    there = graph.find_shortest_chains(importer=first, imported=second, as_packages=True)
    back = graph.find_shortest_chains(importer=second, imported=first, as_packages=True)
    assert not (there and back), f"{first} and {second} import each other: {sorted(there)} and {sorted(back)}"
