"""The ``qpolicy`` command.

Each subcommand lives in the module that implements it; this file only lists them, so
``qpolicy --help`` is instant and a subcommand imports only what it needs.  A subcommand module
provides ``add_arguments(parser)`` and ``run(args) -> int``.
"""
import argparse
import importlib
import sys

import qpolicy

#: name -> (module implementing it, one-line help)
SUBCOMMANDS = {
    "train": ("qpolicy.learn.command", "learn nonlocal-game strategies from a referee (REINFORCE)"),
    "reproduce": ("qpolicy.studies.reproduce", "reproduce the paper's headline claims, with figures"),
    "bounds": ("qpolicy.bounds.command", "classical, see-saw, NPA and non-signaling values of a game"),
    "verify": ("qpolicy.verify", "is a policy table beyond shared randomness? certificates and bounds"),
    "resources": ("qpolicy.resources_command", "thresholds under noise, detection loss, restricted measurements"),
    "certify": ("qpolicy.certify_command", "p-value that sampled rounds are beyond shared randomness"),
    "sweep": ("qpolicy.studies.command", "run a study grid through the resumable result store (local pool or Dask)"),
}


def _parser():
    parser = argparse.ArgumentParser(
        prog="qpolicy",
        description="Learn multi-agent policies that coordinate through shared quantum "
                    "entanglement, and check them against certified bounds.",
    )
    parser.add_argument("--version", action="version", version=f"qpolicy {qpolicy.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in SUBCOMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser, sub


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    parser, _ = _parser()
    if not argv or argv[0] not in SUBCOMMANDS:
        args = parser.parse_args(argv)      # --help, --version, or an error for unknown commands
        parser.print_help()
        return 0 if args.command is None and not argv else 2
    name = argv[0]
    module_name, help_text = SUBCOMMANDS[name]
    module = importlib.import_module(module_name)
    sub_parser = argparse.ArgumentParser(prog=f"qpolicy {name}", description=help_text)
    module.add_arguments(sub_parser)
    return int(module.run(sub_parser.parse_args(argv[1:])) or 0)


if __name__ == "__main__":
    sys.exit(main())
