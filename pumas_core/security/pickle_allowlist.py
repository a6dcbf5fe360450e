"""The globals a PyTorch state dict may legitimately reference — everything else is refused.

Source of the list (facts, not code): PyTorch's restricted unpickler used by
``torch.load(weights_only=True)``, ``torch/_weights_only_unpickler.py`` (pytorch/pytorch, read at
commit 00f730b66e58769f9698d9236f58cd46c3794115), function ``_get_allowed_globals()``:

* ``collections.OrderedDict``, ``collections.Counter``, ``torch.nn.parameter.Parameter``,
  ``torch.serialization._get_layout``, ``torch.Size``, ``torch.Tensor``, ``torch.device``,
  ``_codecs.encode`` ("for bytes"), ``builtins.bytearray``, ``builtins.set``, ``builtins.complex``;
* every dtype of ``torch.storage._dtype_to_storage_type_map()`` and ``torch.storage._new_dtypes()``
  plus ``torch.uint1..7`` / ``torch.int1..7`` (a dtype pickles as ``GLOBAL torch <name>``);
* the tensor classes ``torch._tensor_classes`` (``torch.FloatTensor``..., ``torch.cuda.*Tensor``)
  and storage classes ``torch._storage_classes`` (``torch.FloatStorage``..., ``torch.cuda.*Storage``,
  ``torch.storage.TypedStorage``, ``torch.storage.UntypedStorage``);
* the quantization schemes ``torch.per_tensor_affine`` ... ``torch.per_channel_affine_float_qparams``;
* the rebuild functions of ``_tensor_rebuild_functions()`` (``torch._utils._rebuild_tensor``,
  ``_rebuild_tensor_v2``, ``_v3``, ``_rebuild_parameter``, ``_rebuild_parameter_with_state``,
  ``_rebuild_qtensor``, ``_rebuild_sparse_tensor``, ``_rebuild_meta_tensor_no_storage``,
  ``_rebuild_wrapper_subclass``, ``_rebuild_device_tensor_from_numpy``,
  ``_rebuild_device_tensor_from_cpu_tensor``) and ``torch._tensor._rebuild_from_type_v2``.

Added on top, because ``torch.save`` emits them for numpy values inside checkpoints (numpy's own
``ndarray.__reduce__``: ``numpy.core.multiarray._reconstruct`` + ``BUILD`` with a state tuple whose
raw bytes come from ``_codecs.encode``; numpy 2 spells the module ``numpy._core.multiarray``; a numpy
scalar pickles as ``numpy.core.multiarray.scalar``; dtypes as ``numpy.dtype`` or, for numpy >= 1.25,
the ``numpy.dtypes.*DType`` classes).  ``torch.load(weights_only=True)`` names these in its
"Unsupported global" error for such checkpoints, and loaders add them with
``torch.serialization.add_safe_globals``.

Added because ComfyUI itself loads every ``.ckpt``/``.pt`` with ``torch.load(weights_only=True)``
after ``torch.serialization.add_safe_globals([ModelCheckpoint, scalar, dtype, Float64DType, encode])``
(``comfy/utils.py`` of comfyanonymous/ComfyUI, ``ALWAYS_SAFE_LOAD`` block): Stable Diffusion 1.x
``.ckpt`` files saved by PyTorch Lightning reference
``pytorch_lightning.callbacks.model_checkpoint.ModelCheckpoint`` (ComfyUI maps it to an empty class),
so that pair is allowed too — what ComfyUI will load, Pumas imports.

Protocol 0–2 pickles written by Python 2 use old module names; the unpickler maps them with
``_compat_pickle`` (``__builtin__`` → ``builtins``, ``copy_reg`` → ``copyreg``), and so does
:func:`canonical` before a lookup.  Entries are ``(module, name)`` pairs, compared exactly: the pair
``("torch", "_utils._rebuild_tensor_v2")`` is *not* the same entry as
``("torch._utils", "_rebuild_tensor_v2")`` and is refused.
"""

from __future__ import annotations

import _compat_pickle

_DTYPES = (
    # _dtype_to_storage_type_map (canonical names; a dtype pickles under str(dtype))
    "float64", "float32", "float16", "int64", "int32", "int16", "int8", "uint8", "bool", "bfloat16",
    "complex128", "complex64", "qint8", "quint8", "qint32", "quint4x2", "quint2x4",
    # _new_dtypes
    "float8_e5m2", "float8_e4m3fn", "float8_e5m2fnuz", "float8_e4m3fnuz", "float8_e8m0fnu",
    "float4_e2m1fn_x2", "bits8", "bits16", "bits1x8", "bits2x4", "bits4x2", "complex32",
    "uint16", "uint32", "uint64",
    # torch.uint1..7, torch.int1..7
    *(f"uint{i}" for i in range(1, 8)), *(f"int{i}" for i in range(1, 8)),
)
_QSCHEMES = ("per_tensor_affine", "per_tensor_symmetric", "per_channel_affine", "per_channel_symmetric",
             "per_channel_affine_float_qparams")
_STORAGE_KINDS = ("Double", "Float", "Half", "Long", "Int", "Short", "Char", "Byte", "Bool", "BFloat16",
                  "ComplexDouble", "ComplexFloat", "QUInt8", "QInt8", "QInt32", "QUInt4x2", "QUInt2x4")
_TENSOR_KINDS = ("Double", "Float", "Half", "Long", "Int", "Short", "Char", "Byte", "Bool", "BFloat16",
                 "ComplexDouble", "ComplexFloat")
_REBUILDERS = ("_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_parameter",
               "_rebuild_parameter_with_state", "_rebuild_qtensor", "_rebuild_sparse_tensor",
               "_rebuild_meta_tensor_no_storage", "_rebuild_wrapper_subclass",
               "_rebuild_device_tensor_from_numpy", "_rebuild_device_tensor_from_cpu_tensor")
_NUMPY_DTYPE_CLASSES = ("Bool", "Int8", "UInt8", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64",
                        "Long", "ULong", "LongLong", "ULongLong", "Byte", "UByte", "Short", "UShort", "Int",
                        "UInt", "Float16", "Float32", "Float64", "LongDouble", "Complex64", "Complex128",
                        "CLongDouble")


def _build() -> frozenset[tuple[str, str]]:
    allowed = {
        ("collections", "OrderedDict"), ("collections", "Counter"),
        ("torch.nn.parameter", "Parameter"), ("torch.serialization", "_get_layout"),
        ("torch", "Size"), ("torch", "Tensor"), ("torch", "device"),
        ("_codecs", "encode"), ("builtins", "bytearray"), ("builtins", "set"), ("builtins", "complex"),
        ("torch._tensor", "_rebuild_from_type_v2"),
        ("torch.storage", "TypedStorage"), ("torch.storage", "UntypedStorage"),
    }
    allowed |= {("torch", d) for d in _DTYPES}
    allowed |= {("torch", q) for q in _QSCHEMES}
    allowed |= {("torch._utils", f) for f in _REBUILDERS}
    for mod in ("torch", "torch.cuda"):
        allowed |= {(mod, f"{k}Storage") for k in _STORAGE_KINDS}
        allowed |= {(mod, f"{k}Tensor") for k in _TENSOR_KINDS}
    allowed |= {("torch.sparse", f"{k}Tensor") for k in _TENSOR_KINDS}
    allowed |= {("torch.cuda.sparse", f"{k}Tensor") for k in _TENSOR_KINDS}
    for core in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed |= {(core, "_reconstruct"), (core, "scalar")}
    allowed |= {("numpy", "ndarray"), ("numpy", "dtype")}
    allowed |= {("numpy.dtypes", f"{k}DType") for k in _NUMPY_DTYPE_CLASSES}
    allowed.add(("pytorch_lightning.callbacks.model_checkpoint", "ModelCheckpoint"))
    return frozenset(allowed)


ALLOWED_GLOBALS: frozenset[tuple[str, str]] = _build()
"""Every ``(module, name)`` a state-dict pickle may import (see the module docstring for sources)."""

def canonical(module: str, name: str, protocol: int) -> tuple[str, str]:
    """Map a Python 2 era ``(module, name)`` to what the unpickler imports for ``protocol`` < 3.

    Uses the standard library's ``_compat_pickle`` tables (what ``pickle.Unpickler`` applies with
    ``fix_imports=True``); protocols >= 3 are returned unchanged.
    """
    if protocol >= 3:
        return module, name
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


def is_allowed(module: str, name: str, protocol: int = 4) -> bool:
    """True if ``module.name`` (after the protocol's name mapping) is on :data:`ALLOWED_GLOBALS`."""
    return canonical(module, name, protocol) in ALLOWED_GLOBALS
