"""learned.dcdm: training, checkpoints, the two solvers, fluid problems, clear errors."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

torch = pytest.importorskip("torch", reason="needs extra learned (torch)")

import solvers  # noqa: E402
from learned.dcdm import DCDMNet, PRESETS, dcdm_loss, load_checkpoint, save_checkpoint, train  # noqa: E402
from learned.dcdm.stencil import TorchStencil  # noqa: E402
from pde_examples.fluid import fluid_mask, fluid_pressure  # noqa: E402


def true_relres(p, x) -> float:
    return float(np.linalg.norm(p.b - p.A @ x) / np.linalg.norm(p.b))


def test_fluid_problems_are_spd_with_inert_solids():
    p = fluid_pressure((24, 24), obstacles=5, seed=3)
    A = p.A
    assert abs(A - A.T).max() == 0
    assert np.linalg.eigvalsh(A.toarray()).min() > 0
    assert not p.mask.all() and np.all(p.b[~p.mask.ravel()] == 0)
    res = solvers.solve(p, p.b, method="cg", pc="amg", rtol=1e-10)
    assert res.converged and np.all(res.x[~p.mask.ravel()] == 0)
    mask = fluid_mask((16, 16, 16), obstacles=3, seed=1)
    assert mask.shape == (16, 16, 16) and mask[-1].any()


def test_loss_is_scale_invariant_and_zero_at_the_exact_solve():
    p = fluid_pressure((16, 16), obstacles=2, seed=0)
    A = TorchStencil(p.grid, torch.float64)
    b = torch.as_tensor(p.b / np.linalg.norm(p.b)).reshape(1, 16, 16)
    q = torch.randn(1, 16, 16, dtype=torch.float64) * torch.as_tensor(p.mask)
    assert float(dcdm_loss(q, b, A)) == pytest.approx(float(dcdm_loss(-7.5 * q, b, A)), rel=1e-12)
    exact = torch.as_tensor(sp.linalg.spsolve(p.A.tocsc(), b.reshape(-1).numpy())).reshape(1, 16, 16)
    assert float(dcdm_loss(exact, b, A)) < 1e-20


def test_a_few_training_steps_lower_the_loss_and_resume_is_exact(tmp_path):
    from learned.dcdm.data import sample_batch
    from learned.dcdm.train import _forward, training_domains

    kw = dict(dim=2, grid=16, preset="paper", batch=8, domains=1, ritz=40, seed=1, progress=False, lr=3e-3)
    net, straight = train(steps=40, **kw)
    domain = training_domains(2, 16, 1, 40, 1)[0]
    b = sample_batch(domain, 64, np.random.default_rng(123), white_fraction=0.0)
    A, mask = TorchStencil(domain.op), torch.ones(16, 16)
    with torch.no_grad():  # the untrained network is the identity (zero-initialized last layer)
        before, after = float(dcdm_loss(b, b, A)), float(dcdm_loss(_forward(net, b, mask), b, A))
    assert after < 0.8 * before
    out = tmp_path / "net.pt"
    train(steps=20, out=out, checkpoint_every=10, **kw)
    _, resumed = train(steps=40, out=out, resume=True, **kw)
    np.testing.assert_allclose(resumed, straight, rtol=1e-5)
    _, meta, _ = load_checkpoint(out)
    assert meta["steps"] == 40 and meta["grid"] == 16 and "Ritz" in meta["training_set"]


def test_checkpoint_round_trip_and_bad_files(tmp_path):
    net = DCDMNet(PRESETS["deep"](2))
    with torch.no_grad():
        for prm in net.parameters():
            prm.add_(0.01 * torch.randn_like(prm))
    path = save_checkpoint(tmp_path / "c.pt", net, {"note": "test"})
    loaded, meta, _ = load_checkpoint(path)
    x = torch.randn(1, 2, 32, 32)
    assert torch.equal(loaded(x), net.eval()(x)) and meta["note"] == "test"
    with pytest.raises(solvers.InvalidInputError, match="3-D"):
        load_checkpoint(path, dim=3)
    with pytest.raises(solvers.InvalidInputError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(solvers.InvalidInputError, match="not readable"):
        load_checkpoint(tmp_path / "bad.pt")


@pytest.mark.parametrize("obstacles", [0, 3])
def test_shipped_checkpoints_solve_small_problems(obstacles):
    p = fluid_pressure((48, 48), obstacles=obstacles, seed=11)
    cg = solvers.solve(p, p.b, method="cg", rtol=1e-6)
    ours = solvers.solve(p, p.b, method="fcg", pc="dcdm", rtol=1e-6, maxiter=300)
    paper = solvers.solve(p, p.b, method="dcdm", rtol=1e-6, maxiter=2000)
    for res in (ours, paper):
        assert res.converged and true_relres(p, res.x) <= 1e-6 * 1.0001
        assert np.all(res.x[~p.mask.ravel()] == 0)
    assert ours.iterations < cg.iterations
    assert paper.options["k"] == 2


def test_shipped_3d_checkpoint_solves_a_small_3d_problem():
    p = fluid_pressure((8, 8, 8), obstacles=1, seed=4)
    res = solvers.solve(p, p.b, method="fcg", pc="dcdm", rtol=1e-6, maxiter=300)
    assert res.converged and true_relres(p, res.x) <= 1e-6 * 1.0001


def test_bad_input_is_a_clear_error():
    p = fluid_pressure((16, 16), seed=0)
    with pytest.raises(solvers.InvalidInputError, match="grid structure"):
        solvers.solve(p.A, p.b, method="dcdm")
    with pytest.raises(solvers.InvalidInputError, match="grid structure"):
        solvers.solve(p.A, p.b, method="fcg", pc="dcdm")
    from learned.dcdm.checkpoint import shipped_checkpoint

    p3 = fluid_pressure((8, 8, 8), seed=0)
    with pytest.raises(solvers.InvalidInputError, match="2-D grids, the problem is 3-D"):
        solvers.solve(p3, p3.b, method="fcg", pc="dcdm", checkpoint=str(shipped_checkpoint(2, "deep")))
    with pytest.raises(solvers.InvalidInputError, match="k must be"):
        solvers.solve(p, p.b, method="dcdm", k=0)
