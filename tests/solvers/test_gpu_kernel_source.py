"""The CUDA source of the fused CG kernels compiles for every dtype the GPU path takes (float32/64 and
complex64/128), with ``nvcc`` where the CUDA toolkit is installed: the kernels themselves run in the
``gpu``-marked tests, which need a GPU, but a type error in a template instantiation shows up here."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from solvers.gpu.cg_kernels import CTYPES, NAMES, SOURCE, name_expressions
from solvers.stopping import cuda_defines

NVCC = shutil.which("nvcc")


def test_every_dtype_has_every_kernel():
    assert set(CTYPES) == {"float32", "float64", "complex64", "complex128"}
    for dtype in CTYPES:
        exprs = name_expressions(dtype)
        assert [e.split("<")[0] for e in exprs] == list(NAMES)
        assert all(CTYPES[dtype][1] in e for e in exprs)


@pytest.mark.skipif(NVCC is None, reason="needs nvcc (the CUDA toolkit)")
@pytest.mark.parametrize("dtype", sorted(CTYPES))
def test_kernels_compile_with_nvcc(dtype, tmp_path):
    # taking each instance's address makes nvcc instantiate exactly the name expressions CuPy asks for
    refs = ", ".join(f"(const void*)&{e}" for e in name_expressions(dtype))
    src = tmp_path / "cg_kernels.cu"
    src.write_text(cuda_defines() + SOURCE + f"\nconst void* instances[] = {{{refs}}};\n")
    done = subprocess.run([NVCC, "-std=c++14", "-c", str(src), "-o", str(tmp_path / "k.o")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr.lower(), done.stderr
    cuobjdump = shutil.which("cuobjdump") or shutil.which("cuobjdump", path=str(Path(NVCC).resolve().parent))
    if cuobjdump:  # every kernel is in the object
        symbols = subprocess.run([cuobjdump, "-symbols", str(tmp_path / "k.o")], capture_output=True, text=True)
        assert symbols.returncode == 0, symbols.stderr
        for name in NAMES:
            assert name in symbols.stdout
