"""`python -m library_cli`: the same as the `library` command."""

from library_cli.cli import main

main()
