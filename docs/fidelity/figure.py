"""Figure for docs/fidelity.md: output weights and running error at T=100 vs T=500, from traces.

  python -m lstmsim task=adding T=500 correct=squared max_sequences=300000 trace.weights_every=5000 out=/tmp/fidtrace
  python -m lstmsim task=adding T=100 correct=squared max_sequences=150000 trace.weights_every=2500 out=/tmp/fidtrace
  python docs/fidelity/figure.py RUN_T500 RUN_T100 docs/fidelity/output-weights.png
"""

import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import lstmsim


def main(run500, run100, out):
    fig, axes = plt.subplots(2, 2, figsize=(10, 6), sharex="col")
    for col, run in enumerate((run100, run500)):
        tr = lstmsim.load_trace(run)
        T = tr.config["T"]
        w = tr.weights
        cells = [i for i, name in enumerate(tr.labels["out_source"]) if name.startswith("c")]
        for i in cells:
            axes[0, col].plot(w["sequences"], np.abs(w["W_o"][:, 0, i]),
                              label=tr.labels["out_source"][i])
        axes[0, col].set_title(f"T={T}: |weight| cell -> output")
        axes[0, col].set_yscale("log")
        axes[0, col].legend(fontsize=7)
        err = tr.train["abs_error"]
        k = 2000
        running = np.convolve(err, np.ones(k) / k, mode="valid")
        axes[1, col].plot(np.arange(k, len(err) + 1)[::50], running[::50])
        axes[1, col].axhline(1 / 6, ls="--", c="gray", lw=0.8)
        axes[1, col].set_title(f"T={T}: mean |error| of the last 2000 sequences")
        axes[1, col].set_xlabel("training sequences")
    fig.tight_layout()
    fig.savefig(out, dpi=80)
    print(out)


if __name__ == "__main__":
    main(*sys.argv[1:4])
