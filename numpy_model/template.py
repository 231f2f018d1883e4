"""example/params_template.json: every params key with a one-line ``_comment_<key>`` explanation.

The values are a small published run that takes seconds: the Fig 3 errormc 8-4-2-1 params
(experiments/Fig3_multilayer_comparison/8-4-2-1/errormc/params.json) with 10 epochs and one seed;
every key those params leave out has its schema default (derived defaults as computed for these
layers; ``null`` = absent). Regenerate with ``python -m numpy_model.template`` (a test keeps the file
in sync with the schema).
"""
import json
import os
import sys

__all__ = ["PATH", "template", "template_json", "template_params"]

PATH = os.path.join("example", "params_template.json")
EPOCHS = 10
HEADER = ("Every params.json key with its value for a small published run (Fig 3 errormc 8-4-2-1, "
          f"{EPOCHS} epochs, one seed; seconds): copy, change what you need, delete what you keep at the "
          "default. Keys starting with _comment are ignored. Reference: README, 'Params reference'. "
          "Regenerate: python -m numpy_model.template")


def template_params():
    """The validated params of the template run (every schema key, in schema order)."""
    from .experiments import SEEDS, fig3_params
    from .params import validate
    raw = {k: v for k, v in fig3_params("8-4-2-1", "errormc").items() if not k.startswith("_comment")}
    raw.update(epochs=EPOCHS, random_seed=SEEDS[:1])
    return validate(raw, "fw_only", warn=lambda msg: None)


def _comment(key, value):
    from .params import SCHEMA
    k = SCHEMA[key]
    text = k.doc
    if not k.required and k.derive is None and value != k.default:
        text += f" (default: {json.dumps(k.default)})"
    elif k.derive is not None:
        derived = (k.default_doc or "derived").replace("`", "")
        text += f" (default: {derived}; here as derived for these layers)"
    return text


def template():
    """The template as an ordered dict: ``_comment``, then ``_comment_<key>`` before each key."""
    out = {"_comment": HEADER}
    for key, value in template_params().items():
        out[f"_comment_{key}"] = _comment(key, value)
        out[key] = value
    return out


def template_json():
    """The file's text: one key per line (lists on one line), as written to :data:`PATH`."""
    lines = [f"    {json.dumps(k)}: {json.dumps(v)}" for k, v in template().items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def main(argv=None):
    import argparse
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(prog="python -m numpy_model.template",
                                 description="Write the params template (every key with a _comment line).")
    ap.add_argument("path", nargs="?", default=os.path.join(root, PATH),
                    help=f"where to write it (default: the repository's {PATH})")
    path = ap.parse_args(sys.argv[1:] if argv is None else argv).path
    from .io import atomic_write_bytes
    atomic_write_bytes(path, template_json().encode("utf-8"))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
