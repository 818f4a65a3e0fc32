"""Default names: one counter per base name, for layers and optimizers; clear_session resets all."""
import minigrad as mg
from minigrad import layers, optimizers
from minigrad.naming import unique_name


def test_counters_per_base_name_and_clear_session():
    mg.clear_session()
    assert [unique_name("thing"), unique_name("thing"), unique_name("other")] == \
        ["thing", "thing_1", "other"]
    assert [layers.Dense(2).name, layers.Dense(2).name] == ["dense", "dense_1"]
    assert [optimizers.SGD().name, optimizers.SGD().name] == ["sgd", "sgd_1"]
    mg.clear_session()                      # a notebook cell run twice names things the same
    assert layers.Dense(2).name == "dense" and optimizers.SGD().name == "sgd"
    assert mg.clear_session is mg.layers.clear_session
