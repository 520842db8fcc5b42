"""A model repository of tiny hand-built ONNX graphs with the real names, tensors and metadata.

In-process tests run against it in milliseconds, with no trained model on disk. The sentiment
graph sums a per-word weight, so "good" really is positive and "bad" negative.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from contract.metadata import (
    BATCH_AXIS,
    Batching,
    ImagePreprocessing,
    ModelMetadata,
    NoisePreprocessing,
    Parity,
    Preprocessing,
    TensorSpec,
    TextPreprocessing,
)
from contract.repository import ONNX_FILE, sha256_file, write_metadata
from contract.text import STANDARDISATION_RULES, Vocabulary

OPSET = 17
LATENT = 100
SEQUENCE = 200
WORDS = ("good", "great", "bad", "awful", "movie", "the")
WORD_WEIGHTS = {"good": 2.0, "great": 3.0, "bad": -2.0, "awful": -3.0}
TINY_BATCH = 16  # metadata.batching.max_batch_size: small, so requests of 64 get split

DIGIT_NAMES = ("digits-mlp", "digits-cnn", "digits-resnet")
SENTIMENT_NAMES = ("sentiment-rnn", "sentiment-lstm", "sentiment-transformer")
GAN_NAMES = ("gan-dcgan", "gan-conditional")
ALL_NAMES = DIGIT_NAMES + SENTIMENT_NAMES + GAN_NAMES


def build_repository(
    root: Path, names: tuple[str, ...] = ALL_NAMES, *, version: int = 1, slow: bool = False
) -> Path:
    """Write `version` of each named model under `root` and return `root`.

    Versions differ observably: digit weights come from another seed, and from version 2 on the
    sentiment models list their words in reverse and flip their weights ("good" is negative), so
    a text scored with one version's vocabulary and another's session would get 0.5.
    `slow` gives digit models a fixed ~0.07 s of matrix products per batch, for drain tests.
    """
    for seed, name in enumerate(names):
        folder = root / name / str(version)
        folder.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(seed + 100 * (version - 1))
        if name in DIGIT_NAMES:
            graph = _slow(_digit_graph(rng)) if slow else _digit_graph(rng)
            _write(folder, name, graph, *_digit_contract())
        elif name in SENTIMENT_NAMES:
            words = WORDS if version == 1 else WORDS[::-1]
            vocabulary = Vocabulary(("[PAD]", "[UNK]", *words))
            sha = vocabulary.save(folder / "vocab.txt")
            _write(
                folder,
                name,
                _sentiment_graph(vocabulary, sign=1.0 if version == 1 else -1.0),
                *_sentiment_contract(sha, len(vocabulary)),
            )
        else:
            conditional = name == "gan-conditional"
            _write(folder, name, _gan_graph(rng, conditional), *_gan_contract(conditional))
    return root


def _write(
    folder: Path,
    name: str,
    graph: onnx.GraphProto,
    task: str,
    inputs: list[TensorSpec],
    outputs: list[TensorSpec],
    labels: list[str],
    preprocessing: Preprocessing,
) -> None:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 9  # what onnxruntime 1.31 reads without complaint
    onnx.checker.check_model(model)
    path = folder / ONNX_FILE
    onnx.save(model, path)
    metadata = ModelMetadata(
        name=name,
        version=folder.name,
        task=task,  # type: ignore[arg-type]
        architecture=f"tiny-{name}",
        inputs=inputs,
        outputs=outputs,
        labels=labels,
        preprocessing=preprocessing,
        batching=Batching(max_batch_size=TINY_BATCH, max_queue_delay_ms=1.0),
        training_config={"tiny": True},
        metrics={"accuracy": 0.5},
        parity=Parity(
            samples=8, max_abs_diff=0.0, tolerance=1e-4, label_agreement=1.0, passed=True
        ),
        opset=OPSET,
        onnx_sha256=sha256_file(path),
        onnx_size_bytes=path.stat().st_size,
        source_keras_sha256="0" * 64,
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
        library_versions={"onnx": onnx.__version__},
    )
    write_metadata(folder, metadata)


def _spec(name: str, dtype: str, *dims: int) -> TensorSpec:
    return TensorSpec(name=name, dtype=dtype, shape=[BATCH_AXIS, *dims])  # type: ignore[arg-type]


def _value(name: str, dtype: int, *dims: int) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, dtype, [BATCH_AXIS, *dims])


def _const(name: str, array: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(array, name)


def _digit_contract() -> tuple[str, list[TensorSpec], list[TensorSpec], list[str], Preprocessing]:
    return (
        "digit-classification",
        [_spec("image", "float32", 28, 28, 1)],
        [_spec("probabilities", "float32", 10)],
        [str(d) for d in range(10)],
        ImagePreprocessing(),
    )


def _digit_graph(rng: np.random.Generator) -> onnx.GraphProto:
    """Softmax(flatten(image) @ W + b)."""
    weights = rng.normal(0, 0.5, (784, 10)).astype(np.float32)
    nodes = [
        helper.make_node("Reshape", ["image", "flat_shape"], ["flat"]),
        helper.make_node("MatMul", ["flat", "W"], ["logits0"]),
        helper.make_node("Add", ["logits0", "b"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1),
    ]
    initializers = [
        _const("flat_shape", np.array([-1, 784], dtype=np.int64)),
        _const("W", weights),
        _const("b", rng.normal(0, 0.1, 10).astype(np.float32)),
    ]
    return helper.make_graph(
        nodes,
        "tiny_digits",
        [_value("image", TensorProto.FLOAT, 28, 28, 1)],
        [_value("probabilities", TensorProto.FLOAT, 10)],
        initializers,
    )


SLOW_SIDE = 512
SLOW_PRODUCTS = 64


def _slow(graph: onnx.GraphProto) -> onnx.GraphProto:
    """Add SLOW_PRODUCTS products of 512×512 matrices per batch (~1 ms each), whatever its size.

    The chain starts from the input's mean added to the matrix (a scaling would let onnxruntime
    fold the whole chain into a constant at load time), and adds 0 × its mean to the
    probabilities, so the answers do not change.
    """
    nodes = [helper.make_node("ReduceMean", ["image"], ["level"], keepdims=0)]
    nodes.append(helper.make_node("Add", ["contraction", "level"], ["work0"]))
    for i in range(SLOW_PRODUCTS):
        nodes.append(helper.make_node("MatMul", [f"work{i}", "contraction"], [f"work{i + 1}"]))
    nodes += [
        helper.make_node("ReduceMean", [f"work{SLOW_PRODUCTS}"], ["spent"], keepdims=0),
        helper.make_node("Mul", ["spent", "zero"], ["nothing"]),
        helper.make_node("Add", ["probabilities_fast", "nothing"], ["probabilities"]),
    ]
    fast = list(graph.node)
    fast[-1].output[0] = "probabilities_fast"
    initializers = [
        *graph.initializer,
        _const("contraction", _contraction(SLOW_SIDE)),
        _const("zero", np.zeros((), dtype=np.float32)),
    ]
    return helper.make_graph(
        [*fast, *nodes], "tiny_slow_digits", graph.input, graph.output, initializers
    )


def _contraction(side: int) -> np.ndarray:
    """A random matrix with norm below 1: repeated products shrink and stay finite."""
    matrix = np.random.default_rng(0).normal(0, 1, (side, side)).astype(np.float32)
    return matrix / (4 * np.sqrt(side, dtype=np.float32))


def _sentiment_contract(
    vocabulary_sha: str, size: int
) -> tuple[str, list[TensorSpec], list[TensorSpec], list[str], Preprocessing]:
    preprocessing = TextPreprocessing(
        standardisation=list(STANDARDISATION_RULES),
        vocabulary_sha256=vocabulary_sha,
        vocabulary_size=size,
        sequence_length=SEQUENCE,
    )
    return (
        "sentiment",
        [_spec("tokens", "int64", SEQUENCE)],
        [_spec("positive_probability", "float32", 1)],
        ["negative", "positive"],
        preprocessing,
    )


def _sentiment_graph(vocabulary: Vocabulary, sign: float = 1.0) -> onnx.GraphProto:
    """Sigmoid(sum of per-word weights)."""
    weights = np.zeros((len(vocabulary), 1), dtype=np.float32)
    for i, token in enumerate(vocabulary.tokens):
        weights[i, 0] = sign * WORD_WEIGHTS.get(token, 0.0)
    nodes = [
        helper.make_node("Gather", ["E", "tokens"], ["per_word"]),  # (N, 200, 1)
        helper.make_node("ReduceSum", ["per_word", "axis"], ["total"], keepdims=0),  # (N, 1)
        helper.make_node("Sigmoid", ["total"], ["positive_probability"]),
    ]
    initializers = [_const("E", weights), _const("axis", np.array([1], dtype=np.int64))]
    return helper.make_graph(
        nodes,
        "tiny_sentiment",
        [_value("tokens", TensorProto.INT64, SEQUENCE)],
        [_value("positive_probability", TensorProto.FLOAT, 1)],
        initializers,
    )


def _gan_contract(
    conditional: bool,
) -> tuple[str, list[TensorSpec], list[TensorSpec], list[str], Preprocessing]:
    inputs = [_spec("noise", "float32", LATENT)]
    if conditional:
        inputs.append(_spec("label", "int64"))
    return (
        "digit-generation",
        inputs,
        [_spec("image", "float32", 28, 28, 1)],
        [str(d) for d in range(10)],
        NoisePreprocessing(latent_dim=LATENT, conditional=conditional),
    )


def _gan_graph(rng: np.random.Generator, conditional: bool) -> onnx.GraphProto:
    """Tanh(noise @ W [+ embedding[label]]) shaped as (N, 28, 28, 1)."""
    nodes = [helper.make_node("MatMul", ["noise", "W"], ["hidden0"])]
    initializers = [
        _const("W", rng.normal(0, 0.2, (LATENT, 784)).astype(np.float32)),
        _const("image_shape", np.array([-1, 28, 28, 1], dtype=np.int64)),
    ]
    inputs = [_value("noise", TensorProto.FLOAT, LATENT)]
    hidden = "hidden0"
    if conditional:
        inputs.append(_value("label", TensorProto.INT64))
        initializers.append(_const("embedding", rng.normal(0, 1, (10, 784)).astype(np.float32)))
        nodes += [
            helper.make_node("Gather", ["embedding", "label"], ["label_bias"]),
            helper.make_node("Add", ["hidden0", "label_bias"], ["hidden"]),
        ]
        hidden = "hidden"
    nodes += [
        helper.make_node("Tanh", [hidden], ["activated"]),
        helper.make_node("Reshape", ["activated", "image_shape"], ["image"]),
    ]
    return helper.make_graph(
        nodes,
        "tiny_gan",
        inputs,
        [_value("image", TensorProto.FLOAT, 28, 28, 1)],
        initializers,
    )
