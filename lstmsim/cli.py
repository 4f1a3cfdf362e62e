"""Command line: `python -m lstmsim [COMMAND] key=value ...`.

Without a command, trains one network (`task=adding` by default). Any UserError becomes one line
on stderr and exit code 2; nothing else is caught, so a real bug still shows its traceback.
"""

from __future__ import annotations

import sys
from typing import Callable

from .errors import UserError

USAGE = """usage: python -m lstmsim [task=NAME] [key=value ...]     train one network
       python -m lstmsim list                               the tasks and their paper numbers
       python -m lstmsim sweep task=adding T=100,500 trials=10 [workers=2] [executor=local|dask]
       python -m lstmsim reproduce table=N [trials=...] [max_sequences=...]   a paper table
       python -m lstmsim inspect RUN                        a run's trace.h5 summarised
       python -m lstmsim plot RUN [what=curve|cells|gates|weights] [seq=N] [out=FILE.png]
       python -m lstmsim resume RUN [max_sequences=N]       continue a killed or capped run
see README.md for every command and key"""


def cmd_run(args: list[str]) -> int:
    from . import config
    from .runner import run_config

    overrides = config.parse_overrides(args)
    if "resume" in overrides:  # resume=RUN [max_sequences=...]
        return cmd_resume(args)
    cfg = config.load("adding", overrides)
    summary = run_config(cfg)
    print(summary["run_dir"])
    return 0 if summary["status"] in ("solved", "capped", "completed") else 1


def cmd_list(args: list[str]) -> int:
    from .tasklist import print_task_list

    if args:
        raise UserError(f"list takes no arguments, got {' '.join(args)!r}")
    print_task_list()
    return 0


def cmd_sweep(args: list[str]) -> int:
    from .sweep_api import cmd_sweep as run_sweep_command

    return run_sweep_command(args)


def cmd_reproduce(args: list[str]) -> int:
    from .sweep_api import cmd_reproduce as run_reproduce_command

    return run_reproduce_command(args)


COMMANDS: dict[str, Callable[[list[str]], int]] = {"list": cmd_list}
COMMANDS.update(sweep=cmd_sweep, reproduce=cmd_reproduce)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help", "help"):
        print(USAGE)
        return 0
    try:
        if argv and "=" not in argv[0]:
            name = argv[0]
            if name not in COMMANDS:
                raise UserError(f"unknown command {name!r}; choose one of {', '.join(COMMANDS)} "
                                "or give key=value settings")
            return COMMANDS[name](argv[1:])
        return cmd_run(argv)
    except UserError as exc:
        print(f"lstmsim: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lstmsim: interrupted", file=sys.stderr)
        return 130


# ---- reading a run's trace.h5 (lstmsim/inspect_cmd.py, lstmsim/plot_cmd.py) ----------------------
def cmd_inspect(args: list[str]) -> int:
    from .inspect_cmd import cmd_inspect as inspect_command

    return inspect_command(args)


def cmd_plot(args: list[str]) -> int:
    from .plot_cmd import cmd_plot as plot_command

    return plot_command(args)


def cmd_resume(args: list[str]) -> int:
    from .resume_cmd import cmd_resume as resume_command

    return resume_command(args)


COMMANDS.update(inspect=cmd_inspect, plot=cmd_plot, resume=cmd_resume)
