"""Write the OAuth scopes Coupa's Swagger files document to the sandbox's data file.

    python tools/sandbox_scopes.py [--swagger ../shared/coupa-docs/swagger] [--check]

Each Swagger module lists the scopes of the whole API once, under ``securityDefinitions``
(no operation names its own). The sandbox's default client holds all of them, so a client
that asks for a scope Coupa documents gets a token; ``--check`` exits 1 when the shipped file
differs from what the Swagger files say.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SWAGGER = ROOT.parent / "shared" / "coupa-docs" / "swagger"
TARGET = ROOT / "src" / "coupa_connector" / "sandbox" / "scopes.json"


def documented_scopes(swagger: Path) -> dict[str, str]:
    """Every scope the Swagger files define, with its description (newest release wins)."""
    found: dict[str, str] = {}
    for path in sorted(swagger.glob("*/*.json")):
        spec = json.loads(path.read_text(encoding="utf-8"))
        for definition in (spec.get("securityDefinitions") or {}).values():
            for name, text in (definition.get("scopes") or {}).items():
                found[str(name)] = str(text or "")
    return dict(sorted(found.items()))


def render(scopes: dict[str, str]) -> str:
    return json.dumps({"scopes": scopes}, indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--swagger", type=Path, default=DEFAULT_SWAGGER)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    scopes = documented_scopes(args.swagger)
    text = render(scopes)
    if args.check:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET} is out of date: run tools/sandbox_scopes.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET} ({len(scopes)} scopes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
