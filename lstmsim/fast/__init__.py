"""Fast paths of the 1997 LSTM step, bit-identical to the reference (lstmsim/kernel.py).

    single.py  one trial: the training loop with the step laid out for SIMD within a step
    lanes.py   several independent trials advanced together, one per SIMD lane (the tick loop;
               lane_state.py its arrays, lane_steps.py each lane's per-sequence work)
    step_code.py, unrolled.py   the step's arithmetic as code generated per topology
    looped.py  unrolled.py's lane step for nets with many sources (sums as loops over sources)
    batch.py   trials run in threads around one lane kernel, each lane taking the next trial

`kernel.run_sequence` stays the one readable statement of the algorithm; tests/test_fast.py runs
both fast paths against it (weights, logs, stop points, traces) on several tasks, topologies and
update modes. Every floating-point sum here adds the same terms in the same order as the reference,
and every unit uses the same `logistic.logistic`, so the results are equal bit for bit.
"""
