"""extract/: exact float32 values, model files, validation, and the model hash."""
from __future__ import annotations

import struct
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mechcert.extract import ModelError, decode_bits, encode_bits, load_model, weights_from_arrays
from mechcert.extract.dyadic import canonical_bits

from .conftest import SMALL_MODEL, random_arrays

CLASSES = {
    "one": 0x3F800000, "minus_one": 0xBF800000, "max_normal": 0x7F7FFFFF, "min_normal": 0x00800000,
    "max_subnormal": 0x007FFFFF, "min_subnormal": 0x00000001, "neg_subnormal": 0x80000003,
    "plus_zero": 0x00000000, "minus_zero": 0x80000000, "third": 0x3EAAAAAB, "neg_tiny_normal": 0x80800001,
}


def _float_of_bits(b: int) -> float:
    return struct.unpack(">f", struct.pack(">I", b))[0]


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_decode_is_exact_for_every_float32_class(name):
    b = CLASSES[name]
    assert decode_bits(b).to_fraction() == Fraction(_float_of_bits(b))


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_encode_inverts_decode_for_every_float32_class(name):
    b = CLASSES[name]
    assert encode_bits(decode_bits(b)) == canonical_bits(b)


@given(st.integers(0, 2**32 - 1).filter(lambda b: (b >> 23) & 0xFF != 0xFF))
@settings(max_examples=2000, deadline=None)
def test_decode_round_trips_every_finite_bit_pattern(b):
    d = decode_bits(b)
    assert d.to_fraction() == Fraction(_float_of_bits(b))
    assert encode_bits(d) == canonical_bits(b)


@pytest.mark.parametrize("b", [0x7F800000, 0xFF800000, 0x7FC00000, 0x7F800001])
def test_decode_refuses_nan_and_infinity(b):
    with pytest.raises(ValueError):
        decode_bits(b)


def test_negative_zero_has_the_same_hash_as_positive_zero():
    rng = np.random.default_rng(0)
    a = random_arrays(rng)
    b = {k: x.copy() for k, x in a.items()}
    a["embed.W_E"][0, 0] = np.float32(0.0)
    b["embed.W_E"][0, 0] = np.float32(-0.0)
    assert weights_from_arrays(a).sha256 == weights_from_arrays(b).sha256


def test_hash_is_the_same_for_pt_and_npz_files(tmp_path):
    sd = torch.load(SMALL_MODEL, weights_only=True)
    np.savez(tmp_path / "m.npz", **{k: v.numpy() for k, v in sd.items()})
    assert load_model(tmp_path / "m.npz").sha256 == load_model(SMALL_MODEL).sha256


def test_hash_does_not_depend_on_tensor_order():
    rng = np.random.default_rng(1)
    a = random_arrays(rng)
    b = dict(reversed(list(a.items())))
    assert weights_from_arrays(a).sha256 == weights_from_arrays(b).sha256


def test_hash_changes_when_one_weight_moves_by_one_ulp():
    rng = np.random.default_rng(2)
    a = random_arrays(rng)
    b = {k: x.copy() for k, x in a.items()}
    b["unembed.W_U"][1, 2] = np.nextafter(b["unembed.W_U"][1, 2], np.float32(np.inf))
    assert weights_from_arrays(a).sha256 != weights_from_arrays(b).sha256


def test_transformerlens_checkpoint_dict_is_read(tmp_path):
    sd = torch.load(SMALL_MODEL, weights_only=True)
    sd["blocks.0.attn.IGNORE"] = torch.tensor(-float("inf"))
    sd["blocks.0.attn.mask"] = torch.ones(3, 3, dtype=torch.bool)
    torch.save({"model": sd, "config": {"d_vocab": 16}}, tmp_path / "tl.pt")
    assert load_model(tmp_path / "tl.pt").sha256 == load_model(SMALL_MODEL).sha256


def test_config_is_inferred_from_shapes():
    c = load_model(SMALL_MODEL).config
    assert c == {"d_vocab": 16, "d_vocab_out": 16, "n_ctx": 3, "d_model": 32, "d_head": 32,
                 "n_heads": 1, "n_layers": 1}


def test_nan_weight_is_refused_naming_tensor_and_index():
    a = random_arrays(np.random.default_rng(3))
    a["blocks.0.attn.W_V"][0, 2, 1] = np.nan
    with pytest.raises(ModelError, match=r"blocks\.0\.attn\.W_V.*\[0, 2, 1\]"):
        weights_from_arrays(a)


def test_infinite_weight_is_refused_naming_tensor_and_index():
    a = random_arrays(np.random.default_rng(3))
    a["embed.W_E"][3, 0] = -np.inf
    with pytest.raises(ModelError, match=r"embed\.W_E.*\[3, 0\]"):
        weights_from_arrays(a)


def test_float64_weight_not_exactly_float32_is_refused():
    a = random_arrays(np.random.default_rng(4))
    a["unembed.W_U"] = a["unembed.W_U"].astype(np.float64)
    a["unembed.W_U"][0, 1] += 1e-12
    with pytest.raises(ModelError, match=r"unembed\.W_U.*\[0, 1\].*not exactly a float32"):
        weights_from_arrays(a)


def test_float64_weight_exactly_float32_is_accepted():
    a = random_arrays(np.random.default_rng(4))
    b = dict(a, **{"unembed.W_U": a["unembed.W_U"].astype(np.float64)})
    assert weights_from_arrays(a).sha256 == weights_from_arrays(b).sha256


def test_wrong_shape_is_refused_naming_the_tensor():
    a = random_arrays(np.random.default_rng(5))
    a["blocks.0.attn.W_O"] = a["blocks.0.attn.W_O"][:, :, :-1]
    with pytest.raises(ModelError, match=r"blocks\.0\.attn\.W_O: shape"):
        weights_from_arrays(a)


def test_layernorm_is_refused_as_unsupported():
    a = random_arrays(np.random.default_rng(5))
    a["blocks.0.ln1.w"] = np.ones(4, dtype=np.float32)
    with pytest.raises(ModelError, match=r"blocks\.0\.ln1\.w: unsupported LayerNorm"):
        weights_from_arrays(a)


def test_mlp_is_refused_as_unsupported():
    a = random_arrays(np.random.default_rng(5))
    a["blocks.0.mlp.W_in"] = np.ones((4, 8), dtype=np.float32)
    with pytest.raises(ModelError, match=r"unsupported MLP"):
        weights_from_arrays(a)


def test_missing_tensor_is_named():
    a = random_arrays(np.random.default_rng(5))
    del a["unembed.W_U"]
    with pytest.raises(ModelError, match=r"missing tensor unembed\.W_U"):
        weights_from_arrays(a)


class Evil:  # any non-tensor class needs code execution to unpickle
    pass


def test_pickled_code_is_refused(tmp_path):
    torch.save({"model": Evil()}, tmp_path / "evil.pt")
    with pytest.raises(ModelError, match=r"refused"):
        load_model(tmp_path / "evil.pt")


@pytest.mark.parametrize("content,match", [(b"", "empty file"), (b"not a zip at all", "not a readable torch file")])
def test_bad_pt_files_are_refused(tmp_path, content, match):
    p = tmp_path / "bad.pt"
    p.write_bytes(content)
    with pytest.raises(ModelError, match=match):
        load_model(p)


def test_truncated_pt_file_is_refused(tmp_path):
    data = SMALL_MODEL.read_bytes()
    p = tmp_path / "trunc.pt"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError):
        load_model(p)


def test_directory_is_refused(tmp_path):
    with pytest.raises(ModelError, match="is a directory"):
        load_model(tmp_path)


def test_npz_with_pickled_object_is_refused(tmp_path):
    np.savez(tmp_path / "obj.npz", **{"embed.W_E": np.array([{"a": 1}], dtype=object)})
    with pytest.raises(ModelError, match="refused"):
        load_model(tmp_path / "obj.npz")


def test_exact_integers_reproduce_the_weights(small_weights):
    w = small_weights
    ints = w.integers("embed.W_E")
    for idx in [(0, 0), (5, 7), (15, 31)]:
        assert Fraction(int(ints[idx])) * Fraction(2) ** w.e0 == w.fraction("embed.W_E", idx)


def _fake_transformerlens_checkpoint(tmp_path, marker):
    """A checkpoint whose config is an object of a class from a module that will not be
    importable at load time (as HookedTransformerConfig is without TransformerLens)."""
    import sys
    import types

    mod = types.ModuleType("fake_transformer_lens_cfg")

    class HookedTransformerConfig:
        def __init__(self):
            self.d_vocab = 16

        def __setstate__(self, state):  # would run at load time if the class were resolved
            marker.append("code ran")
            self.__dict__.update(state)

    HookedTransformerConfig.__module__ = mod.__name__
    HookedTransformerConfig.__qualname__ = "HookedTransformerConfig"
    mod.HookedTransformerConfig = HookedTransformerConfig
    sys.modules[mod.__name__] = mod
    try:
        sd = torch.load(SMALL_MODEL, weights_only=True)
        path = tmp_path / "tl_ckpt.pt"
        torch.save({"model": sd, "config": HookedTransformerConfig()}, path)
    finally:
        del sys.modules[mod.__name__]
    return path


def test_transformerlens_checkpoint_with_pickled_config_loads_without_running_code(tmp_path):
    marker = []
    path = _fake_transformerlens_checkpoint(tmp_path, marker)
    assert load_model(path).sha256 == load_model(SMALL_MODEL).sha256
    assert marker == []


def test_pickled_module_is_refused_with_clear_error(tmp_path):
    from mechcert.model import MaxOfK, MaxOfKConfig

    torch.save(MaxOfK(MaxOfKConfig(4, 2, 4, 4)), tmp_path / "whole.pt")
    with pytest.raises(ModelError, match=r"refused: holds a pickled mechcert\.model\.MaxOfK"):
        load_model(tmp_path / "whole.pt")


def test_pickled_os_system_call_is_not_executed(tmp_path):
    import os

    class Boom:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path}/pwned",))

    Boom.__qualname__ = "Boom"
    globals()["Boom"] = Boom
    torch.save({"model": {"embed.W_E": Boom()}}, tmp_path / "boom.pt")
    with pytest.raises(ModelError, match="refused"):
        load_model(tmp_path / "boom.pt")
    assert not (tmp_path / "pwned").exists()
