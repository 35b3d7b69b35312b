"""Running ONNX models: execution providers picked automatically, optional dependencies with a pip line.

Providers are tried in the order CUDA, CoreML, DirectML, CPU among those onnxruntime offers here. The choice can
be overridden per session (``providers=["cpu"]``) or for the whole process with ``TRYON_PROVIDERS`` (a comma list
such as ``cuda,cpu``; full names like ``CUDAExecutionProvider`` work too).

Example:
    >>> from tryon.models import ModelManager, onnx_session
    >>> models = ModelManager()
    >>> session = onnx_session(models.path("sinet-portrait-onnx"))  # doctest: +SKIP
    >>> session.get_providers()  # doctest: +SKIP
    ['CPUExecutionProvider']
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Union

from tryon.errors import DependencyError, ModelError

if TYPE_CHECKING:
    from tryon.models.card import ModelCard

__all__ = [
    "AUTO_PROVIDERS",
    "ENV_PROVIDERS",
    "PROVIDER_ALIASES",
    "import_optional",
    "onnx_session",
    "select_providers",
]

log = logging.getLogger(__name__)

ENV_PROVIDERS = "TRYON_PROVIDERS"

#: What "auto" tries, in order, among the providers onnxruntime offers.
AUTO_PROVIDERS: tuple[str, ...] = (
    "CUDAExecutionProvider",
    "CoreMLExecutionProvider",
    "DmlExecutionProvider",
    "CPUExecutionProvider",
)

#: Short names accepted for providers (case-insensitive).
PROVIDER_ALIASES: dict[str, str] = {
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "coreml": "CoreMLExecutionProvider",
    "directml": "DmlExecutionProvider",
    "dml": "DmlExecutionProvider",
    "rocm": "ROCMExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
    "cpu": "CPUExecutionProvider",
}

Providers = Union[str, Sequence[str]]


def import_optional(module: str, extra: str, package: str | None = None) -> ModuleType:
    """Imports an optional dependency, or says exactly how to install it.

    Args:
        module: the module to import, such as ``"onnxruntime"``.
        extra: tryon's extra that brings it, such as ``"onnx"``.
        package: the package's name on PyPI when it differs from the module's.

    Raises:
        DependencyError: with the line ``pip install "tryon[EXTRA]"``.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise DependencyError(
            f'{package or module} is missing ({exc}); install it with: pip install "tryon[{extra}]"'
        ) from exc


def select_providers(providers: Providers = "auto", available: Sequence[str] | None = None) -> list[str]:
    """The execution providers to use, in order.

    Args:
        providers: "auto" (``TRYON_PROVIDERS`` when set, else CUDA, CoreML, DirectML, CPU among those available),
            or provider names as a list or a comma-separated text (short names: cuda, coreml, directml, cpu, ...).
        available: the providers onnxruntime offers (default: asks onnxruntime).

    Raises:
        ModelError: for a provider that is unknown or not available here, listing the available ones.
        DependencyError: when onnxruntime is missing and ``available`` is not given.
    """
    if available is None:
        ort = import_optional("onnxruntime", "onnx")
        available = list(ort.get_available_providers())
    given = "providers"
    if isinstance(providers, str):
        text = providers.strip()
        if text.lower() == "auto":
            env = os.environ.get(ENV_PROVIDERS, "").strip()
            if not env or env.lower() == "auto":
                chosen = [p for p in AUTO_PROVIDERS if p in available]
                return chosen or list(available)
            text, given = env, f"{ENV_PROVIDERS}={env}"
        requested = [p.strip() for p in text.split(",") if p.strip()]
    else:
        requested = [str(p).strip() for p in providers]
    by_lower = {p.lower(): p for p in available}
    names = f"{', '.join(available) or 'none'} (short names: {', '.join(sorted(PROVIDER_ALIASES))})"
    if not requested:
        raise ModelError(f"{given}: no execution provider given; available here: {names}")
    chosen = []
    for name in requested:
        full = by_lower.get(PROVIDER_ALIASES.get(name.lower(), name).lower())
        if full is None:
            known = name.lower() in PROVIDER_ALIASES or name in PROVIDER_ALIASES.values()
            what = "is not available here" if known else "is unknown"
            raise ModelError(f"{given}: execution provider {name!r} {what}; available here: {names}")
        if full not in chosen:
            chosen.append(full)
    return chosen


def onnx_session(
    path: str | Path,
    providers: Providers = "auto",
    *,
    card: ModelCard | None = None,
    threads: int | None = None,
) -> Any:
    """An ``onnxruntime.InferenceSession`` for a model file, on the best execution provider available.

    Args:
        path: the ``.onnx`` file (usually :meth:`tryon.models.ModelManager.path`).
        providers: "auto" or provider names (see :func:`select_providers`).
        card: when given, the network's input and output shapes are checked against it.
        threads: intra-op threads (default: onnxruntime's choice).

    Raises:
        DependencyError: when onnxruntime is missing.
        ModelError: for an unavailable provider, a file onnxruntime cannot load, or shapes that contradict the card.
    """
    ort = import_optional("onnxruntime", "onnx")
    chosen = select_providers(providers, list(ort.get_available_providers()))
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: some exported graphs warn about every initializer
    if threads is not None:
        options.intra_op_num_threads = threads
    try:
        session = ort.InferenceSession(str(path), sess_options=options, providers=chosen)
    except Exception as exc:  # onnxruntime raises its own exception types (Fail, InvalidProtobuf, NoSuchFile...)
        raise ModelError(f"{path}: onnxruntime could not load it ({type(exc).__name__}: {exc})") from None
    log.info("%s: running on %s", Path(path).name, ", ".join(session.get_providers()))
    if card is not None:
        inputs, outputs = session.get_inputs(), session.get_outputs()
        card.check_shapes(inputs[0].shape, outputs[0].shape, file=str(path))
    return session
