"""bonkl command line: estimate the KL and win rate of your own best-of-n runs; the claims table; the audit;
re-scoring another engine's pool.

Each subcommand is a module of this package with ``add_parser(commands)``, which declares its flags
(each flag's range checked by its argparse type), and ``run(args) -> int``. :func:`main` is the one
place where a bad input becomes one line ``bonkl <command>: error: ...`` and exit 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from ..columns import describe
from . import audit, claims, estimate, rescore


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bonkl", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    estimate.add_parser(commands)
    columns = commands.add_parser("columns", help="what each column of bonkl estimate's table estimates")
    columns.set_defaults(func=lambda args: print(describe()) or 0)
    claims.add_parser(commands)
    audit.add_parser(commands)
    rescore.add_parser(commands)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    try:
        return args.func(args)
    except (ValueError, OSError) as error:  # bad input or an unwritable path: one line, no traceback
        print(f"bonkl {args.command}: error: {error}", file=sys.stderr)
        return 2
