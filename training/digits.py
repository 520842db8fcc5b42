"""MNIST digit classifiers: an MLP, the tutorial CNN and a small residual CNN."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from contract.metadata import ImagePreprocessing, Task
from contract.tensors import image_batch
from training.config import SEED, DigitsConfig
from training.data import Mnist

IMAGE_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
INPUT_NAME = "image"
OUTPUT_NAME = "probabilities"
TASK: Task = "digit-classification"
LABELS = [str(d) for d in range(NUM_CLASSES)]
PREPROCESSING = ImagePreprocessing()


def to_model_input(pixels: np.ndarray) -> np.ndarray:
    """(N, 28, 28) uint8 → (N, 28, 28, 1) float32 in [0, 1], the models' input contract."""
    return image_batch(PREPROCESSING, pixels)


def build_mlp(config: DigitsConfig) -> keras.Model:
    """The tutorial MLP: 784 → 128 → 64 → 10 with dropout .2; takes images, flattens them."""
    inputs = keras.Input(IMAGE_SHAPE, name=INPUT_NAME)
    x = layers.Flatten()(inputs)
    x = layers.Dense(128, activation="relu")(x)
    x = layers.Dropout(0.2)(x)
    x = layers.Dense(64, activation="relu")(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name=OUTPUT_NAME)(x)
    return keras.Model(inputs, outputs, name="digits_mlp")


def build_cnn(config: DigitsConfig) -> keras.Model:
    """The tutorial CNN: two conv/pool stages, Dense 128, dropout .5."""
    inputs = keras.Input(IMAGE_SHAPE, name=INPUT_NAME)
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(128, activation="relu", name="features")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name=OUTPUT_NAME)(x)
    return keras.Model(inputs, outputs, name="digits_cnn")


def _residual_block(x: keras.KerasTensor, filters: int, stride: int) -> keras.KerasTensor:
    shortcut = x
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
    y = layers.BatchNormalization()(y)
    y = layers.ReLU()(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False)(y)
    y = layers.BatchNormalization()(y)
    if stride != 1 or shortcut.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False)(shortcut)
        shortcut = layers.BatchNormalization()(shortcut)
    return layers.ReLU()(layers.Add()([y, shortcut]))


def build_resnet(config: DigitsConfig) -> keras.Model:
    """A small ResNet for 28×28: a stem, residual blocks at 14×14 and 7×7, global pooling."""
    inputs = keras.Input(IMAGE_SHAPE, name=INPUT_NAME)
    x = layers.Conv2D(32, 3, padding="same", use_bias=False)(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    # Pool early: full-resolution residual blocks cost 4× the compute for no accuracy on MNIST.
    x = layers.MaxPooling2D()(x)
    x = _residual_block(x, 32, stride=1)
    x = _residual_block(x, 64, stride=2)
    x = _residual_block(x, 64, stride=1)
    x = layers.GlobalAveragePooling2D(name="features")(x)
    x = layers.Dropout(0.3)(x)
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name=OUTPUT_NAME)(x)
    return keras.Model(inputs, outputs, name="digits_resnet")


BUILDERS = {"mlp": build_mlp, "cnn": build_cnn, "resnet": build_resnet}


def build_augmentation() -> keras.Sequential:
    """Random ±10° rotation, ±10 % shift and ±10 % zoom, applied to training batches only."""
    return keras.Sequential(
        [
            layers.RandomRotation(10 / 360, fill_mode="constant", seed=SEED),
            layers.RandomTranslation(0.1, 0.1, fill_mode="constant", seed=SEED),
            layers.RandomZoom(0.1, fill_mode="constant", seed=SEED),
        ],
        name="augmentation",
    )


def _datasets(config: DigitsConfig, data: Mnist) -> tuple[tf.data.Dataset, tf.data.Dataset]:
    x, y = to_model_input(data.x_train), data.y_train.astype(np.int64)
    if config.max_train_samples:
        x, y = x[: config.max_train_samples], y[: config.max_train_samples]
    split = int(len(x) * (1 - config.validation_split))
    train = tf.data.Dataset.from_tensor_slices((x[:split], y[:split]))
    train = train.shuffle(split, seed=SEED).batch(config.batch_size)
    if config.augment:
        augment = build_augmentation()
        train = train.map(
            lambda images, labels: (augment(images, training=True), labels),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    validation = tf.data.Dataset.from_tensor_slices((x[split:], y[split:])).batch(512)
    return train.prefetch(tf.data.AUTOTUNE), validation


def train(
    config: DigitsConfig, data: Mnist, callbacks: list[keras.callbacks.Callback]
) -> tuple[keras.Model, keras.callbacks.History]:
    """Build and fit one digit classifier; early stopping restores the best weights."""
    model = BUILDERS[config.architecture](config)
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    train_set, validation_set = _datasets(config, data)
    history = model.fit(
        train_set,
        validation_data=validation_set,
        epochs=config.epochs,
        callbacks=[
            keras.callbacks.EarlyStopping(
                monitor="val_accuracy",
                patience=config.early_stopping_patience,
                restore_best_weights=True,
            ),
            keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.3, patience=2),
            *callbacks,
        ],
    )
    return model, history


def evaluate(model: keras.Model, data: Mnist) -> tuple[dict[str, float], np.ndarray]:
    """Test-set loss and accuracy, and the predicted labels (for the confusion matrix)."""
    probabilities = model.predict(to_model_input(data.x_test), batch_size=1024, verbose=0)
    predicted = probabilities.argmax(axis=1)
    picked = probabilities[np.arange(len(predicted)), data.y_test]
    metrics = {
        "test_accuracy": float((predicted == data.y_test).mean()),
        "test_loss": float(-np.log(np.clip(picked, 1e-7, 1.0)).mean()),
    }
    return metrics, predicted
