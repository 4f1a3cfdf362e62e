"""Long-lag stress test: the adding problem at T = 1000 (Table 7) and Exp. 2c at q = 1000 (Table 3)
over many seeds, on all cores or a Dask cluster, printed side by side with the paper.

    python docs/examples/long_lag_stress.py [trials=10] [seed=0] [executor=local|dask|dask://HOST:PORT]
                                            [workers=2] [any run key=value, e.g. max_sequences=...]

The paper's own numbers need up to millions of sequences per trial at these lags (hours per trial
on one core); `trials=2 max_sequences=2000 test_size=100` is a smoke check of a minute or two.
Rerunning the same command resumes: finished trials are kept in runs/sweeps/, the others run.
"""

import sys

import lstmsim
from lstmsim.report import print_side_by_side, rows_from_summaries


def main(argv: list[str]) -> None:
    opts = dict(arg.split("=", 1) for arg in argv)
    common = dict(trials=int(opts.pop("trials", 10)), seed=int(opts.pop("seed", 0)),
                  executor=opts.pop("executor", "local"),
                  workers=int(opts.pop("workers")) if "workers" in opts else None,
                  progress=opts.pop("progress", "auto"), **opts)  # the rest: run keys
    summaries = []
    # a list value is an axis (T=[500, 1000] runs both lags); every summary carries its "setting"
    summaries += lstmsim.sweep("adding", T=1000, **common)
    summaries += lstmsim.sweep("lag2c", q=1000, p=1000, **common)
    print_side_by_side("Long-lag stress test (ours vs paper)", rows_from_summaries(summaries))


if __name__ == "__main__":
    main(sys.argv[1:])
