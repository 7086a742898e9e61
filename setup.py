"""Build hook only (the metadata is in pyproject.toml): copy the shipped data folders
(gateway.shipped.SHIPPED: the demo's configuration, the buyer formats and templates, the example
exports) into the wheel as ``gateway/_shipped/``, keeping their relative layout."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

def _shipped() -> tuple[str, ...]:
    """``SHIPPED`` of gateway/shipped.py, read without importing the package (its
    dependencies need not be installed at build time)."""
    tree = ast.parse(Path(__file__).with_name("gateway").joinpath("shipped.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "SHIPPED" for t in node.targets
        ):
            return tuple(ast.literal_eval(node.value))
    raise RuntimeError("gateway/shipped.py: no SHIPPED tuple")


class BuildWithShippedData(build_py):
    """``build_py`` plus the copy of the shipped data into ``<build>/gateway/_shipped``."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads the repository's own folders
            return
        root = Path(__file__).resolve().parent
        target = Path(self.build_lib) / "gateway" / "_shipped"
        for relative in _shipped():
            source, dest = root / relative, target / relative
            dest.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(
                    source, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
                )
            else:
                shutil.copy2(source, dest)


setup(cmdclass={"build_py": BuildWithShippedData})
