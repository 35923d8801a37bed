"""Ship overlay/, admin/, the default config and the systemd unit template inside the wheel as storyd/static/.

pyproject.toml holds all metadata; this only adds a build step so that a plain
`pip install .` (not only an editable install) serves the pages and the default config.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).parent


class BuildWithStatic(build_py):
    def run(self) -> None:
        super().run()
        static = Path(self.build_lib) / "storyd" / "static"
        for folder in ("overlay", "admin"):
            target = static / folder
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(ROOT / folder, target)
        static.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / "config" / "storyd.toml", static / "storyd.toml")
        shutil.copy2(ROOT / "contrib" / "systemd" / "storyd.service", static / "storyd.service")


setup(cmdclass={"build_py": BuildWithStatic})
