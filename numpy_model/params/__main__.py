"""``python -m numpy_model.params`` prints the params reference (the README table)."""

from . import params_reference_markdown

print(params_reference_markdown(), end="")
