"""``bonkl claims``: the paper's claims checked on random models (:mod:`bonkl.claims`)."""

from __future__ import annotations

import sys

from .flags import whole_number

MIN_MC_DRAWS = 100  # the normal interval of the Theorem 6.3 check needs a sample of some size


def add_parser(commands) -> None:
    claims = commands.add_parser("claims", help="check the paper's numerical claims on random models")
    claims.add_argument("--models", type=whole_number(1), default=10_000, help="number of random models (>= 1)")
    claims.add_argument("--seed", type=whole_number(0), default=0)
    claims.add_argument(
        "--mc-draws",
        type=whole_number(MIN_MC_DRAWS),
        default=1_000_000,
        help=f"draws per p_tau for Theorem 6.3 (>= {MIN_MC_DRAWS})",
    )
    claims.add_argument("--workers", type=whole_number(1), default=None, help="processes (default: CPU count)")
    claims.add_argument("--out", help="table to write (.csv, .parquet or .jsonl)")
    claims.add_argument("--markdown", help="Markdown file to write")
    claims.add_argument("--quiet", action="store_true")
    claims.set_defaults(func=run)


def run(args) -> int:
    """The claims table; exit 0 when no claim is violated, 1 otherwise."""
    from ..claims import claims_report, shown
    from ..files.atomic import check_outputs, table_format

    if args.out:
        table_format(args.out)
    check_outputs([], [args.out, args.markdown])  # both checked before minutes of work
    table, summary = claims_report(
        args.models, args.seed, args.mc_draws, workers=args.workers, out=args.out, markdown=args.markdown
    )
    if not args.quiet:
        print(shown(table))
        print(summary, file=sys.stderr)
    return 0 if table["violations"].sum() == 0 else 1
