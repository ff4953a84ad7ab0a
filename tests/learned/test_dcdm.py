"""learned.dcdm: training, checkpoints, the two solvers, fluid problems, clear errors."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as sla

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


def test_energy_loss_is_the_a_norm_error_left_by_the_step():
    from learned.dcdm.train import energy_loss

    p = fluid_pressure((16, 16), obstacles=2, seed=0)
    A = TorchStencil(p.grid, torch.float64)
    b_np = p.b / np.linalg.norm(p.b)
    e = sp.linalg.spsolve(p.A.tocsc(), b_np)
    b = torch.as_tensor(b_np).reshape(1, 16, 16)
    q_np = np.random.default_rng(1).standard_normal(256) * p.mask.ravel()
    q = torch.as_tensor(q_np).reshape(1, 16, 16)
    alpha = (q_np @ b_np) / (q_np @ (p.A @ q_np))
    left = (e - alpha * q_np) @ (p.A @ (e - alpha * q_np)) / (e @ b_np)
    bAb = torch.tensor([e @ b_np])
    assert float(energy_loss(q, b, A, bAb)) == pytest.approx(left, rel=1e-10)
    assert float(energy_loss(-3.0 * q, b, A, bAb)) == pytest.approx(left, rel=1e-10)
    assert abs(float(energy_loss(torch.as_tensor(e).reshape(1, 16, 16), b, A, bAb))) < 1e-12


def test_coarse_space_solves_the_coarse_residual_and_deflates_the_direction():
    from learned.dcdm.coarse import CoarseSpace, balanced_direction

    p = fluid_pressure((40, 40), obstacles=3, seed=2)
    cs = CoarseSpace(p.grid, 8)
    fluid_blocks = {(i // 8, j // 8) for i, j in zip(*np.nonzero(p.mask))}
    assert cs.size == len(fluid_blocks) and np.all(cs.P[~p.mask.ravel()].sum(axis=1) == 0)
    r = p.b
    y = cs.solve(r)
    assert np.abs(cs.P.T @ (r - p.A @ y)).max() < 1e-10 * np.abs(r).max()
    z = balanced_direction(r, cs, lambda v: v)
    # one step along z lowers the A-norm error by more than the coarse step alone
    e = sp.linalg.spsolve(p.A.tocsc(), r)

    def left(q):
        a = (q @ r) / (q @ (p.A @ q))
        return (e - a * q) @ (p.A @ (e - a * q))

    assert left(z) < left(y) < e @ r
    with pytest.raises(solvers.InvalidInputError, match="ratio"):
        CoarseSpace(p.grid, 1)


def test_deep_network_is_positively_homogeneous_and_ignores_solid_cells():
    net = DCDMNet(PRESETS["deep"](2))
    with torch.no_grad():
        for prm in net.parameters():
            prm.normal_(std=0.2)
    mask = torch.as_tensor(fluid_mask((32, 32), obstacles=3, seed=0), dtype=torch.float32)[None, None]
    r = torch.randn(1, 1, 32, 32) * mask
    with torch.no_grad():
        one = net(torch.cat([r, mask], 1))
        three = net(torch.cat([3.0 * r, mask], 1))
    assert float((three - 3.0 * one).norm() / (3.0 * one).norm()) < 1e-5
    assert not any("bias" in name for name, _ in net.named_parameters())


def test_network_adds_to_the_coarse_solve_on_a_grid_finer_than_training():
    p = fluid_pressure((128, 128), obstacles=4, seed=21)
    ours = solvers.solve(p, p.b, method="fcg", pc="dcdm", rtol=1e-6, maxiter=300)
    coarse_only = solvers.solve(p, p.b, method="fcg", pc="dcdm", network=False, rtol=1e-6, maxiter=300)
    ic = solvers.solve(p, p.b, method="cg", pc="ic", rtol=1e-6)
    assert ours.converged and true_relres(p, ours.x) <= 1e-6 * 1.0001
    assert ours.iterations < coarse_only.iterations < ic.iterations


def test_deep_training_mixes_in_the_residuals_the_solver_meets():
    from learned.dcdm.train import solver_residuals, training_domains
    from learned.dcdm.coarse import CoarseSpace

    domain = training_domains(2, 16, 1, 20, 0)[0]
    net = DCDMNet(PRESETS["deep"](2)).eval()
    seen = solver_residuals(net, domain, CoarseSpace(domain.op, 8), seed=3, iterations=6)
    assert seen.shape == (5, 16, 16)  # iterations 1..5: the right-hand side itself is left out
    flat = seen.reshape(5, -1).double()
    np.testing.assert_allclose(flat.norm(dim=1).numpy(), 1.0, rtol=1e-6)
    assert abs(float(flat[0] @ flat[1])) < 0.5  # successive FCG residuals are far from parallel
    _, losses = train(dim=2, grid=16, preset="deep", steps=12, batch=8, domains=1, ritz=20, progress=False)
    assert np.all(np.isfinite(losses)) and max(losses) <= 1.0


def test_a_few_training_steps_lower_the_loss_and_resume_is_exact(tmp_path):
    from learned.dcdm.coarse import CoarseSpace
    from learned.dcdm.data import sample_batch
    from learned.dcdm.train import _direction, _TorchCoarse, training_domains

    kw = dict(dim=2, grid=16, preset="deep", batch=8, domains=1, ritz=40, seed=1, progress=False, lr=3e-3,
              loss="residual", solver_fraction=0.0)
    net, straight = train(steps=40, **kw)
    domain = training_domains(2, 16, 1, 40, 1)[0]
    b = sample_batch(domain, 64, np.random.default_rng(123), white_fraction=0.0)
    A, mask = TorchStencil(domain.op), torch.ones(16, 16)
    coarse = _TorchCoarse(CoarseSpace(domain.op, 4))
    fresh = DCDMNet(PRESETS["deep"](2))  # the untrained deep network is the identity (zero-initialized last layer)
    with torch.no_grad():
        before = float(dcdm_loss(_direction(fresh, b, mask, A, coarse), b, A))
        after = float(dcdm_loss(_direction(net, b, mask, A, coarse), b, A))
    assert after < 0.9 * before
    out = tmp_path / "net.pt"
    train(steps=20, out=out, checkpoint_every=10, **kw)
    _, resumed = train(steps=40, out=out, resume=True, **kw)
    np.testing.assert_allclose(resumed, straight, rtol=1e-5)
    _, meta, _ = load_checkpoint(out)
    assert meta["steps"] == 40 and meta["grid"] == 16 and "Ritz" in meta["training_set"]
    with pytest.raises(solvers.InvalidInputError, match="authors' protocol"):
        train(steps=1, **{**kw, "preset": "paper"})


def test_deep_training_with_the_solver_pool_resumes_exactly(tmp_path):
    from learned.dcdm.train import REFRESH_EVERY

    kw = dict(dim=2, grid=16, preset="deep", batch=4, domains=1, ritz=20, seed=2, progress=False)
    _, straight = train(steps=REFRESH_EVERY + 10, **kw)
    out = tmp_path / "deep.pt"
    train(steps=REFRESH_EVERY, out=out, checkpoint_every=REFRESH_EVERY, **kw)
    _, resumed = train(steps=REFRESH_EVERY + 10, out=out, resume=True, checkpoint_every=REFRESH_EVERY, **kw)
    np.testing.assert_allclose(resumed, straight, rtol=1e-5)
    assert load_checkpoint(out)[1]["solver_fraction"] == 0.25


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
    with pytest.raises(solvers.InvalidInputError, match="device must be"):
        solvers.solve(p, p.b, method="fcg", pc="dcdm", device="tpu")
    if not torch.cuda.is_available():
        with pytest.raises(solvers.InvalidInputError, match="sees no CUDA GPU"):
            solvers.solve(p, p.b, method="dcdm", device="cuda")


def _gives_the_cpu_iterations(p, b, **extra):
    """pc dcdm and method dcdm with right-hand side ``b`` and ``extra`` options: converged to the true
    residual, within 2 iterations of the all-CPU solve (float32 convolutions differ in rounding only)."""
    for kw in (dict(method="fcg", pc="dcdm"), dict(method="dcdm")):
        cpu = solvers.solve(p, p.b, rtol=1e-6, maxiter=300, **kw)
        gpu = solvers.solve(p, b, rtol=1e-6, maxiter=300, **extra, **kw)
        assert type(gpu.x) is type(b) and gpu.converged
        assert true_relres(p, gpu.x if isinstance(gpu.x, np.ndarray) else gpu.x.get()) <= 1e-6 * 1.0001
        assert abs(gpu.iterations - cpu.iterations) <= 2


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="this torch build has no CUDA (the CPU wheel)")
def test_network_on_cuda_gives_the_cpu_iterations():
    p = fluid_pressure((64, 64), obstacles=3, seed=5)
    _gives_the_cpu_iterations(p, p.b, device="cuda")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="this torch build has no CUDA (the CPU wheel)")
def test_cupy_arrays_keep_the_whole_solve_on_the_gpu(monkeypatch):
    import cupy

    from solvers.gpu.grid import DeviceGrid

    p = fluid_pressure((64, 64), obstacles=3, seed=5)
    _gives_the_cpu_iterations(p, cupy.asarray(p.b))
    # the coarse solve on the device, both ways (dense inverse and cuSPARSE triangular solves)
    from learned.dcdm import coarse

    cs = coarse.CoarseSpace(p.grid, 4)
    r = cupy.asarray(p.b)
    for dense_max in (8 * cs.size ** 2, 8 * cs.size ** 2 - 1):
        monkeypatch.setattr(coarse, "DENSE_MAX_BYTES", dense_max)
        dev = cs.on_device()
        assert np.allclose(cupy.asnumpy(dev.solve(r)), cs.solve(p.b), rtol=1e-10, atol=1e-12)
    monkeypatch.setattr(coarse, "DENSE_MAX_BYTES", 8 * cs.size ** 2)  # a non-SPD Ac: the sparse LU, not garbage
    cs.Ac = (-cs.Ac).tocsc()
    cs._lu = sla.splu(cs.Ac)
    dev = cs.on_device()
    assert dev._chol is None
    assert np.allclose(cupy.asnumpy(dev.solve(r)), cs.solve(p.b), rtol=1e-10, atol=1e-12)
    pc = solvers.make_solver("fcg", pc="dcdm").setup(DeviceGrid(p.grid)).pc
    assert pc.backend == "cupy" and pc.model.device.type == "cuda"
    with pytest.raises(solvers.InvalidInputError, match="where the arrays are"):
        solvers.solve(p, cupy.asarray(p.b), method="fcg", pc="dcdm", device="cpu")
