"""Fixtures of the language-model tests: the tiny model (tiny_lm.py) on disk and loaded, the real
embedded model when present, one torch thread, and no hub access."""

from __future__ import annotations

import os

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from tiny_lm import EMBEDDED, build_model, build_tokenizer


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory):
    """Folder with the tiny model, its tokenizer and a trap-laden generation config."""
    dest = tmp_path_factory.mktemp("tiny-llama")
    build_model().save_pretrained(dest)
    build_tokenizer().save_pretrained(dest)
    return dest


@pytest.fixture(scope="session")
def tiny(tiny_dir):
    """``(model, tokenizer)`` loaded through ``load_model``."""
    from bonkl.lm.load import load_model

    return load_model({"path": str(tiny_dir)})


@pytest.fixture(scope="session")
def embedded():
    """The real default model, loaded once (skipped when resources/models lacks it)."""
    if not EMBEDDED.is_file():
        pytest.skip(f"{EMBEDDED} absent (fetch it with workflow/scripts/fetch_model.py)")
    from bonkl.lm.load import load_model

    return load_model({"path": str(EMBEDDED)})


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    """Tiny models gain nothing from threads, and on a loaded machine every parallel torch op can
    wait a scheduler slice for its second thread."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """No test may reach a model hub."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    from huggingface_hub import constants  # read at import time: patch the module too

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
