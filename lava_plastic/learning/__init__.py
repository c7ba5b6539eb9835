"""The rule-generic core: one network description, one per-layer plan, the neuron and synapse
arithmetic written once, and one batched engine. Imports neither Lava nor numpy-only code in its
arithmetic (see :mod:`lava_plastic.xp`)."""
from lava_plastic.learning.engine import (TrainState, accuracy, encode_input, init_state,
                                          init_weights, make_optimizer_for, predict, run_batch,
                                          train_epoch)
from lava_plastic.learning.network import PlasticNetwork
from lava_plastic.learning.plan import LayerPlan, Plan, compile_plan

__all__ = ["PlasticNetwork", "LayerPlan", "Plan", "compile_plan", "TrainState", "init_state",
           "init_weights", "encode_input", "run_batch", "train_epoch", "predict", "accuracy",
           "make_optimizer_for"]
