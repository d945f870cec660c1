"""Shared fixtures: tiny trained models and their certificates (built once per session)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from mechcert.extract import load_model
from mechcert.model import MaxOfKConfig, train_max_of_k

ROOT = Path(__file__).resolve().parent.parent
SMALL_MODEL = ROOT / "models" / "max_of_k_v16_n3_seed123.pt"


def require_coqc():
    """Skip a prover test when coqc is missing, except in CI, where it must be there."""
    if shutil.which("coqc") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("coqc is missing but CI=true: the Coq checks must run in CI")
        pytest.skip("coqc not installed")


def tiny_model_file(tmp: Path, seed: int, v: int, n: int, d: int, steps: int) -> Path:
    torch.manual_seed(seed)
    model = train_max_of_k(MaxOfKConfig(v, n, d, d), seed=seed, steps=steps)
    path = tmp / f"tiny_v{v}_n{n}_d{d}_s{seed}_{steps}.pt"
    torch.save(model.state_dict(), path)
    return path


@pytest.fixture(scope="session")
def weak_model_file(tmp_path_factory) -> Path:
    """A briefly trained model that gets some inputs wrong (so every count is exercised)."""
    return tiny_model_file(tmp_path_factory.mktemp("weak"), seed=7, v=6, n=3, d=8, steps=150)


@pytest.fixture(scope="session")
def small_weights():
    return load_model(SMALL_MODEL)


def random_arrays(rng: np.random.Generator, v=5, n=2, d=4, h=4, scale=0.5) -> dict[str, np.ndarray]:
    f = lambda *s: (rng.standard_normal(s) * scale).astype(np.float32)  # noqa: E731
    return {
        "embed.W_E": f(v, d), "pos_embed.W_pos": f(n, d),
        "blocks.0.attn.W_Q": f(1, d, h), "blocks.0.attn.W_K": f(1, d, h),
        "blocks.0.attn.W_V": f(1, d, h), "blocks.0.attn.W_O": f(1, h, d),
        "unembed.W_U": f(d, v),
    }
