"""Keras → ONNX: inputs keep their names, outputs take their layers' names; one `batch` axis."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from contract.metadata import TensorSpec
from export import convert
from tests.export.graphs import relu_graph


def test_outputs_are_renamed_and_rewired() -> None:
    proto = relu_graph(output="Identity:0")
    convert.rename_outputs(proto, ["probabilities"])
    assert [o.name for o in proto.graph.output] == ["probabilities"]
    assert list(proto.graph.node[0].output) == ["probabilities"]


def test_the_batch_axis_gets_its_name() -> None:
    proto = relu_graph(batch="unk__7")
    convert.name_batch_axis(proto)
    assert convert.tensor_specs(list(proto.graph.input)) == [
        TensorSpec(name="x", dtype="float32", shape=["batch", 3])
    ]


@pytest.mark.slow
def test_a_two_input_model_converts_and_matches_keras() -> None:
    import keras

    noise = keras.Input((4,), name="noise")
    label = keras.Input((), dtype="int64", name="label")
    embedded = keras.layers.Embedding(10, 2)(label)
    joined = keras.layers.Concatenate()([noise, embedded])
    model = keras.Model([noise, label], keras.layers.Dense(3, name="image")(joined))
    proto = convert.to_onnx(model)

    specs = convert.tensor_specs(list(proto.graph.input))
    assert [(s.name, s.dtype, s.shape) for s in specs] == [
        ("noise", "float32", ["batch", 4]),
        ("label", "int64", ["batch"]),
    ]
    assert convert.tensor_specs(list(proto.graph.output))[0].shape == ["batch", 3]
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    for batch in (1, 5):
        feed = {"noise": np.ones((batch, 4), np.float32), "label": np.arange(batch) % 10}
        (onnx_out,) = session.run(["image"], feed)
        keras_out = model.predict([feed["noise"], feed["label"]], verbose=0)
        np.testing.assert_allclose(onnx_out, keras_out, atol=1e-5)
