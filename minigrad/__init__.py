"""minigrad: an educational tape-based autodiff engine with Cython convolution kernels.

    import minigrad as mg
    x = mg.Tensor([1.0, 2.0, 3.0])
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = (x * x).sum()
    tape.gradient(y, x)        # Tensor([2., 4., 6.], dtype=float64)
"""
from . import config, ops  # noqa: F401
from .gradcheck import GradcheckError, gradcheck, gradgradcheck, hessian, hvp  # noqa: F401
from .tape import GradientTape  # noqa: F401
from .tensor import Tensor, Variable, as_tensor  # noqa: F401
from . import activations, constraints, initializers, regularizers  # noqa: F401,E402
from . import optimizers, layers, datasets, losses, metrics, random  # noqa: F401,E402
from . import callbacks, drawing, inspection, models, plotting, saving  # noqa: F401,E402
from .drawing import draw_tape  # noqa: F401,E402
from .layers import Input, clear_session  # noqa: F401,E402
from .models import Model, Sequential  # noqa: F401,E402
from .random import set_random_seed  # noqa: F401,E402

__version__ = "0.1.0"
