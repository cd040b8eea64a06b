"""The kernel process of a pre-started kernel (``orchestrator_kit.warm_kernels``): ipykernel_launcher that first
imports the modules named in ``OKIT_KERNEL_PRELOAD`` (comma-separated), so a kernel started ahead of use has
done its heavy imports before its notebook starts. The notebook's namespace stays empty: the modules are only
in ``sys.modules``.

    python -m orchestrator_kit.kernel_launcher -f CONNECTION_FILE     (as ``python -m ipykernel_launcher``)
"""

from __future__ import annotations

import importlib
import os
import sys

PRELOAD_ENV = "OKIT_KERNEL_PRELOAD"
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def main() -> None:
    """Import the preload modules, then run ipykernel as ``ipykernel_launcher`` does."""
    if sys.path and sys.path[0] == "":
        del sys.path[0]  # as ipykernel_launcher: the kernel's folder does not shadow installed modules
    if not os.environ.get("MPLBACKEND"):
        # What ipykernel sets at start; matplotlib reads it when imported, so set it before the preload.
        os.environ["MPLBACKEND"] = INLINE_BACKEND
    for name in filter(None, os.environ.pop(PRELOAD_ENV, "").split(",")):
        importlib.import_module(name)
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
