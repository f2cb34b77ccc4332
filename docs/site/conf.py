"""Sphinx configuration of the HTML site: `make site` writes build/site/ from the repository as it is.

The source folder is the repository root, so every link of the README, the notebooks and docs/
resolves in the site exactly as it does on GitHub. Pages: README.md (the front page), the numbered
notebooks with their committed outputs (never executed here: the outputs are the paper-scale run)
and docs/*.md. Math is rendered by a MathJax copied into the site, so the pages read offline.
A link to a folder shows that folder's README.md, as on GitHub.
"""
import re
from pathlib import Path

project = "mfcredit"
author = "mfcredit contributors"
html_title = "mfcredit: learning credit assignment"

extensions = ["myst_nb", "sphinx.ext.mathjax", "sphinx-mathjax-offline"]
root_doc = "README"
include_patterns = ["README.md", "docs/*.md", "notebooks/[0-9]*.ipynb"]
exclude_patterns = ["build", ".venv", "cache", "docs/site"]   # not even walked

nb_execution_mode = "off"                     # the committed outputs are the content
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3                      # in-page links such as (#read-it) resolve

html_theme = "sphinx_book_theme"
html_theme_options = {"show_toc_level": 2}
html_copy_source = False
html_show_sourcelink = False

#: The site's navigation, appended to the front page only when the site is built: README.md stays
#: plain Markdown on GitHub. Globs keep it in step with the files.
NAVIGATION = """

```{toctree}
:hidden:
:glob:
:caption: Notebooks

notebooks/*
```

```{toctree}
:hidden:
:glob:
:caption: Reference

docs/*
```
"""

REDIRECT = ('<!DOCTYPE html>\n<meta charset="utf-8">\n<title>mfcredit</title>\n'
            '<meta http-equiv="refresh" content="0; url=README.html">\n'
            '<a href="README.html">mfcredit</a>\n')


def add_navigation(app, docname, source):
    """Give the front page (README) the hidden table of contents the sidebar is built from, and point
    links to a folder at its README.md, the page GitHub shows for a folder."""
    if docname == root_doc:
        source[0] += NAVIGATION
    folder = Path(app.srcdir, docname).parent

    def to_readme(match):
        readme = match.group(1) + "README.md"
        return f"]({readme})" if (folder / readme).is_file() else match.group(0)

    source[0] = re.sub(r"\]\(([^()\s]*/)\)", to_readme, source[0])


def write_index(app, exception):
    """index.html sends a browser to the front page, README.html, so the site opens at its root."""
    if exception is None and app.builder.format == "html":
        (app.outdir / "index.html").write_text(REDIRECT)


def setup(app):
    app.connect("source-read", add_navigation)
    app.connect("build-finished", write_index)
