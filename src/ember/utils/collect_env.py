"""``torch.utils.collect_env``: a report of the environment ember runs in, for bug reports, laid out as torch's
(``python -m ember.utils.collect_env``).

Only what concerns ember is reported: its own version, the array libraries under it (NumPy, and CuPy for GPUs),
Python, the OS and the CPU, the NVIDIA driver and GPUs when ``nvidia-smi`` answers. torch's build fields (compiler,
CMake, cuDNN, ROCm, XPU, XNNPACK, allocator settings) have no counterpart in ember and are left out. A value that
cannot be found reads "Could not collect"; one that does not apply (CuPy not installed) reads "N/A".
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from typing import Any, NamedTuple

from .. import version as _version

__all__ = ["SystemEnv", "get_env_info", "get_pretty_env_info", "main"]

# distributions worth naming in a report: ember, its array back ends and its optional dependencies
_RELEVANT = re.compile(r"^(ember|numpy|cupy.*|mpi4py|nccl.*|nvidia-nccl.*|safetensors|matplotlib|scikit-learn|"
                       r"tqdm|torch|torchvision)$", re.IGNORECASE)


class SystemEnv(NamedTuple):
    """What :func:`get_env_info` collects (None where it could not be found)."""

    ember_version: str
    is_debug_build: bool
    numpy_version: str | None
    cupy_version: str | None
    os: str | None
    libc_version: str | None
    python_version: str
    python_platform: str
    is_cuda_available: bool
    cuda_runtime_version: str | None
    nvidia_gpu_models: str | None
    nvidia_driver_version: str | None
    pip_packages: str | None
    conda_packages: str | None
    cpu_info: str | None


def _run(*cmd: str) -> str | None:
    """A command's stripped standard output, or None when it is missing or fails."""
    import subprocess

    if shutil.which(cmd[0]) is None:
        return None
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _os() -> str | None:
    import platform

    machine = platform.machine()
    if sys.platform.startswith("linux"):
        try:
            name = platform.freedesktop_os_release().get("PRETTY_NAME")
        except OSError:
            name = None
        return f"{name or platform.platform()} ({machine})"
    if sys.platform == "darwin":
        return f"macOS {platform.mac_ver()[0]} ({machine})"
    if sys.platform == "win32":
        return f"{platform.system()} {platform.release()} ({machine})"
    return platform.platform() or None


def _libc() -> str | None:
    import platform

    lib, ver = platform.libc_ver()
    return f"{lib}-{ver}" if lib else "N/A"


def _cpu() -> str | None:
    import platform

    if sys.platform.startswith("linux"):
        return _run("lscpu")
    if sys.platform == "darwin":
        return _run("sysctl", "-n", "machdep.cpu.brand_string")
    return platform.processor() or None


def _cupy() -> Any:
    try:
        import cupy
    except Exception:   # not installed, or installed without a usable CUDA
        return None
    return cupy


def _cuda_runtime(cupy: Any) -> str | None:
    try:
        v = cupy.cuda.runtime.runtimeGetVersion()
    except Exception:
        return None
    return f"{v // 1000}.{v % 1000 // 10}"


def _gpus() -> str | None:
    out = _run("nvidia-smi", "-L")
    return None if out is None else re.sub(r" \(UUID: [^)]*\)", "", out)


def _packages(listing: str | None, tag: str) -> str | None:
    if listing is None:
        return None
    return "\n".join(f"{tag} {line}" for line in listing.splitlines() if line.split()
                     and _RELEVANT.match(line.split()[0].split("==")[0]))


def _pip() -> str:
    import importlib.metadata

    found = sorted({f"{d.metadata['Name']}=={d.version}" for d in importlib.metadata.distributions()
                    if d.metadata["Name"] and _RELEVANT.match(d.metadata["Name"])}, key=str.lower)
    return _packages("\n".join(found), "[pip3]") or ""


def get_env_info() -> SystemEnv:
    """Collect the environment (runs ``lscpu``, ``nvidia-smi`` and ``conda list`` where present)."""
    import platform

    import numpy

    from .. import cuda

    cupy = _cupy()
    return SystemEnv(
        ember_version=_version.__version__,
        is_debug_build=_version.debug,
        numpy_version=numpy.__version__,
        cupy_version=cupy.__version__ if cupy is not None else "N/A",
        os=_os(),
        libc_version=_libc(),
        python_version=f"{sys.version.replace(chr(10), ' ')} ({sys.maxsize.bit_length() + 1}-bit runtime)",
        python_platform=platform.platform(),
        is_cuda_available=cuda.is_available(),
        cuda_runtime_version=_cuda_runtime(cupy) if cupy is not None else None,
        nvidia_gpu_models=_gpus(),
        nvidia_driver_version=_run("nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"),
        pip_packages=_pip(),
        conda_packages=_packages(_run(os.environ.get("CONDA_EXE", "conda"), "list"), "[conda]"),
        cpu_info=_cpu(),
    )


_FORMAT = """
ember version: {ember_version}
Is debug build: {is_debug_build}
NumPy version: {numpy_version}
CuPy version: {cupy_version}

OS: {os}
Libc version: {libc_version}

Python version: {python_version}
Python platform: {python_platform}
Is CUDA available: {is_cuda_available}
CUDA runtime version: {cuda_runtime_version}
GPU models and configuration: {nvidia_gpu_models}
Nvidia driver version: {nvidia_driver_version}

CPU:
{cpu_info}

Versions of relevant libraries:
{pip_packages}
{conda_packages}
""".strip()


def pretty_str(env: SystemEnv) -> str:
    """``env`` in torch's report layout: missing values read "Could not collect" (or "No CUDA" for the GPU
    fields when there is no CUDA at all), a multi-line GPU list starts on its own line."""
    fields = env._asdict()
    gpu_fields = ("cuda_runtime_version", "nvidia_gpu_models", "nvidia_driver_version")
    if not env.is_cuda_available and all(fields[f] is None for f in gpu_fields):
        fields.update(dict.fromkeys(gpu_fields, "No CUDA"))
    models = fields["nvidia_gpu_models"]
    if models is not None and "\n" in models:
        fields["nvidia_gpu_models"] = f"\n{models}\n"
    if fields["pip_packages"] == "":
        fields["pip_packages"] = "No relevant packages"
    fields = {k: "Could not collect" if v is None else v for k, v in fields.items()}
    return _FORMAT.format(**fields)


def get_pretty_env_info() -> str:
    """The environment report as text (:func:`get_env_info` laid out by :func:`pretty_str`)."""
    return pretty_str(get_env_info())


def main() -> None:
    """Print the environment report."""
    print("Collecting environment information...")
    print(get_pretty_env_info())


if __name__ == "__main__":
    main()
