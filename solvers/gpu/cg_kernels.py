"""CUDA kernels for conjugate gradients on the GPU, with the stopping test kept on the device.

Why hand-written: a CG iteration built from cuSPARSE and CuPy's BLAS-1 calls reads the vectors about
twice as often as needed and, to test convergence, copies a norm to the host every iteration, which
stalls the GPU. These kernels fuse the mat-vec with ``p.Ap`` and the vector updates with ``r.r``, and
keep every scalar (alpha, beta, the residual history, a ``done`` flag) in device memory: the kernels
that change the state do nothing once ``done`` is set, so the host may look at the flag only every few
iterations while the reported iteration count and iterate stay those of the first iterate that met
the tolerance.

Scalar slots (array ``s`` of the working dtype): 0 = rz (r.z of the current iterate), 1 = p.Ap,
2 = accumulator of r.z, 3 = accumulator of r.r, 4 = tol^2, 5 = beta, 6 = the divergence limit^2.
``state`` (int32): 0 = done code (a ``solvers.stopping.Status`` number, ``STATUS_ITERATING`` while
running: the ``#define`` lines come from :func:`solvers.stopping.cuda_defines`), 1 = iteration count,
2 = maxiter. ``scalar_step`` tests in the order of :func:`solvers.stopping.check`.
"""
from __future__ import annotations

from functools import lru_cache

from ..stopping import cuda_defines

SOURCE = r"""
template<typename T>
__device__ __forceinline__ T warp_sum(T v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffff, v, o);
    return v;
}

template<typename T>
__device__ __forceinline__ void block_add(T v, T* target) {
    __shared__ T part[32];
    v = warp_sum(v);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) part[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = (threadIdx.x < (blockDim.x >> 5)) ? part[lane] : T(0);
        v = warp_sum(v);
        if (lane == 0) atomicAdd(target, v);
    }
}

// ap = A p and s[1] += p . ap  (CSR, one thread per row, grid-stride)
template<typename T>
__global__ void spmv_dot(int n, const int* __restrict__ ptr, const int* __restrict__ idx,
                         const T* __restrict__ val, const T* __restrict__ p, T* __restrict__ ap,
                         T* s, const int* state) {
    if (state[0]) return;
    T local = 0;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
        T acc = 0;
        for (int k = ptr[i]; k < ptr[i + 1]; ++k) acc += val[k] * p[idx[k]];
        ap[i] = acc;
        local += p[i] * acc;
    }
    block_add(local, s + 1);
}

// x += alpha p; r -= alpha ap; s[3] += r.r   with alpha = s[0] / s[1]
template<typename T>
__global__ void update(int n, T* __restrict__ x, T* __restrict__ r, const T* __restrict__ p,
                       const T* __restrict__ ap, T* s, int* state) {
    if (state[0]) return;
    T pap = s[1];
    if (!(pap > T(0))) return;   // the scalar step reports it; nothing moves
    T alpha = s[0] / pap;
    T local = 0;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
        x[i] += alpha * p[i];
        T ri = r[i] - alpha * ap[i];
        r[i] = ri;
        local += ri * ri;
    }
    block_add(local, s + 3);
}

// s[2] += r . z   (preconditioned CG only)
template<typename T>
__global__ void dot_rz(int n, const T* __restrict__ r, const T* __restrict__ z, T* s, const int* state) {
    if (state[0]) return;
    T local = 0;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) local += r[i] * z[i];
    block_add(local, s + 2);
}

// one thread: bookkeeping, stopping test (solvers.stopping.check's order), beta
template<typename T>
__global__ void scalar_step(T* s, int* state, double* hist, int preconditioned) {
    if (state[0]) return;
    T pap = s[1];
    if (!(pap > T(0))) { state[0] = (pap == pap) ? STATUS_INDEFINITE_MAT : STATUS_NANORINF; return; }
    int it = state[1] + 1;
    state[1] = it;
    T rr = s[3];
    hist[it] = sqrt((double)rr);
    T rz = preconditioned ? s[2] : rr;
    if (rr <= s[4]) { state[0] = STATUS_CONVERGED; return; }
    if (!isfinite((double)rr)) { state[0] = STATUS_NANORINF; return; }
    if (rr > s[6]) { state[0] = STATUS_DTOL; return; }
    if (it >= state[2]) { state[0] = STATUS_MAXITER; return; }
    if (preconditioned && !(rz > T(0))) { state[0] = STATUS_INDEFINITE_PC; return; }
    s[5] = rz / s[0];
    s[0] = rz;
    s[1] = 0; s[2] = 0; s[3] = 0;
}

// p = z + beta p
template<typename T>
__global__ void xpby(int n, const T* __restrict__ z, T* __restrict__ p, const T* s, const int* state) {
    if (state[0]) return;
    T beta = s[5];
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) p[i] = z[i] + beta * p[i];
}
"""

NAMES = ("spmv_dot", "update", "dot_rz", "scalar_step", "xpby")


@lru_cache(maxsize=None)
def kernels(dtype_name: str) -> dict:
    """The compiled kernels for ``'float64'`` or ``'float32'`` (compiled once per process)."""
    import cupy

    ctype = {"float64": "double", "float32": "float"}[dtype_name]
    exprs = [f"{name}<{ctype}>" for name in NAMES]
    module = cupy.RawModule(code=cuda_defines() + SOURCE, options=("-std=c++14",), name_expressions=exprs)
    return {name: module.get_function(expr) for name, expr in zip(NAMES, exprs)}
