"""CUDA kernels for conjugate gradients on the GPU, with the stopping test kept on the device.

Why hand-written: a CG iteration built from cuSPARSE and CuPy's BLAS-1 calls reads the vectors about
twice as often as needed and, to test convergence, copies a norm to the host every iteration, which
stalls the GPU. These kernels fuse the mat-vec with ``p.Ap`` and the vector updates with ``r.r``, and
keep every scalar (alpha, beta, the residual history, a ``done`` flag) in device memory: the kernels
that change the state do nothing once ``done`` is set, so the host may look at the flag only every few
iterations while the reported iteration count and iterate stay those of the first iterate that met
the tolerance.

Complex (Hermitian positive definite) systems use the same kernels on a two-float element type: the
inner products ``r^H r``, ``r^H z`` and ``p^H A p`` are real, so are alpha and beta, and every scalar
lives in the real dtype.

Scalar slots (array ``s`` of the real dtype of the vectors): 0 = rz (r.z of the current iterate), 1 = p.Ap,
2 = accumulator of r.z, 3 = accumulator of r.r, 4 = tol^2, 5 = beta, 6 = the divergence limit^2.
``state`` (int32): 0 = done code (a ``solvers.stopping.Status`` number, ``STATUS_ITERATING`` while
running: the ``#define`` lines come from :func:`solvers.stopping.cuda_defines`), 1 = iteration count,
2 = maxiter. ``scalar_step`` tests in the order of :func:`solvers.stopping.check`.
"""
from __future__ import annotations

from functools import lru_cache

from ..stopping import cuda_defines

SOURCE = r"""
// V: the vector element type (float, double or cplx<float/double>); R: its real type, the type of every
// scalar in s (for Hermitian positive definite systems r^H z, p^H A p, alpha and beta are real)
template<typename R> struct alignas(2 * sizeof(R)) cplx { R re, im; };
template<typename R> __device__ __forceinline__ cplx<R> operator+(cplx<R> a, cplx<R> b) { return {a.re + b.re, a.im + b.im}; }
template<typename R> __device__ __forceinline__ cplx<R> operator-(cplx<R> a, cplx<R> b) { return {a.re - b.re, a.im - b.im}; }
template<typename R> __device__ __forceinline__ cplx<R> operator*(cplx<R> a, cplx<R> b) {
    return {a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re};
}
template<typename R> __device__ __forceinline__ cplx<R> operator*(R s, cplx<R> a) { return {s * a.re, s * a.im}; }
template<typename R> __device__ __forceinline__ cplx<R>& operator+=(cplx<R>& a, cplx<R> b) { a = a + b; return a; }
// the real part of conj(a) b: the terms of a Hermitian inner product whose sum is real
__device__ __forceinline__ float re_dot(float a, float b) { return a * b; }
__device__ __forceinline__ double re_dot(double a, double b) { return a * b; }
template<typename R> __device__ __forceinline__ R re_dot(cplx<R> a, cplx<R> b) { return a.re * b.re + a.im * b.im; }

template<typename R>
__device__ __forceinline__ R warp_sum(R v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffff, v, o);
    return v;
}

template<typename R>
__device__ __forceinline__ void block_add(R v, R* target) {
    __shared__ R part[32];
    v = warp_sum(v);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) part[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = (threadIdx.x < (blockDim.x >> 5)) ? part[lane] : R(0);
        v = warp_sum(v);
        if (lane == 0) atomicAdd(target, v);
    }
}

// ap = A p and s[1] += Re(p^H ap)  (CSR, one thread per row, grid-stride)
template<typename V, typename R>
__global__ void spmv_dot(int n, const int* __restrict__ ptr, const int* __restrict__ idx,
                         const V* __restrict__ val, const V* __restrict__ p, V* __restrict__ ap,
                         R* s, const int* state) {
    if (state[0]) return;
    R local = 0;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
        V acc{};
        for (int k = ptr[i]; k < ptr[i + 1]; ++k) acc += val[k] * p[idx[k]];
        ap[i] = acc;
        local += re_dot(p[i], acc);
    }
    block_add(local, s + 1);
}

// x += alpha p; r -= alpha ap; s[3] += r^H r   with alpha = s[0] / s[1]
template<typename V, typename R>
__global__ void update(int n, V* __restrict__ x, V* __restrict__ r, const V* __restrict__ p,
                       const V* __restrict__ ap, R* s, int* state) {
    if (state[0]) return;
    R pap = s[1];
    if (!(pap > R(0))) return;   // the scalar step reports it; nothing moves
    R alpha = s[0] / pap;
    R local = 0;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
        x[i] += alpha * p[i];
        V ri = r[i] - alpha * ap[i];
        r[i] = ri;
        local += re_dot(ri, ri);
    }
    block_add(local, s + 3);
}

// s[2] += Re(r^H z)   (preconditioned CG only)
template<typename V, typename R>
__global__ void dot_rz(int n, const V* __restrict__ r, const V* __restrict__ z, R* s, const int* state) {
    if (state[0]) return;
    R local = 0;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) local += re_dot(r[i], z[i]);
    block_add(local, s + 2);
}

// one thread: bookkeeping, stopping test (solvers.stopping.check's order), beta
template<typename R>
__global__ void scalar_step(R* s, int* state, double* hist, int preconditioned) {
    if (state[0]) return;
    R pap = s[1];
    if (!(pap > R(0))) { state[0] = (pap == pap) ? STATUS_INDEFINITE_MAT : STATUS_NANORINF; return; }
    int it = state[1] + 1;
    state[1] = it;
    R rr = s[3];
    hist[it] = sqrt((double)rr);
    R rz = preconditioned ? s[2] : rr;
    if (!isfinite((double)rr)) { state[0] = STATUS_NANORINF; return; }
    if (rr <= s[4]) { state[0] = STATUS_CONVERGED; return; }
    if (rr > s[6]) { state[0] = STATUS_DTOL; return; }
    if (it >= state[2]) { state[0] = STATUS_MAXITER; return; }
    if (preconditioned && !(rz > R(0))) { state[0] = STATUS_INDEFINITE_PC; return; }
    s[5] = rz / s[0];
    s[0] = rz;
    s[1] = 0; s[2] = 0; s[3] = 0;
}

// p = z + beta p
template<typename V, typename R>
__global__ void xpby(int n, const V* __restrict__ z, V* __restrict__ p, const R* s, const int* state) {
    if (state[0]) return;
    R beta = s[5];
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) p[i] = z[i] + beta * p[i];
}
"""

NAMES = ("spmv_dot", "update", "dot_rz", "scalar_step", "xpby")


#: dtype name -> (vector element type, real scalar type) in the CUDA source
CTYPES = {"float32": ("float", "float"), "float64": ("double", "double"),
          "complex64": ("cplx<float>", "float"), "complex128": ("cplx<double>", "double")}


def name_expressions(dtype_name: str) -> list[str]:
    """The template instantiations of :data:`NAMES` for ``dtype_name`` (a key of :data:`CTYPES`).

    Examples
    --------
    >>> name_expressions("complex128")[0]
    'spmv_dot<cplx<double>, double>'
    """
    vector, real = CTYPES[dtype_name]
    return [f"{name}<{real}>" if name == "scalar_step" else f"{name}<{vector}, {real}>" for name in NAMES]


@lru_cache(maxsize=None)
def kernels(dtype_name: str) -> dict:
    """The compiled kernels for ``'float32'``, ``'float64'``, ``'complex64'`` or ``'complex128'`` (compiled
    once per process); the scalar array ``s`` they share has the real dtype."""
    import cupy

    exprs = name_expressions(dtype_name)
    module = cupy.RawModule(code=cuda_defines() + SOURCE, options=("-std=c++14",), name_expressions=exprs)
    return {name: module.get_function(expr) for name, expr in zip(NAMES, exprs)}
