"""``python -m nextbest`` runs the command line."""

from nextbest.cli import main

main()
