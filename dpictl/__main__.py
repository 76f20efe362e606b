"""`python -m dpictl` runs the CLI."""

from dpictl.cli import main

main()
