"""Load a torch zip checkpoint without running code from the file.

``torch.load(weights_only=True)`` refuses TransformerLens checkpoints because
their ``config`` is a pickled ``HookedTransformerConfig``. This module reads
such files with an unpickler that resolves only torch's own tensor-rebuilding
functions, storages, dtypes and ``OrderedDict``; every other global becomes an
inert :class:`Stub` that records its arguments and runs nothing. Tensors load
as usual; a stub where a tensor is expected is refused by the caller.
"""
from __future__ import annotations

import pickle
import types

__all__ = ["Stub", "load_restricted"]


class Stub:
    """Stands in for a class or function named in the pickle; never runs its code."""

    __slots__ = ("qualname", "args", "state")

    def __init__(self, qualname: str, args=(), state=None):
        self.qualname = qualname
        self.args = args
        self.state = state

    def __setstate__(self, state):
        self.state = state

    def __repr__(self):
        return f"<unloaded {self.qualname}>"


def _stub_factory(qualname: str):
    class _Callable:
        """Calling it (REDUCE/NEWOBJ) only records the call."""

        def __new__(cls, *args, **kwargs):
            return Stub(qualname, args)

    _Callable.__qualname__ = _Callable.__name__ = qualname
    return _Callable


def _allowed(module: str, name: str) -> bool:
    if module == "collections" and name == "OrderedDict":
        return True
    if module == "torch._utils" and name.startswith("_rebuild_"):
        return True
    if module == "torch" and (name.endswith("Storage") or name == "Size"):
        return True
    if module == "torch" and name in {"float32", "float64", "float16", "bfloat16", "int64", "int32", "bool",
                                      "uint8", "int8", "int16", "complex64", "complex128"}:
        return True
    if module == "torch.serialization" and name == "_get_layout":
        return True
    if module == "torch" and name in {"strided", "device"}:
        return True
    return False


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if _allowed(module, name):
            return super().find_class(module, name)
        return _stub_factory(f"{module}.{name}")


restricted_pickle = types.SimpleNamespace(
    Unpickler=_RestrictedUnpickler, load=pickle.load, __name__="mechcert_restricted_pickle"
)


def load_restricted(path):
    import torch

    return torch.load(path, map_location="cpu", weights_only=False, pickle_module=restricted_pickle)
