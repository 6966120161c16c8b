"""How right is an explanation: faithfulness, robustness, localisation against ground truth,
sanity checks and complexity, batched through the model; and the benchmark over the zoo.

``infidelity``, ``infidelity_perturb_func_decorator`` and ``sensitivity_max`` keep Captum
0.9's names, signatures and numbers.
"""

from mmattr.metrics.infidelity import infidelity, infidelity_perturb_func_decorator
from mmattr.metrics.sensitivity import sensitivity_max

__all__ = ["infidelity", "infidelity_perturb_func_decorator", "sensitivity_max"]
