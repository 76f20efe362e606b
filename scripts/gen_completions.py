"""Write completions/dpictl.{bash,zsh,fish} from the current Typer app."""

from __future__ import annotations

from pathlib import Path

from dpictl.cli import app
from dpictl.cli.completion import SHELLS, render

OUT = Path(__file__).resolve().parents[1] / "completions"

if __name__ == "__main__":
    for shell in SHELLS:
        (OUT / f"dpictl.{shell}").write_text(render(app, shell))
        print(f"wrote completions/dpictl.{shell}")
