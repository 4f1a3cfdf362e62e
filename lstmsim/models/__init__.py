"""Models other than the 1997 LSTM (issue 8): the paper's competitors and later LSTM variants.

None of these is the 1997 LSTM; every run of one says so (`describe`). Config keys (lstmsim/config.py):

| key | values | meaning |
|---|---|---|
| `model` | `lstm` (default), `rnn`, `elman` | `rnn`: conventional recurrent net of logistic units (models/rnn.py); `elman`: Elman net |
| `learner` | `auto`, `rtrl`, `bptt` | for `model=rnn`: real-time recurrent learning (auto) or BPTT over each sequence |
| `hidden_units` | N | rnn/elman: units of the recurrent layer (for the LSTM: conventional hidden units) |
| `connectivity` | `F`, `B` | rnn: fully recurrent layer (F) or the Exp. 2 baseline's layering, self-recurrent hidden units (B) |
| `bias` | `none`, `hidden`, `all` | rnn/elman: which units have a bias weight |
| `recurrent_outputs` | false | rnn: the outputs are units of the recurrent layer (Williams & Zipser) |
| `gradient` | `truncated` (1997), `full` | LSTM: NOT 1997 when `full`: exact gradient by BPTT over the sequence |
| `forget_gate` | false | LSTM: NOT 1997 when true: forget gates (Gers et al. 2000) |
| `forget_gate_bias` | [] | per block; empty: +1.0 each; `r`: random |
| `peepholes` | false | LSTM: NOT 1997 when true: peephole connections (Gers et al. 2002) |

`update` applies to every model: RTRL and Elman nets learn per step (`update=step`, the real-time
algorithm; the RTRL presets set it) or per sequence; BPTT and the full LSTM gradient only per
sequence. For rnn and elman the LSTM keys (`blocks`, gate biases, `g`, `h`, `output_gates`,
`freeze`) are ignored, sequential construction (`grow`, Exps. 2a/2b) is switched off, and so are
traces (trace.h5 has no layout for a net without memory cells yet).
"""

from __future__ import annotations

from ..errors import UserError

MODELS = ("lstm", "rnn", "elman")
LEARNER_CHOICES = ("auto", "rtrl", "bptt")
GRADIENTS = ("truncated", "full")


def model_of(cfg) -> str:
    return str(cfg.get("model", "lstm"))


def is_variant(cfg) -> bool:
    """An LSTM that is not the 1997 one (forget gates, peepholes or the full gradient)."""
    return model_of(cfg) == "lstm" and (cfg.get("gradient", "truncated") == "full"
                                         or bool(cfg.get("forget_gate", False))
                                         or bool(cfg.get("peepholes", False)))


def learner_of(cfg) -> str:
    if model_of(cfg) == "elman":
        return "elman"
    return "rtrl" if cfg.learner == "auto" else str(cfg.learner)


def describe(cfg) -> str:
    """One line naming the model; says NOT 1997 for everything but the 1997 LSTM."""
    model = model_of(cfg)
    if model == "lstm":
        if not is_variant(cfg):
            return "LSTM 1997 (truncated gradient, no forget gate, no peepholes)"
        parts = []
        if cfg.forget_gate:
            parts.append("forget gates (Gers et al. 2000)")
        if cfg.peepholes:
            parts.append("peepholes (Gers et al. 2002)")
        parts.append("full gradient (BPTT over the sequence)" if cfg.gradient == "full"
                     else "truncated gradient")
        return "LSTM variant, NOT 1997: " + ", ".join(parts)
    learner = learner_of(cfg)
    if model == "elman":
        what = f"Elman net, {cfg.hidden_units} hidden units (one-step backprop)"
    else:
        layer = ("fully recurrent layer incl. the outputs (Williams & Zipser)" if cfg.recurrent_outputs
                 else "fully recurrent hidden layer" if cfg.connectivity == "F"
                 else "self-recurrent hidden units, each layer fed by all below")
        what = f"recurrent net, {cfg.hidden_units} hidden units, {layer}, {learner.upper()}"
    return f"NOT LSTM: {what}, update={cfg['update']}, bias={cfg.bias}"


def resolve(cfg, overrides: dict) -> None:
    """Settings that follow from the model (called by config.load before validation).

    rnn/elman: the LSTM's sequential construction (`grow`) and traces are switched off; asking
    for either explicitly is an error.
    """
    if model_of(cfg) == "lstm":
        return
    if "grow" in cfg and cfg.grow:
        if _explicit(overrides, "grow"):
            raise UserError(f"grow=true: sequential construction adds an LSTM memory cell; "
                            f"model={model_of(cfg)} has none")
        cfg.grow = False
    if cfg.trace.enabled:
        if _explicit(overrides, "trace.enabled"):
            raise UserError(f"trace.enabled=true: traces of model={model_of(cfg)} are not "
                            "supported yet (trace.h5 needs memory cells)")
        cfg.trace.enabled = False


def _explicit(overrides: dict, key: str) -> bool:
    return key in overrides and str(overrides[key]).strip().lower() in ("true", "1", "yes")


def validate(cfg, validate_lstm_network) -> None:
    """Model keys; then the network the model will build (`validate_lstm_network` for the LSTM)."""
    model = model_of(cfg)
    for key, choices in (("model", MODELS), ("learner", LEARNER_CHOICES),
                         ("gradient", GRADIENTS)):
        if cfg[key] not in choices:
            raise UserError(f"{key}={cfg[key]!r}: choose one of {', '.join(choices)}")
    if model == "lstm":
        if cfg.learner != "auto":
            raise UserError(f"learner={cfg.learner}: for model=rnn only (the LSTM's learning rule "
                            "is chosen with gradient=truncated|full)")
        if cfg.recurrent_outputs:
            raise UserError("recurrent_outputs=true: for model=rnn only")
        validate_lstm_network(cfg)
        if is_variant(cfg):
            from .variants import check_variant_update

            check_variant_update(cfg.gradient == "full", str(cfg["update"]))
            _throwaway(cfg).make_net(_rng0())
        elif list(cfg.forget_gate_bias):
            raise UserError("forget_gate_bias: needs forget_gate=true")
        return
    for key, default in (("gradient", "truncated"), ("forget_gate", False), ("peepholes", False)):
        if cfg[key] != default:
            raise UserError(f"{key}={cfg[key]}: an LSTM variant switch; model={model} is no LSTM")
    if list(cfg.freeze):
        raise UserError(f"freeze: a diagnostic of the LSTM's cell inputs; model={model} has none")
    if cfg.hidden_units < 1:
        raise UserError(f"hidden_units={cfg.hidden_units}: model={model} needs hidden_units >= 1")
    if cfg["update"] == "delayed":
        raise UserError("update=delayed (JKU lstm.c's timing) is for the 1997 LSTM only")
    if model == "elman":
        if cfg.learner != "auto":
            raise UserError(f"learner={cfg.learner}: an Elman net learns by one-step backprop; "
                            "for RTRL or BPTT use model=rnn")
        if cfg.connectivity != "F" or cfg.recurrent_outputs:
            raise UserError("model=elman: the context units copy the whole hidden layer; use "
                            "connectivity=F without recurrent_outputs")
    elif cfg.learner == "bptt" and cfg["update"] != "sequence":
        raise UserError(f"update={cfg['update']}: learner=bptt computes the gradient of a whole "
                        "sequence and applies it at its end; use update=sequence")
    _throwaway(cfg).make_net(_rng0())


def training_class(cfg):
    """The Training subclass that runs this config's model (None: the 1997 LSTM's Training)."""
    if model_of(cfg) in ("rnn", "elman"):
        from .training import RNNTraining

        return RNNTraining
    if is_variant(cfg):
        from .training import VariantTraining

        return VariantTraining
    return None


def _throwaway(cfg):
    """An object whose make_net builds cfg's network (to surface topology errors at load time)."""
    from ..task_kinds import TASK_KINDS
    from .training import RNNTraining, VariantTraining

    cls = RNNTraining if model_of(cfg) in ("rnn", "elman") else VariantTraining
    obj = object.__new__(cls)
    obj.cfg, obj.kind = cfg, TASK_KINDS[cfg.kind]
    return obj


def _rng0():
    import numpy as np

    return np.random.default_rng(0)
