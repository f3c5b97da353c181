"""Tables that read at 80 columns (`narrow_table`)."""

from __future__ import annotations

from collections import Counter

from rich.console import Console

from cymbalism.report.format import narrow_table


def test_a_narrow_table_folds_long_names_rather_than_losing_them_or_its_figures() -> None:
    columns = {"A": "key", "B": "key", "N": "figure", "mean": "figure", "leads": "key"}
    a, b = "Condition 1 - 23 05 - Keys-glued", "Condition 1 - 23 05 - Drums-glued"
    row = [a, b, "187", "-11.5", a]

    def shown(width: int) -> list[str]:
        console = Console(width=width, record=True)
        console.print(narrow_table(columns, [row], width=width, title="t"))
        return console.export_text().splitlines()

    # wide enough: each name on one line, whole
    assert any(a in line and b in line and "-11.5" in line for line in shown(200))
    # too narrow for the names: they fold over lines, no character lost, figures whole
    lines = shown(60)
    assert max(len(line) for line in lines) <= 60
    assert any("187" in line and "-11.5" in line for line in lines)
    body = "".join(lines)
    assert "…" not in body
    held = Counter(body.replace(" ", ""))
    wanted = Counter("".join(row).replace(" ", ""))
    assert all(held[c] >= n for c, n in wanted.items())
