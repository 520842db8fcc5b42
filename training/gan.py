"""The tutorial DCGAN on MNIST, plain and conditioned on the digit label."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from contract.metadata import NoisePreprocessing, Task
from training.config import SEED, GanConfig
from training.data import Mnist

NOISE_NAME = "noise"
LABEL_NAME = "label"
OUTPUT_NAME = "image"
NUM_CLASSES = 10
TASK: Task = "digit-generation"
LABELS = [str(d) for d in range(NUM_CLASSES)]


def preprocessing(config: GanConfig) -> NoisePreprocessing:
    """The generator's input contract: seeded standard-normal noise [and a digit label]."""
    return NoisePreprocessing(latent_dim=config.latent_dim, conditional=config.conditional)


def _upsample_to_image(x: keras.KerasTensor) -> keras.KerasTensor:
    # The tutorial generator from its Dense 7·7·256 onwards: 7×7 → 14×14 → 28×28, tanh pixels.
    x = layers.BatchNormalization()(x)
    x = layers.LeakyReLU(0.2)(x)
    x = layers.Reshape((7, 7, 256))(x)
    x = layers.Conv2DTranspose(128, 5, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.LeakyReLU(0.2)(x)
    x = layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.LeakyReLU(0.2)(x)
    return layers.Conv2DTranspose(
        1, 5, strides=2, padding="same", activation="tanh", name=OUTPUT_NAME
    )(x)


def build_generator(config: GanConfig) -> keras.Model:
    """noise (N, 100) [+ label (N,) int64] → image (N, 28, 28, 1) in [-1, 1]."""
    noise = keras.Input((config.latent_dim,), name=NOISE_NAME)
    inputs = [noise]
    x = noise
    if config.conditional:
        label = keras.Input((), dtype="int64", name=LABEL_NAME)
        inputs.append(label)
        embedded = layers.Embedding(NUM_CLASSES, config.label_embedding_dim)(label)
        x = layers.Concatenate()([noise, embedded])
    x = layers.Dense(7 * 7 * 256, use_bias=False)(x)
    name = "conditional_generator" if config.conditional else "dcgan_generator"
    return keras.Model(inputs, _upsample_to_image(x), name=name)


def build_discriminator(config: GanConfig) -> keras.Model:
    """image [+ label] → real/fake logit [+ digit logits]: Conv 64/128 stride 2, dropout .3.

    The conditional discriminator also classifies the digit (an auxiliary classifier, as in
    AC-GAN): with the label plane alone, 8 epochs gave digits our CNN read as the requested one
    only 78 % of the time; the classification loss makes the generator draw the digit it is asked.
    """
    image = keras.Input((28, 28, 1), name="image")
    inputs = [image]
    x = image
    if config.conditional:
        # The label becomes a 28×28 plane stacked on the image, so every filter can see it.
        label = keras.Input((), dtype="int64", name=LABEL_NAME)
        inputs.append(label)
        plane = layers.Embedding(NUM_CLASSES, 28 * 28)(label)
        x = layers.Concatenate()([image, layers.Reshape((28, 28, 1))(plane)])
    for filters in (64, 128):
        x = layers.Conv2D(filters, 5, strides=2, padding="same")(x)
        x = layers.LeakyReLU(0.2)(x)
        x = layers.Dropout(0.3)(x)
    x = layers.Flatten()(x)
    outputs = [layers.Dense(1, name="realness")(x)]
    if config.conditional:
        outputs.append(layers.Dense(NUM_CLASSES, name="digit")(x))
    return keras.Model(inputs, outputs, name="discriminator")


class GAN(keras.Model):
    """Generator and discriminator trained adversarially; `train_step` is one round of each."""

    def __init__(self, config: GanConfig) -> None:
        super().__init__()
        self.config = config
        self.generator = build_generator(config)
        self.discriminator = build_discriminator(config)
        self.seed_generator = keras.random.SeedGenerator(SEED)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")

    def compile(self) -> None:
        super().compile()
        adam = {"learning_rate": self.config.learning_rate, "beta_1": self.config.beta_1}
        self.d_optimizer = keras.optimizers.Adam(**adam)
        self.g_optimizer = keras.optimizers.Adam(**adam)
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)
        self.class_loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return [self.d_loss_tracker, self.g_loss_tracker]

    def _inputs(self, main: tf.Tensor, labels: tf.Tensor) -> list[tf.Tensor]:
        return [main, labels] if self.config.conditional else [main]

    def _judge(self, images: tf.Tensor, labels: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Realness logits, and the digit-classification loss (0 for the plain DCGAN)."""
        if not self.config.conditional:
            return self.discriminator([images], training=True), tf.constant(0.0)
        realness, digit_logits = self.discriminator([images, labels], training=True)
        return realness, self.class_loss_fn(labels, digit_logits)

    def _noise(self, size: tf.Tensor) -> tf.Tensor:
        return keras.random.normal((size, self.config.latent_dim), seed=self.seed_generator)

    def _discriminator_step(self, real: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        """One update of the discriminator on real digits and as many fakes; returns its loss."""
        noise = self._noise(tf.shape(real)[0])
        with tf.GradientTape() as tape:
            fake = self.generator(self._inputs(noise, labels), training=True)
            real_logits, real_class_loss = self._judge(real, labels)
            fake_logits, _ = self._judge(fake, labels)
            # One-sided label smoothing (0.9) keeps the discriminator from overpowering early.
            # The classifier learns from real digits only, so fakes cannot teach it wrong shapes.
            loss = (
                self.loss_fn(tf.fill(tf.shape(real_logits), 0.9), real_logits)
                + self.loss_fn(tf.zeros_like(fake_logits), fake_logits)
                + real_class_loss
            )
        variables = self.discriminator.trainable_variables
        gradients = tape.gradient(loss, variables)
        self.d_optimizer.apply_gradients(zip(gradients, variables, strict=True))
        return loss

    def _generator_step(self, labels: tf.Tensor) -> tf.Tensor:
        """One update of the generator towards fakes judged real; returns its loss."""
        noise = self._noise(tf.shape(labels)[0])
        with tf.GradientTape() as tape:
            fake = self.generator(self._inputs(noise, labels), training=True)
            fake_logits, fake_class_loss = self._judge(fake, labels)
            loss = self.loss_fn(tf.ones_like(fake_logits), fake_logits) + fake_class_loss
        variables = self.generator.trainable_variables
        self.g_optimizer.apply_gradients(
            zip(tape.gradient(loss, variables), variables, strict=True)
        )
        return loss

    def train_step(self, batch: tuple[tf.Tensor, tf.Tensor]) -> dict[str, tf.Tensor]:
        real, labels = batch
        self.d_loss_tracker.update_state(self._discriminator_step(real, labels))
        self.g_loss_tracker.update_state(self._generator_step(labels))
        return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}


def to_gan_range(pixels: np.ndarray) -> np.ndarray:
    """(N, 28, 28) uint8 → (N, 28, 28, 1) float32 in [-1, 1], the generator's output range."""
    return (pixels.astype(np.float32) / 127.5 - 1.0)[..., np.newaxis]


def train(
    config: GanConfig, data: Mnist, callbacks: list[keras.callbacks.Callback]
) -> tuple[GAN, keras.callbacks.History]:
    """Fit the GAN on the 60,000 training digits; the test set stays unseen for the FID."""
    images, labels = data.x_train, data.y_train.astype(np.int64)
    if config.max_train_samples:
        images, labels = images[: config.max_train_samples], labels[: config.max_train_samples]
    dataset = (
        tf.data.Dataset.from_tensor_slices((to_gan_range(images), labels))
        .shuffle(len(images), seed=SEED)
        .batch(config.batch_size, drop_remainder=True)
        .prefetch(tf.data.AUTOTUNE)
    )
    gan = GAN(config)
    gan.compile()
    history = gan.fit(dataset, epochs=config.epochs, callbacks=callbacks)
    return gan, history
