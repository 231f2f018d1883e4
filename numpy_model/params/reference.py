"""The params reference: a Markdown table generated from SCHEMA (README.md, section Params reference)."""

from .schema import SCHEMA


def params_reference_markdown() -> str:
    """Markdown table (key | type | default | meaning / allowed) generated from SCHEMA."""

    def esc(s: str) -> str:
        return s.replace("|", "\\|")

    lines = [
        "| key | type | default | meaning / allowed |",
        "|---|---|---|---|",
    ]
    for k in SCHEMA.values():
        meaning = k.doc
        if k.allowed:
            meaning += f" Allowed: {k.allowed}."
        lines.append(f"| `{k.name}` | {esc(k.type_name)} | {esc(k.default_text())} | {esc(meaning)} |")
    notes = (
        "\n`L = len(layers)`. Keys starting with `_comment` are allowed and ignored. Keys whose default is "
        "*absent* change the behaviour only when present; `null` also means absent.\n"
    )
    return "\n".join(lines) + "\n" + notes
