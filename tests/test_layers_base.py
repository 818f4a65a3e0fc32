"""The ``Layer`` base: names, weights, trainable, losses, set/get_weights, config, InputSpec,
the Keras 2 keywords (input_shape, batch_input_shape, batch_size, weights) and dtype.

A tiny layer ``Scale`` (``y = x * scale + offset``, one trainable and one non-trainable
weight) exercises the base without any convolution in the way.
"""
import numpy as np
import pytest

import minigrad as mg
from minigrad import constraints, initializers, regularizers
from minigrad.layers import InputSpec, Layer, clear_session


class Scale(Layer):
    """y = x * scale + offset over the last axis; ``offset`` is non-trainable."""

    def __init__(self, scale_regularizer=None, scale_initializer="ones", **kwargs):
        super().__init__(**kwargs)
        self.scale_regularizer = scale_regularizer
        self.scale_initializer = scale_initializer
        self.input_spec = InputSpec(min_ndim=2)

    def build(self, input_shape):
        n = input_shape[-1]
        self.scale = self.add_weight("scale", (n,), self.scale_initializer,
                                     regularizer=self.scale_regularizer,
                                     constraint=constraints.NonNeg())
        self.offset = self.add_weight("offset", (n,), "zeros", trainable=False)
        self.input_spec = InputSpec(min_ndim=2, axes={-1: n})

    def call(self, inputs):
        return inputs * self.scale + self.offset

    def get_config(self):
        config = super().get_config()
        config["scale_initializer"] = initializers.serialize(
            initializers.get(self.scale_initializer))
        return config


class Remember(Layer):
    """Records the ``training`` flag its call receives."""

    def call(self, inputs, training=None):
        self.seen = training
        return inputs


# ---------------------------------------------------------------------------- names

def test_default_names_are_snake_case_and_unique():
    clear_session()
    assert [Scale().name, Scale().name, Scale().name] == ["scale", "scale_1", "scale_2"]
    assert Remember().name == "remember"
    clear_session()
    assert Scale().name == "scale"
    assert Scale(name="custom").name == "custom"


@pytest.mark.parametrize("name", ["", 3])
def test_bad_names(name):
    with pytest.raises(ValueError, match="name"):
        Scale(name=name)


def test_unknown_keyword_and_bad_trainable():
    with pytest.raises(ValueError, match=r"Unrecognized keyword arguments passed to Scale: "
                                         r"\{'trainabel': True\}"):
        Scale(trainabel=True)
    with pytest.raises(ValueError, match=r"Expected `trainable` to be a boolean. Received: "
                                         r"trainable=1"):
        Scale(trainable=1)
    layer = Scale()
    with pytest.raises(ValueError, match="trainable='no'"):
        layer.trainable = "no"
    assert layer.trainable is True


# ---------------------------------------------------------------------------- weights

def test_add_weight_names_paths_flags():
    layer = Scale(name="s", scale_regularizer="l2")
    y = layer(np.ones((2, 3)))
    assert y.shape == (2, 3)
    assert [w.name for w in layer.weights] == ["scale", "offset"]
    assert [w.path for w in layer.weights] == ["s/scale", "s/offset"]
    assert layer.trainable_weights == [layer.scale]
    assert layer.non_trainable_weights == [layer.offset]
    assert layer.trainable_variables == layer.trainable_weights
    assert layer.variables == layer.weights
    assert isinstance(layer.scale.constraint, constraints.NonNeg)
    assert isinstance(layer.scale.regularizer, regularizers.L2)
    assert layer.offset.regularizer is None and layer.offset.constraint is None
    assert layer.count_params() == 6 and layer.built


def test_trainable_toggle_keeps_requested_flags():
    layer = Scale()
    layer.build((1, 4))
    layer.trainable = False
    assert layer.trainable_weights == [] and layer.non_trainable_weights == layer.weights
    assert not layer.scale.trainable
    layer.trainable = True
    assert layer.trainable_weights == [layer.scale] and not layer.offset.trainable


def test_trainable_false_at_construction():
    layer = Scale(trainable=False, scale_regularizer="l2")
    layer(np.ones((1, 2)))
    assert layer.trainable_weights == [] and not layer.scale.trainable
    assert layer.losses == []
    assert layer.get_config()["trainable"] is False


def test_count_params_needs_build():
    with pytest.raises(ValueError, match="isn't built"):
        Scale().count_params()


def test_get_weights_are_copies():
    layer = Scale()
    layer.build((1, 3))
    ws = layer.get_weights()
    ws[0][:] = 7
    assert (layer.get_weights()[0] == 1).all()


def test_set_weights_validates_everything_first():
    layer = Scale(name="s")
    layer.build((1, 3))
    with pytest.raises(ValueError, match=r"layer 's' with a weight list of length 1, but the "
                                         r"layer was expecting 2 weights"):
        layer.set_weights([np.zeros(3)])
    with pytest.raises(ValueError, match=r"weight shape \(3,\) is not compatible with provided "
                                         r"weight shape \(4,\)"):
        layer.set_weights([np.full(3, 5.0), np.zeros(4)])
    with pytest.raises(TypeError, match="dtype"):
        layer.set_weights([np.full(3, 5.0), np.array(["a", "b", "c"])])
    assert (layer.get_weights()[0] == 1).all()          # nothing changed
    layer.set_weights([mg.Tensor(np.full(3, 2.0)), [1, 2, 3]])
    np.testing.assert_array_equal(layer.get_weights()[1], [1, 2, 3])
    assert layer.offset.dtype == np.float32


def test_set_weights_does_not_apply_constraints():
    layer = Scale()
    layer.build((1, 2))
    layer.set_weights([np.array([-1.0, 2.0]), np.zeros(2)])
    np.testing.assert_array_equal(layer.get_weights()[0], [-1, 2])


def test_weights_keyword_applied_after_first_build():
    layer = Scale(weights=[np.array([2.0, 3.0]), np.array([1.0, 1.0])])
    y = layer(np.ones((1, 2)))
    np.testing.assert_allclose(y.numpy(), [[3, 4]])
    bad = Scale(weights=[np.ones(3), np.ones(3)])
    for _ in range(2):                # stays unbuilt: every call reports the mismatch
        with pytest.raises(ValueError, match="not compatible"):
            bad(np.ones((1, 2)))
        assert not bad.built and bad.weights == []
    assert bad(np.ones((1, 3))).shape == (1, 3)
    np.testing.assert_array_equal(bad.get_weights()[0], np.ones(3))


# ---------------------------------------------------------------------------- losses

def test_activity_penalty_divided_by_batch_then_weight_penalties():
    layer = Scale(activity_regularizer=regularizers.L2(0.5), scale_regularizer="l1",
                  dtype="float64")
    assert layer.losses == []
    x = np.arange(6.0).reshape(3, 2)
    y = layer(x).numpy()
    values = [float(v.numpy()) for v in layer.losses]
    np.testing.assert_allclose(values, [0.5 * (y ** 2).sum() / 3, 0.01 * 2], rtol=1e-6)
    layer(x)
    assert len(layer.losses) == 2                       # replaced, not accumulated
    layer.set_weights([np.array([3.0, -3.0]), np.zeros(2)])
    np.testing.assert_allclose(float(layer.losses[1].numpy()), 0.06, rtol=1e-6)


def test_losses_are_differentiable():
    layer = Scale(scale_regularizer=regularizers.L2(1.0), dtype="float64")
    layer.build((1, 2))
    layer.set_weights([np.array([1.0, 2.0]), np.zeros(2)])
    with mg.GradientTape() as tape:
        total = layer.losses[0]
    np.testing.assert_allclose(tape.gradient(total, layer.scale), [2.0, 4.0])


def test_weight_penalties_follow_a_subclass_own_trainable_weights():
    """``losses`` walks the layers once for both of its parts, but a layer that lists its
    trainable weights its own way still decides which weights' penalties count."""
    class OnlyOffset(Scale):
        @property
        def trainable_weights(self):
            return [self.offset]                   # the regularized scale left out

    class Shared(Scale):
        @property
        def weights(self):
            return [self.offset]                   # what trainable_weights filters

    for cls in (OnlyOffset, Shared):
        layer = cls(scale_regularizer="l2")
        layer(np.ones((2, 2)))
        assert layer.losses == []
    layer = Scale(scale_regularizer="l2")
    layer(np.ones((2, 2)))
    assert len(layer.losses) == 1


def test_activity_penalty_stays_when_frozen():
    layer = Scale(activity_regularizer="l2", scale_regularizer="l2", trainable=False)
    layer(np.ones((2, 2)))
    assert len(layer.losses) == 1


# ---------------------------------------------------------------------------- calling

def test_input_spec_messages():
    spec = InputSpec(ndim=3, axes={-1: 4})
    with pytest.raises(ValueError, match=r"layer 'l'.*expected ndim=3, found ndim=2. Full shape "
                                         r"received: \(2, 4\)"):
        spec.check("l", (2, 4))
    with pytest.raises(ValueError, match=r"expected axis -1 of input shape to have value 4"):
        spec.check("l", (2, 3, 5))
    spec.check("l", (2, None, 4))
    with pytest.raises(ValueError, match="expected min_ndim=2"):
        InputSpec(min_ndim=2).check("l", (3,))


def test_call_checks_spec_before_and_after_build():
    layer = Scale()
    with pytest.raises(ValueError, match="min_ndim=2"):
        layer(np.ones(3))
    assert not layer.built
    layer(np.ones((1, 3)))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 3"):
        layer(np.ones((1, 4)))


def test_inputs_converted_to_layer_dtype():
    layer = Scale()
    assert layer.dtype == np.float32
    assert layer(np.ones((1, 2))).dtype == np.float32
    assert layer(np.ones((1, 2), "int32")).dtype == np.float32
    layer64 = Scale(dtype="float64")
    x = mg.Tensor(np.ones((1, 2), "float32"))
    with mg.GradientTape() as tape:
        tape.watch(x)
        y = layer64(x).sum()
    assert y.dtype == np.float64
    assert tape.gradient(y, x).dtype == np.float32      # cast is differentiable
    with pytest.raises(TypeError, match="numeric"):
        layer(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="dtype"):
        Scale(dtype="int8")


def test_training_flag_forwarded_only_when_accepted():
    layer = Remember()
    layer(np.ones((1, 1)), training=True)
    assert layer.seen is True
    Scale()(np.ones((1, 1)), training=True)             # Scale.call has no `training`


def test_trainable_weights_watched_by_tape():
    layer = Scale(dtype="float64")
    x = np.array([[1.0, 2.0]])
    with mg.GradientTape() as tape:
        y = layer(x).sum()
    grads = tape.gradient(y, layer.weights)
    np.testing.assert_allclose(grads[0], [1.0, 2.0])


# ---------------------------------------------------------------------------- Keras 2 keywords

@pytest.mark.parametrize("kwargs, expected", [
    (dict(input_shape=(10, 4)), (None, 10, 4)),
    (dict(input_shape=5), (None, 5)),
    (dict(input_dim=7), (None, 7)),
    (dict(input_shape=(10, 4), batch_size=8), (8, 10, 4)),
    (dict(batch_input_shape=(8, 10, 4)), (8, 10, 4)),
    (dict(batch_input_shape=(None, 10, 4), batch_size=3), (3, 10, 4)),
    (dict(batch_input_shape=(None, None, 4)), (None, None, 4)),
    ({}, None),
])
def test_batch_input_shape_resolution(kwargs, expected):
    layer = Scale(**kwargs)
    assert layer.input_shape_hint == expected
    if expected is not None:
        assert layer.get_config()["batch_input_shape"] == expected


@pytest.mark.parametrize("kwargs, match", [
    (dict(batch_size=4), "batch_size was given without input_shape"),
    (dict(batch_input_shape=(4, 2), batch_size=3), "contradicts"),
    (dict(input_shape=(0, 2)), "positive"),
])
def test_batch_input_shape_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Scale(**kwargs)


def test_fixed_batch_size_enforced():
    layer = Scale(batch_input_shape=(4, 2))
    assert layer(np.ones((4, 2))).shape == (4, 2)
    with pytest.raises(ValueError, match=r"batch_size=4.*received a batch of 3"):
        layer(np.ones((3, 2)))
    free = Scale(input_shape=(2,))
    assert free(np.ones((5, 2))).shape == (5, 2)


# ---------------------------------------------------------------------------- config

def test_config_round_trip_and_build_config():
    layer = Scale(name="s", trainable=False, dtype="float64", input_shape=(3,),
                  activity_regularizer="l2", scale_initializer="he_normal")
    config = layer.get_config()
    assert config["name"] == "s" and config["dtype"] == "float64"
    assert config["activity_regularizer"]["class_name"] == "L2"
    clone = Scale.from_config(config)
    assert clone.get_config() == config and not clone.built
    assert isinstance(clone.activity_regularizer, regularizers.L2)
    layer(np.ones((2, 3)))
    assert layer.get_build_config() == {"input_shape": (2, 3)}
    clone.build_from_config(layer.get_build_config())
    assert clone.built and [w.shape for w in clone.weights] == [(3,), (3,)]


def test_compute_output_shape_default_and_repr():
    layer = Scale(name="s")
    assert layer.compute_output_shape((None, 3)) == (None, 3)
    assert "Scale" in repr(layer) and "'s'" in repr(layer)


def test_build_called_by_hand_counts_even_without_setting_built():
    """A custom layer whose build() forgets `self.built = True` is still built once."""
    import numpy as np
    from minigrad.layers import Layer

    class Scale(Layer):
        def build(self, input_shape):
            self.scale = self.add_weight("scale", (input_shape[-1],), initializer="ones")

        def call(self, inputs):
            return inputs * self.scale

    layer = Scale()
    layer.build((2, 3))
    assert layer.built and len(layer.weights) == 1
    out = layer(np.ones((2, 3), "float32"))
    assert len(layer.weights) == 1 and out.shape == (2, 3)
