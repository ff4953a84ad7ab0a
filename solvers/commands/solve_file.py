"""``solverkit solve FILE.mtx``: solve a user's Matrix Market system and report."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import scipy.io

from ..api import solve
from ..errors import InvalidInputError
from ..inputs import as_matrix

__all__ = ["add_arguments", "run", "read_matrix", "read_vector"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("matrix", type=Path, help="Matrix Market file (.mtx, optionally .gz)")
    p.add_argument("--rhs", type=Path, help="right-hand side: Matrix Market or text, one value a line "
                   "(default: b = A @ ones, so the error against the exact solution is shown too)")
    p.add_argument("--method", default="cg")
    p.add_argument("--pc", default=None)
    p.add_argument("--rtol", type=float, default=1e-8)
    p.add_argument("--atol", type=float, default=0.0)
    p.add_argument("--maxiter", type=int, default=None)
    p.add_argument("--options", default=None, help="PETSc-style options, e.g. '-pc_sor_omega 1.5'")
    p.add_argument("--plot", type=Path, help="write the residual history to this PNG")
    p.add_argument("--out", type=Path, help="write the solution to this text file")


def read_matrix(path: Path):
    if not path.exists():
        raise InvalidInputError(f"{path}: no such file")
    try:
        A = scipy.io.mmread(str(path))
    except Exception as exc:  # scipy raises ValueError/IndexError/... for malformed files
        raise InvalidInputError(f"{path}: not a readable Matrix Market file ({exc})") from exc
    return as_matrix(A)


def _loadtxt(path: Path) -> np.ndarray:
    """One value a line, real (``1.5``) or complex (``1.5+2j``)."""
    try:
        return np.loadtxt(path, ndmin=1)
    except ValueError:
        return np.loadtxt(path, ndmin=1, dtype=np.complex128)


def read_vector(path: Path, n: int) -> np.ndarray:
    if not path.exists():
        raise InvalidInputError(f"{path}: no such file")
    try:
        v = scipy.io.mmread(str(path)) if path.suffix in (".mtx", ".gz") else _loadtxt(path)
        v = np.asarray(v.toarray() if hasattr(v, "toarray") else v)
        v = v.astype(np.result_type(v.dtype, np.float64)).ravel()  # complex stays complex
    except Exception as exc:
        raise InvalidInputError(f"{path}: not a readable vector ({exc})") from exc
    if v.size != n:
        raise InvalidInputError(f"{path}: has {v.size} values, the matrix has {n} rows")
    return v


def run(args: argparse.Namespace) -> int:
    A = read_matrix(args.matrix)
    exact = None
    if args.rhs is not None:
        b = read_vector(args.rhs, A.shape[0])
    else:
        exact = np.ones(A.shape[0])
        b = A @ exact
    extra = {"options": args.options} if args.options else {}
    res = solve(A, b, method=args.method, pc=args.pc, rtol=args.rtol, atol=args.atol, maxiter=args.maxiter, **extra)
    print(f"matrix     : {args.matrix} ({A.shape[0]} x {A.shape[1]}, {A.nnz} nonzeros)")
    print(f"method     : {res.method}" + (f" + {res.options['pc']}" if "pc" in res.options else ""))
    print(f"reason     : {res.reason.name} ({res.reason.message})")
    print(f"iterations : {res.iterations}")
    print(f"setup time : {res.setup_time:.4g} s")
    print(f"solve time : {res.solve_time:.4g} s")
    print(f"rel. resid.: {res.relative_residual:.3e}")
    if exact is not None:
        print(f"rel. error : {np.linalg.norm(res.x - exact) / np.linalg.norm(exact):.3e} (against x = ones)")
    if args.out:
        tmp = args.out.with_name(args.out.name + ".tmp")
        np.savetxt(tmp, res.x)
        tmp.replace(args.out)
        print(f"solution   : {args.out}")
    if args.plot:
        from ..plotting import plot_residuals

        plot_residuals({res.method: res}, args.plot, title=str(args.matrix.name))
        print(f"plot       : {args.plot}")
    return 0 if res.converged else 1
