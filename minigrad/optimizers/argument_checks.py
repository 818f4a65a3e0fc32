"""The argument checks every optimizer's constructor shares: numbers that are finite, in a
range, positive or None; flags that are bools. Each raises ValueError naming the argument and
the value received.
"""
import math
import numbers


def is_number(value):
    """True for a finite real number that is not a bool.

    Args:
        value (object): the argument's value.

    Returns:
        bool
    """
    return not isinstance(value, bool) and isinstance(value, numbers.Real) \
        and math.isfinite(value)


def check_optional_non_negative(value, argument):
    """``value`` if it is None or a number >= 0; ValueError naming ``argument`` otherwise.

    Args:
        value (object): the argument's value.
        argument (str): the argument's name, for the error message.
    """
    if value is None:
        return None
    if not is_number(value) or value < 0:
        raise ValueError(f"Argument `{argument}` must be None or a non-negative number. "
                         f"Received: {argument}={value!r}")
    return value


def check_in_range(value, argument, low, high, high_open=False, low_open=False):
    """A real number in [low, high] (``*_open``: that end excluded); ValueError if not.

    Args:
        value (object): the argument's value.
        argument (str): the argument's name, for the error message.
        low (float): the lower end.
        high (float): the upper end.
        high_open (bool, default False): exclude ``high``.
        low_open (bool, default False): exclude ``low``.
    """
    ok = is_number(value) and (low < value if low_open else low <= value) \
        and (value < high if high_open else value <= high)
    if not ok:
        interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise ValueError(f"Argument `{argument}` must be a number in {interval}. "
                         f"Received: {argument}={value!r}")
    return value


def check_positive(value, argument):
    """``value`` if it is a number > 0; ValueError naming ``argument`` otherwise.

    Args:
        value (object): the argument's value.
        argument (str): the argument's name, for the error message.
    """
    if not is_number(value) or value <= 0:
        raise ValueError(f"Argument `{argument}` must be a positive number. "
                         f"Received: {argument}={value!r}")
    return value


def check_bool(value, argument):
    """``value`` if it is a bool; ValueError naming ``argument`` otherwise.

    Args:
        value (object): the argument's value.
        argument (str): the argument's name, for the error message.
    """
    if not isinstance(value, bool):
        raise ValueError(f"Argument `{argument}` must be a boolean. "
                         f"Received: {argument}={value!r}")
    return value
