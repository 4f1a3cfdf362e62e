"""Training sessions of the non-1997 models: lstmsim.training.Training with another network,
scratch and compiled loop. `Training(cfg)` returns one of these when cfg selects such a model
(lstmsim.models.training_class); everything else (random streams, generators, stop rules, test,
periodic checks, runner, sweeps) is shared with the 1997 LSTM.
"""

from __future__ import annotations

from ..training import Training, init_spec_of, topology_of
from .rnn import RNNTopology, build_rnn, make_rnn_scratch, rnn_weight_count, run_chunk_rnn
from .variant_kernel import run_chunk_variant
from .variants import VariantTopology, build_variant, make_variant_scratch, variant_weight_count


class RNNTraining(Training):
    """A conventional recurrent net (model=rnn or elman), NOT an LSTM (models/rnn.py)."""

    chunk_loop = staticmethod(run_chunk_rnn)

    def make_net(self, rng):
        from . import learner_of

        cfg = self.cfg
        n_in, n_out = self.kind.sizes(cfg)
        top = RNNTopology(n_in=n_in, n_hidden=int(cfg.hidden_units), n_out=n_out,
                          connectivity=str(cfg.connectivity), bias=str(cfg.bias),
                          recurrent_outputs=bool(cfg.recurrent_outputs))
        net = build_rnn(top, float(cfg.init_range), rng, learner_of(cfg))
        return top, rnn_weight_count(top), net

    def new_scratch(self):
        return make_rnn_scratch(self.net, self.max_length)


class VariantTraining(Training):
    """An LSTM with forget gates, peepholes or the full gradient: NOT 1997 (models/variants.py)."""

    chunk_loop = staticmethod(run_chunk_variant)

    def make_net(self, rng):
        cfg = self.cfg
        base = topology_of(cfg)
        top = VariantTopology(n_in=base.n_in, block_sizes=base.block_sizes, n_out=base.n_out,
                              n_hidden=base.n_hidden, connectivity=base.connectivity,
                              bias=base.bias, output_gates=base.output_gates, g=base.g, h=base.h,
                              forget_gate=bool(cfg.forget_gate), peepholes=bool(cfg.peepholes))
        net = build_variant(top, init_spec_of(cfg), rng, forget_bias=list(cfg.forget_gate_bias),
                            full=cfg.gradient == "full")
        return top, variant_weight_count(top), net

    def new_scratch(self):
        return make_variant_scratch(self.net, self.max_length)
