"""``python -m storygraph`` runs the command line."""

from .cli import run

run()
