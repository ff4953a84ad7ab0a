"""``python -m benchmarks.compare krylov``: BiCGStab, MINRES and GMRES against SciPy's on real and complex
problems (time per iteration in the same run), and complex Helmholtz at 10 points per wavelength with the
shifted-Laplacian preconditioner against SciPy's GMRES with ILU."""
from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import solvers
from pde_examples import convection_diffusion, helmholtz
from pde_examples.sequences import laplacian_delsq

from solvers.threads import single_blas_thread

from .timing import alternate

__all__ = ["run_krylov"]


def _relres(A, x, b) -> float:
    return float(np.linalg.norm(b - A @ x) / np.linalg.norm(b))


def _per_iteration(rows, case, problem, A, b, method, scipy_fn, rtol, repeats, **kw):
    """One row: our method and SciPy's on the same system, iterations and time per iteration."""
    ours = solvers.make_solver(method, rtol=rtol, **kw).setup(A)
    ours.solve(b, maxiter=2)  # compile outside the timing
    count: list[int] = []

    def peer():
        count.clear()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            extra = {"callback_type": "pr_norm"} if scipy_fn is spla.gmres else {}
            if "restart" in kw:
                extra["restart"] = kw["restart"]
            x, info = scipy_fn(A, b, rtol=rtol, maxiter=100_000 if scipy_fn is not spla.gmres else 1000,
                               callback=lambda *_: count.append(1), **extra)
        return x, info

    t = alternate({"ours": lambda: ours.solve(b), "scipy": peer}, repeats)
    res = t["ours"]["result"]
    x_peer, info = t["scipy"]["result"]
    per_ours = t["ours"]["median"] / max(res.iterations, 1)
    per_peer = t["scipy"]["median"] / max(len(count), 1)
    rows.append({"case": case, "problem": problem, "rtol": rtol, "ours its": res.iterations, "peer its": len(count),
                 "ours true relres": _relres(A, res.x, b), "peer true relres": _relres(A, x_peer, b),
                 "ours [ms/it]": 1e3 * per_ours, "peer [ms/it]": 1e3 * per_peer, "ratio": per_ours / per_peer,
                 "goal": "<= 1.0", "peer": f"scipy.sparse.linalg.{scipy_fn.__name__}"})


#: spilu settings tried in turn (SuperLU's ILUTP breaks down on these indefinite matrices: "Factor is exactly
#: singular" with drop_tol 1e-4 at 128^2 and 256^2; 1e-5 with more fill factorizes)
ILU_SETTINGS = ({"drop_tol": 1e-4, "fill_factor": 10}, {"drop_tol": 1e-5, "fill_factor": 20})


def _scipy_ilu(A) -> tuple:
    """SciPy's spilu of ``A`` as a ``LinearOperator``, the first of :data:`ILU_SETTINGS` that factorizes:
    ``(M or None, description, seconds)``; the description names the failures."""
    failed = []
    t0 = time.perf_counter()
    for kw in ILU_SETTINGS:
        what = f"spilu(drop_tol {kw['drop_tol']:g}, fill {kw['fill_factor']})"
        try:
            ilu = spla.spilu(A.tocsc(), **kw)
        except RuntimeError as exc:
            failed.append(f"{what} failed: {exc}")
            continue
        prefix = f"{'; '.join(failed)}; " if failed else ""
        return (spla.LinearOperator(A.shape, matvec=ilu.solve, dtype=A.dtype), prefix + what,
                time.perf_counter() - t0)
    return None, "; ".join(failed), time.perf_counter() - t0


def _helmholtz_rows(rows, n: int, notes: list[str], repeats: int) -> None:
    """Helmholtz 2-D at 10 points per wavelength: our gmres(200) and bicgstab with the shifted-Laplacian
    preconditioner (geometric multigrid) against SciPy's gmres(200) with spilu, and our gmres against SciPy's
    with the same preconditioner as ``M`` (where only the Krylov part differs)."""
    p = helmholtz((n, n))
    A, b = p.A, p.b
    size = f"Helmholtz 2-D {n}x{n}, k={p.meta['k']:.0f}, 10 ppw, Sommerfeld"
    limit = 2000
    ours = {}
    for method, opts in (("gmres", {"restart": 200}), ("bicgstab", {})):
        s = solvers.make_solver(method, pc="shifted-laplacian", rtol=1e-8, maxiter=limit, **opts).setup(A)
        s.solve(b, maxiter=2)  # compile outside the timing
        ours[method] = s
    pc = ours["gmres"].pc

    def pc_apply(r):  # as inside our solves: NumPy's BLAS on one thread beside the threaded kernels
        with single_blas_thread():
            return pc.apply(r)

    M_sl = spla.LinearOperator(A.shape, matvec=pc_apply, dtype=A.dtype)
    M_ilu, ilu_name, ilu_setup = _scipy_ilu(A)
    counts: dict[str, list[int]] = {"ilu": [], "sl": []}

    def scipy_gmres(M, key):
        def run():
            counts[key].clear()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return spla.gmres(A, b, M=M, rtol=1e-8, restart=200, maxiter=limit // 200,
                                  callback=lambda _: counts[key].append(1), callback_type="pr_norm")
        return run

    contenders = {"gmres": lambda: ours["gmres"].solve(b), "bicgstab": lambda: ours["bicgstab"].solve(b),
                  "scipy sl": scipy_gmres(M_sl, "sl")}
    if M_ilu is not None:
        contenders["scipy ilu"] = scipy_gmres(M_ilu, "ilu")
    t = alternate(contenders, repeats)
    peers = {"ilu": {"name": f"SciPy gmres(200) + {ilu_name}", "its": None, "relres": None, "per": None,
                     "total": None}}
    for key, name in (("ilu", f"SciPy gmres(200) + {ilu_name}"),
                      ("sl", "SciPy gmres(200) + the same shifted-laplacian as M")):
        if f"scipy {key}" not in t:
            continue
        x, info = t[f"scipy {key}"]["result"]
        its = len(counts[key])
        setup = ilu_setup if key == "ilu" else ours["gmres"].setup_time
        verdict = "converged" if info == 0 else f"NOT converged: info {info}, stopped at {its} its"
        peers[key] = {"name": f"{name}: {verdict}", "its": its, "relres": _relres(A, x, b),
                      "per": t[f"scipy {key}"]["median"] / max(its, 1), "total": setup + t[f"scipy {key}"]["median"]}
    pairs = (("gmres", "ilu"), ("bicgstab", "ilu"), ("gmres", "sl"))
    for method, key in pairs:
        res = t[method]["result"]
        label = "gmres(200)" if method == "gmres" else "bicgstab"
        per = t[method]["median"] / max(res.iterations, 1)
        peer = peers[key]
        rows.append({"case": f"{label} + shifted-laplacian ({ours[method].pc.mode} multigrid, F-cycle, "
                             f"beta=(1, 0.5)), {res.reason.name}",
                     "problem": size, "rtol": 1e-8, "ours its": res.iterations, "peer its": peer["its"],
                     "ours true relres": _relres(A, res.x, b), "peer true relres": peer["relres"],
                     "ours [ms/it]": 1e3 * per, "peer [ms/it]": None if peer["per"] is None else 1e3 * peer["per"],
                     "ratio": None if peer["per"] is None else per / peer["per"],
                     "ours [s]": ours[method].setup_time + t[method]["median"], "peer [s]": peer["total"],
                     "goal": "converged to 1e-8 (true residual)", "peer": peer["name"]})
    notes.append(f"Helmholtz {n}x{n}: {p.n} unknowns, k = {p.meta['k']:.1f}; [s] is set-up (multigrid hierarchy, "
                 f"ILU factorization: {ilu_setup:.1f} s, {ilu_name}) plus the median solve; a bicgstab iteration applies the "
                 "preconditioner twice, a gmres iteration once.")


def run_krylov(quick: bool = False, out: Path | None = None, repeats: int = 2) -> tuple[list[dict], list[str]]:
    """Rows of the krylov table and notes."""
    rows: list[dict] = []
    notes: list[str] = []
    n = 256 if quick else 512
    # real nonsymmetric: bicgstab and gmres against SciPy's
    cd = convection_diffusion((n, n), nu=0.01)
    b = np.random.default_rng(0).standard_normal(cd.n)
    _per_iteration(rows, "bicgstab, no preconditioner", f"convection-diffusion {n}x{n} (real)", cd.A, b,
                   "bicgstab", spla.bicgstab, 1e-8, repeats)
    _per_iteration(rows, "gmres(30), no preconditioner", f"convection-diffusion {n}x{n} (real)", cd.A, b,
                   "gmres", spla.gmres, 1e-6, repeats, restart=30)
    # complex nonsymmetric: the same with an absorbing diagonal
    Ac = (cd.A + 0.3j * sp.diags(cd.A.diagonal())).tocsr()
    bc = b + 1j * np.random.default_rng(1).standard_normal(cd.n)
    _per_iteration(rows, "bicgstab, no preconditioner", f"absorbing convection-diffusion {n}x{n} (complex)", Ac, bc,
                   "bicgstab", spla.bicgstab, 1e-8, repeats)
    _per_iteration(rows, "gmres(30), no preconditioner", f"absorbing convection-diffusion {n}x{n} (complex)", Ac,
                   bc, "gmres", spla.gmres, 1e-8, repeats, restart=30)
    # real symmetric indefinite: minres against SciPy's (SciPy's minres takes real matrices only)
    m = n // 2
    Ai = (laplacian_delsq(m) - 0.4 * sp.eye(m * m)).tocsr()  # eigenvalues in (-0.4, 7.6): indefinite
    bi = np.random.default_rng(2).standard_normal(Ai.shape[0])
    _per_iteration(rows, "minres, no preconditioner", f"5-point Laplacian - 0.4 I, {m}x{m} (real, indefinite)", Ai, bi,
                   "minres", spla.minres, 1e-8, repeats)
    notes.append("SciPy's minres stops on ||r|| / (||A|| ||x||) <= rtol, ours on ||r|| <= rtol ||b|| (true "
                 "residual): its count is for a weaker test; compare the true relres columns.")
    notes.append("SciPy's gmres is left preconditioned and counts inner iterations through the pr_norm callback.")
    for size in ((128, 256) if quick else (256, 512)):
        _helmholtz_rows(rows, size, notes, repeats)
    return rows, notes
