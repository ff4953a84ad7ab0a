"""``solverkit train dcdm``: train a DCDM network and write its checkpoint."""
from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``solverkit train dcdm`` and its options to the command line's sub-parsers (entry point
    ``solverkit.commands``)."""
    p = subparsers.add_parser("train", help="train a learned component (dcdm)")
    sub = p.add_subparsers(dest="component", metavar="COMPONENT", required=True)
    d = sub.add_parser("dcdm", help="train the deep conjugate-direction network on fluid pressure problems")
    d.add_argument("--dim", type=int, choices=[2, 3], default=2)
    d.add_argument("--grid", type=int, default=None,
                   help="training grid cells per axis (default 64; paper: 32 in 3-D, 128 in 2-D)")
    d.add_argument("--preset", choices=["deep", "paper"], default="deep",
                   help="deep: our multilevel network with a mask channel; paper: Kaneda et al.'s network and "
                        "protocol, scaled to --grid by learned.dcdm.protocol.SCALE_RULE (only --dim, --grid, "
                        "--epochs, --seed, --threads, --out and --resume apply)")
    d.add_argument("--epochs", type=int, default=None, help="paper: override the scaled protocol's epochs")
    d.add_argument("--steps", type=int, default=2000)
    d.add_argument("--batch", type=int, default=16)
    d.add_argument("--lr", type=float, default=1e-3)
    d.add_argument("--domains", type=int, default=4, help="open box + random-obstacle domains (default 4)")
    d.add_argument("--ritz", type=int, default=200, help="Ritz vectors per domain (default 200)")
    d.add_argument("--loss", choices=["energy", "residual"], default="energy",
                   help="energy (default): the A-norm error a step leaves; residual: the paper's loss")
    d.add_argument("--solver-fraction", type=float, default=None,
                   help="share of each batch taken from residuals the solver meets (default 0.25 deep, 0 paper)")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    d.add_argument("--out", type=Path, default=None, help="checkpoint path (default dcdm<dim>d_<preset>.pt)")
    d.add_argument("--checkpoint-every", type=int, default=200)
    d.add_argument("--resume", action="store_true", help="continue from --out after an interruption")
    d.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Train a network with the parsed options and write its checkpoint; return the exit status."""
    import numpy as np
    import torch

    from .train import train

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.preset == "paper":
        from .train_paper import paper_checkpoint_name, train_paper

        grid = args.grid or (32 if args.dim == 3 else 128)
        out = args.out or Path(paper_checkpoint_name(args.dim, grid))
        _, history = train_paper(args.dim, grid, seed=args.seed, epochs=args.epochs, out=out, resume=args.resume)
        print(f"wrote {out} (+ .json): mean loss per epoch {history[0]:.4f} -> {history[-1]:.4f} "
              f"over {len(history)} epochs")
        return 0
    args.grid = args.grid or 64
    out = args.out or Path(f"dcdm{args.dim}d_{args.preset}.pt")
    _, history = train(dim=args.dim, grid=args.grid, preset=args.preset, steps=args.steps, batch=args.batch,
                       lr=args.lr, domains=args.domains, ritz=args.ritz, seed=args.seed, out=out,
                       checkpoint_every=args.checkpoint_every, resume=args.resume, loss=args.loss,
                       solver_fraction=args.solver_fraction)
    print(f"wrote {out} (+ .json): loss {np.mean(history[:20]):.4f} -> {np.mean(history[-50:]):.4f} "
          f"over {len(history)} steps")
    return 0
