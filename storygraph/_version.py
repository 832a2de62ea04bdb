"""The package version, in a module of its own: every module that records it imports it from
here, not from the package ``__init__`` (which imports the pipeline lazily)."""

__version__ = "0.1.0"
