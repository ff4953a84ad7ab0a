"""Our method and preconditioner names -> PETSc KSP/PC options (the options-database form)."""
from __future__ import annotations

from typing import Any

from .. import registry
from ..errors import InvalidInputError
from ..options import tokenize_options

__all__ = ["ksp_options", "parse_petsc_string", "KSP_OF_METHOD", "PC_OF_NAME"]

#: method -> (ksp_type, pc options forced by the method)
KSP_OF_METHOD: dict[str, tuple[str, dict[str, Any]]] = {
    "cg": ("cg", {}),
    "fcg": ("fcg", {}),
    "gmres": ("gmres", {}),
    # the stationary methods are Richardson iterations around one sweep, as PETSc writes them
    "jacobi": ("richardson", {"pc_type": "jacobi"}),
    "gauss-seidel": ("richardson", {"pc_type": "sor", "pc_sor_local_forward": "", "pc_sor_omega": 1.0}),
    "sor": ("richardson", {"pc_type": "sor", "pc_sor_local_forward": ""}),
    "ssor": ("richardson", {"pc_type": "sor", "pc_sor_local_symmetric": ""}),
    "direct": ("preonly", {"pc_type": "lu"}),
}

#: our pc name -> PETSc pc options; names not here become RegistryPC (any registered pc runs in PETSc)
PC_OF_NAME: dict[str | None, dict[str, Any]] = {
    None: {"pc_type": "none"},
    "jacobi": {"pc_type": "jacobi"},
    # PCSOR's default sweep is symmetric; "local" sweeps are what MPI matrices support (and equal the
    # global sweep on one process)
    "sor": {"pc_type": "sor", "pc_sor_local_forward": ""},
    "gauss-seidel": {"pc_type": "sor", "pc_sor_local_forward": "", "pc_sor_omega": 1.0},
    "ssor": {"pc_type": "sor", "pc_sor_local_symmetric": ""},
    "ilu": {"pc_type": "ilu"},
    "ic": {"pc_type": "icc"},
    "amg": {"pc_type": "gamg"},
    "gamg": {"pc_type": "gamg"},
    "hypre": {"pc_type": "hypre"},
    "direct": {"pc_type": "lu"},
}

#: our option -> PETSc option, per pc type or ksp type
_OPTION_NAMES = {
    ("sor", "omega"): "pc_sor_omega", ("sor", "its"): "pc_sor_its",
    ("gamg", "strength"): "pc_gamg_threshold",
    ("gmres", "restart"): "ksp_gmres_restart", ("fcg", "mmax"): "ksp_fcg_mmax",
    ("richardson", "omega"): "ksp_richardson_scale",
}


def ksp_options(method: str, pc: str | None, options: dict[str, Any]) -> dict[str, Any]:
    """The PETSc options (without a prefix, without the dash) for our ``method``, ``pc`` and ``options``.

    Examples
    --------
    >>> ksp_options("cg", "ssor", {"omega": 1.5})
    {'ksp_type': 'cg', 'pc_type': 'sor', 'pc_sor_local_symmetric': '', 'pc_sor_omega': 1.5}
    >>> ksp_options("sor", None, {"omega": 1.8})["pc_sor_omega"]
    1.8
    """
    if method not in KSP_OF_METHOD:
        raise InvalidInputError(f"method {method!r} has no PETSc counterpart; with backend='petsc' use one of "
                                f"{', '.join(KSP_OF_METHOD)} (or method='petsc-ksp' with ksp_type=...)")
    ksp_type, forced = KSP_OF_METHOD[method]
    out: dict[str, Any] = {"ksp_type": ksp_type}
    if forced:
        if pc is not None:
            raise InvalidInputError(f"method {method!r} takes no preconditioner")
        out.update(forced)
    elif pc in PC_OF_NAME:
        out.update(PC_OF_NAME[pc])
    elif isinstance(pc, str):
        factory = registry.get("pc", pc)  # unknown names: UnknownComponentError with a did-you-mean
        out.update({"pc_type": "python", "pc_python_type": "solvers.petsc.RegistryPC", "registry_pc_type": pc})
        for key in list(options):
            if key in getattr(factory, "defaults", {}):
                out[f"registry_pc_{key}"] = options.pop(key)
    else:
        raise InvalidInputError("with backend='petsc', pc must be a registered name or None")
    pc_type = out.get("pc_type")
    for key, value in options.items():
        name = _OPTION_NAMES.get((pc_type, key)) or _OPTION_NAMES.get((ksp_type, key))
        if name is None:
            raise InvalidInputError(f"option {key!r} has no PETSc counterpart for ksp {ksp_type!r} with pc "
                                    f"{pc_type!r}; pass PETSc options as options='-name value'")
        out[name] = value
    return out


def parse_petsc_string(text: str) -> dict[str, Any]:
    """``"-ksp_type cg -pc_sor_symmetric"`` -> ``{"ksp_type": "cg", "pc_sor_symmetric": ""}`` (raw PETSc names).

    Examples
    --------
    >>> parse_petsc_string("-ksp_type cg -pc_type gamg -pc_gamg_threshold 0.05 -ksp_view")
    {'ksp_type': 'cg', 'pc_type': 'gamg', 'pc_gamg_threshold': 0.05, 'ksp_view': ''}
    """
    return tokenize_options(text, flag="")
