"""``solverkit solve FILE.mtx``: solve a user's Matrix Market system and report."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import scipy.io

from ..api import solve
from ..errors import InvalidInputError
from ..inputs import as_matrix
from ..nullspace import NullSpace, resolve

__all__ = ["add_arguments", "run", "read_matrix", "read_vector"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add ``solverkit solve``'s options to its parser."""
    p.add_argument("matrix", type=Path, help="Matrix Market file (.mtx, optionally .gz)")
    p.add_argument("--rhs", type=Path, help="right-hand side: Matrix Market or text, one value a line "
                   "(default: b = A @ ones, so the error against the exact solution is shown too; for a singular "
                   "matrix b = A @ x for a seeded random x orthogonal to the null space)")
    p.add_argument("--nullspace", default="auto", help="the matrix's null space: 'auto' (default: the constants "
                   "when rows and columns sum to zero, isolated unknowns), 'none', 'constant', or a file of basis "
                   "vectors (Matrix Market, or text with one vector a column)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random x behind the default b of a singular "
                   "matrix")
    p.add_argument("--method", default="cg")
    p.add_argument("--pc", default=None)
    p.add_argument("--rtol", type=float, default=1e-8)
    p.add_argument("--atol", type=float, default=0.0)
    p.add_argument("--maxiter", type=int, default=None)
    p.add_argument("--options", default=None, help="PETSc-style options, e.g. '-pc_sor_omega 1.5'")
    p.add_argument("--plot", type=Path, help="write the residual history to this PNG")
    p.add_argument("--out", type=Path, help="write the solution to this text file")


def read_matrix(path: Path):  # noqa: ANN201
    """Read a Matrix Market file as a sparse matrix; :class:`solvers.InvalidInputError` for a missing or bad file."""
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
    """Read a vector of length ``n`` (Matrix Market, or text with one value a line)."""
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


def read_nullspace(spec: str, A) -> NullSpace | None:
    """``--nullspace``: a keyword, or a file of basis vectors; checked against ``A``."""
    if spec in ("auto", "constant"):
        return resolve(spec, A)
    if spec == "none":
        return None
    path = Path(spec)
    if not path.exists():
        raise InvalidInputError(f"--nullspace {spec}: neither auto, none, constant nor an existing file")
    try:
        V = scipy.io.mmread(str(path)) if path.suffix in (".mtx", ".gz") else np.loadtxt(path, ndmin=2)
        V = np.asarray(V.toarray() if hasattr(V, "toarray") else V, dtype=np.float64)
    except Exception as exc:
        raise InvalidInputError(f"{path}: not a readable set of vectors ({exc})") from exc
    return resolve(V.reshape(A.shape[0], -1) if V.size == A.shape[0] else V, A)


def default_rhs(A, ns: NullSpace | None, seed: int) -> tuple[np.ndarray, np.ndarray, str]:
    """``(b, exact x, what x is)``: ``A @ ones``; for a singular matrix (or one whose rows sum to zero)
    ``A @ x`` for a seeded random ``x`` with no part in the null space, ``b`` projected onto the range."""
    n = A.shape[0]
    ones = np.ones(n)
    b = A @ ones
    scale = float(abs(A).sum(axis=1).max()) * np.sqrt(n)
    if ns is None and np.linalg.norm(b) > 1e-10 * scale:
        return b, ones, "x = ones"
    x = np.random.default_rng(seed).standard_normal(n)
    if ns is not None:
        x = ns.project(x)
        return ns.project(A @ x), x, f"random x (seed {seed}) orthogonal to the null space"
    return A @ x, x, f"random x (seed {seed}); A @ ones is 0 and no null space is known, so x is not unique"


def run(args: argparse.Namespace) -> int:
    """Solve the system and print the result: exit status 0 when converged, 1 when not."""
    A = read_matrix(args.matrix)
    ns = read_nullspace(args.nullspace, A)
    exact = None
    if args.rhs is not None:
        b = read_vector(args.rhs, A.shape[0])
    else:
        b, exact, exact_name = default_rhs(A, ns, args.seed)
    extra = {"options": args.options} if args.options else {}
    res = solve(A, b, method=args.method, pc=args.pc, rtol=args.rtol, atol=args.atol, maxiter=args.maxiter,
                nullspace=ns, **extra)
    print(f"matrix     : {args.matrix} ({A.shape[0]} x {A.shape[1]}, {A.nnz} nonzeros)")
    if ns is not None:
        print(f"singular   : yes, null space {ns.describe()} (b projected, x of minimum norm)")
    print(f"method     : {res.method}" + (f" + {res.options['pc']}" if "pc" in res.options else ""))
    print(f"reason     : {res.reason.name} ({res.message})")
    print(f"iterations : {res.iterations}")
    print(f"setup time : {res.setup_time:.4g} s")
    print(f"solve time : {res.solve_time:.4g} s")
    print(f"rel. resid.: {res.relative_residual:.3e}")
    if exact is not None:
        print(f"rel. error : {np.linalg.norm(res.x - exact) / np.linalg.norm(exact):.3e} (against {exact_name})")
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
