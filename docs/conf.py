"""Sphinx configuration: API reference from the docstrings, tutorials as executed pages.

Build (warnings are errors):  python -m sphinx -W --keep-going -b html docs docs/_build/html
"""
import os
import sys

sys.path.insert(0, os.path.abspath(".."))
os.environ.setdefault("MPLBACKEND", "Agg")

import qpolicy  # noqa: E402

project = "qpolicy"
author = "The qpolicy developers"
copyright = "2026, The qpolicy developers"
release = version = qpolicy.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "gallery/*.ipynb", "gallery/*.py.md5", "gallery/*.zip"]
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
autodoc_typehints = "description"
napoleon_google_docstring = True
napoleon_numpy_docstring = True
# Attributes as :ivar: fields: dataclass fields are documented once (autodoc lists them too).
napoleon_use_ivar = True

# The teaching examples, executed at build time; their printed output and figures are the page.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "gallery",
    "filename_pattern": r".*\.py$",
    "ignore_pattern": r"__init__\.py",
    "download_all_examples": False,
    "capture_repr": (),
    "min_reported_time": 10**9,
    "show_memory": False,
    "show_signature": False,
    "abort_on_example_error": True,
}

html_theme = "alabaster"
html_title = f"qpolicy {release}"


# Docstrings write kets and norms as in the paper (|ψ⟩, |a − b|); in reStructuredText a bare "|"
# starts a substitution.  Escape it outside literals, doctest lines and tables.
def _escape_bars(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        text = line.strip()
        table_row = (text.startswith("|") and text.endswith("|")) or text.startswith(("+-", "+="))
        if table_row or text.startswith((">>>", "...")) or "|" not in line:
            continue
        parts = line.split("``")
        parts[::2] = [part.replace("|", r"\|") for part in parts[::2]]
        lines[i] = "``".join(parts)


def setup(app):
    app.connect("autodoc-process-docstring", _escape_bars)
