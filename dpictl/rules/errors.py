"""How a rule that did not load is reported: where it is, which rule, and why.

`RuleSyntaxError` (in `dpictl.errors`) is what the parser raises for one rule; the loader
turns it into a `RuleLoadError` record and carries on with the next rule.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from dpictl.errors import RuleSyntaxError


@dataclass(frozen=True, slots=True)
class RuleLoadError:
    """One rule that failed to load (or, in `RuleSet.warnings`, loaded with a caveat)."""

    file: str
    line: int
    sid: int | None
    reason: str

    @classmethod
    def from_syntax_error(cls, err: RuleSyntaxError, file: str, line: int) -> RuleLoadError:
        return cls(file=err.file or file, line=err.line or line, sid=err.sid,
                   reason=err.message)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def __str__(self) -> str:
        sid = f" (sid {self.sid})" if self.sid is not None else ""
        return f"{self.file}:{self.line}{sid}: {self.reason}"


__all__ = ["RuleLoadError", "RuleSyntaxError"]
