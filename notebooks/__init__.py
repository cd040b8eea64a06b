"""The notebooks shipped with orchestrator_kit: package data (``*.ipynb``, ``grid.yaml``), found at run time
with ``orchestrator_kit.notebook_params.notebook_path(name)``. No module here but this one: the notebooks'
percent-format sources (``notebooks/sources/*.py`` in the checkout) are not part of the package."""
