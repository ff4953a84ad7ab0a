"""The command line: list, solve FILE.mtx, demo."""
from __future__ import annotations

import numpy as np
import scipy.io
import pytest

from solvers.cli import main
from tests.conftest import laplacian_2d


def test_list(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "| cg " in out and "ready" in out and "| pde " in out


@pytest.fixture
def mtx(tmp_path):
    path = tmp_path / "lap.mtx"
    scipy.io.mmwrite(str(path), laplacian_2d(20))
    return path


def test_solve_mtx_with_plot_and_output(mtx, tmp_path, capsys):
    plot, out = tmp_path / "conv.png", tmp_path / "x.txt"
    assert main(["solve", str(mtx), "--method", "cg", "--pc", "amg", "--plot", str(plot), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "CONVERGED_RTOL" in text and "rel. error" in text
    assert plot.read_bytes()[:4] == b"\x89PNG"
    x = np.loadtxt(out)
    assert np.allclose(x, 1.0, atol=1e-6)  # default b = A @ ones


def test_solve_with_rhs_and_options(mtx, tmp_path, capsys):
    rhs = tmp_path / "b.txt"
    np.savetxt(rhs, np.ones(400))
    assert main(["solve", str(mtx), "--rhs", str(rhs), "--options", "-ksp_type sor -ksp_sor_omega 1.7"]) == 0
    assert "method     : sor" in capsys.readouterr().out


def test_solve_not_converged_exits_1(mtx, capsys):
    assert main(["solve", str(mtx), "--method", "jacobi", "--maxiter", "3"]) == 1
    assert "DIVERGED_ITS" in capsys.readouterr().out


@pytest.mark.parametrize("content", ["not a matrix market file\n", "%%MatrixMarket matrix coordinate real general\n3 3 2\n1 1\n"])
def test_unreadable_mtx(tmp_path, capsys, content):
    bad = tmp_path / "bad.mtx"
    bad.write_text(content)
    assert main(["solve", str(bad)]) == 2
    assert "not a readable Matrix Market file" in capsys.readouterr().err


def test_missing_file_and_wrong_rhs(mtx, tmp_path, capsys):
    assert main(["solve", str(tmp_path / "nope.mtx")]) == 2
    assert "no such file" in capsys.readouterr().err
    rhs = tmp_path / "b.txt"
    np.savetxt(rhs, np.ones(7))
    assert main(["solve", str(mtx), "--rhs", str(rhs)]) == 2
    assert "has 7 values" in capsys.readouterr().err


def test_demo_small(capsys, tmp_path):
    assert main(["demo", "--size", "24", "--maxiter", "3000", "--plot", str(tmp_path / "d.png")]) == 0
    out = capsys.readouterr().out
    assert "cg" in out and "amg" in out and "fastest" in out
    assert (tmp_path / "d.png").stat().st_size > 1000
