"""Text classification the Keras 2 way, on any engine: `Tokenizer`, `pad_sequences`, Embedding + LSTM, and a
Bidirectional GRU variant.

    MLFRONT_BACKEND=torch python examples/text_classification.py [--out DIR]       # or jax, tensorflow

Data: examples/data/topic_sentences.tsv, 210 short sentences written for this example, 70 in each of three
topics (sports, cooking, computers). A `Tokenizer` learns the vocabulary of the training sentences (unknown
words become `oov_token`), `texts_to_sequences` turns sentences into word indices and `pad_sequences` pads them
to one length. Two models read the padded sequences through an `Embedding(mask_zero=True)`, so the padding is
masked: an `LSTM`, and a `Bidirectional(GRU)`. Each prints its test accuracy, then both classify a few new
sentences. The tokenizer is saved as JSON (`to_json`) and reloaded (`tokenizer_from_json`).

The training curves are saved as PNGs in DIR (default: a new temporary directory), with the tokenizer's JSON.
`MLFRONT_EXAMPLES_QUICK=1` trains for fewer epochs (the test suite's setting).
"""

import argparse
import csv
import os
import tempfile

import numpy as np

import mlfront
from mlfront.layers import GRU, LSTM, Bidirectional, Dense, Embedding
from mlfront.preprocessing.sequence import pad_sequences
from mlfront.preprocessing.text import Tokenizer, tokenizer_from_json

QUICK = os.environ.get("MLFRONT_EXAMPLES_QUICK") == "1"
CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "topic_sentences.tsv")
MAX_WORDS = 1000  # vocabulary size kept by the Tokenizer
MAX_LEN = 12  # words per sentence after padding / truncating
NEW_SENTENCES = ["The striker scored a goal in the final.",
                 "Bake the cake and add the cream.",
                 "The laptop crashed during the update."]


def load_corpus(path=CORPUS, seed=0):
    """(train_texts, train_labels), (test_texts, test_labels), topic names; 20% of each topic is held out."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    topics = sorted({row["topic"] for row in rows})
    texts = np.array([row["sentence"] for row in rows])
    labels = np.array([topics.index(row["topic"]) for row in rows])
    rng = np.random.default_rng(seed)
    test = np.zeros(len(rows), dtype=bool)
    for label in range(len(topics)):
        members = rng.permutation(np.flatnonzero(labels == label))
        test[members[:len(members) // 5]] = True
    train_order = rng.permutation(np.flatnonzero(~test))
    return (list(texts[train_order]), labels[train_order]), (list(texts[test]), labels[test]), topics


def build_lstm(num_classes):
    return mlfront.Sequential([
        Embedding(MAX_WORDS, 32, input_length=MAX_LEN, mask_zero=True),
        LSTM(32),
        Dense(num_classes, activation="softmax"),
    ], name="lstm")


def build_bidirectional_gru(num_classes):
    return mlfront.Sequential([
        Embedding(MAX_WORDS, 32, input_length=MAX_LEN, mask_zero=True),
        Bidirectional(GRU(16)),
        Dense(num_classes, activation="softmax"),
    ], name="bidirectional_gru")


def main(out_dir=None, epochs=None):
    out_dir = out_dir or tempfile.mkdtemp(prefix="mlfront_text_classification_")
    os.makedirs(out_dir, exist_ok=True)
    epochs = epochs or (8 if QUICK else 30)
    print(f"mlfront backend: {mlfront.backend()}")
    (train_texts, y_train), (test_texts, y_test), topics = load_corpus()
    print(f"{len(train_texts)} training and {len(test_texts)} test sentences; topics: {topics}")

    tokenizer = Tokenizer(num_words=MAX_WORDS, oov_token="<OOV>")
    tokenizer.fit_on_texts(train_texts)
    x_train = pad_sequences(tokenizer.texts_to_sequences(train_texts), maxlen=MAX_LEN, padding="post")
    x_test = pad_sequences(tokenizer.texts_to_sequences(test_texts), maxlen=MAX_LEN, padding="post")
    print(f"Vocabulary: {len(tokenizer.word_index)} words; '{train_texts[0]}' -> {x_train[0].tolist()}")

    tokenizer_path = os.path.join(out_dir, "tokenizer.json")
    with open(tokenizer_path, "w", encoding="utf-8") as f:
        f.write(tokenizer.to_json())
    with open(tokenizer_path, encoding="utf-8") as f:
        reloaded = tokenizer_from_json(f.read())
    assert reloaded.texts_to_sequences(test_texts) == tokenizer.texts_to_sequences(test_texts)

    accuracies, models = {}, {}
    for build in (build_lstm, build_bidirectional_gru):
        mlfront.utils.set_random_seed(4)
        model = build(len(topics))
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(x_train, y_train, batch_size=24, epochs=epochs, validation_data=(x_test, y_test),
                            verbose=2 if build is build_lstm else 0)
        accuracies[model.name] = model.evaluate(x_test, y_test, verbose=0)[1]
        models[model.name] = model
        print(f"{model.name} test accuracy: {accuracies[model.name]:.4f}")
        mlfront.utils.plot_history(history, os.path.join(out_dir, f"text_classification_{model.name}.png"))

    new = pad_sequences(reloaded.texts_to_sequences(NEW_SENTENCES), maxlen=MAX_LEN, padding="post")
    for name, model in models.items():
        predicted = [topics[i] for i in model.predict(new, verbose=0).argmax(axis=1)]
        print(f"{name} on new sentences: " + "; ".join(f"'{s}' -> {t}" for s, t in zip(NEW_SENTENCES, predicted)))
    print(f"Training curves and tokenizer saved in {out_dir}")
    return accuracies


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="directory for the plots and the tokenizer (default: a new temporary directory)")
    main(parser.parse_args().out)
