"""Default names: ``dense``, ``dense_1``, ... — one counter per base name, for layers,
models and optimizers alike; :func:`clear_session` starts every counter again."""

_name_counts = {}


def clear_session():
    """Reset the counters behind default names (``dense``, ``dense_1``, ..., ``sgd_1``)."""
    _name_counts.clear()


def unique_name(base):
    """``base`` the first time, then ``base_1``, ``base_2``, ...

    Args:
        base (str): the name asked for.

    Returns:
        str
    """
    count = _name_counts.get(base, 0)
    _name_counts[base] = count + 1
    return base if count == 0 else f"{base}_{count}"
