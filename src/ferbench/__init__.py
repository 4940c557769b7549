"""ferbench: honest benchmarks of facial-expression recognition on low-quality faces, with their cost."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ferbench")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"
