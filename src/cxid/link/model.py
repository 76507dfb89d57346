"""Match models on comparison levels: Fellegi–Sunter with EM, and a supervised wrapper.

Input is always an ``int8`` level matrix of shape ``(n_pairs, n_comparisons)`` built by
:mod:`cxid.link.compare`: column ``j`` holds the level of comparison ``j``, ``0`` the
weakest ("else") up to ``n_levels - 1`` the strongest (exact), ``-1`` missing.

Both models return the same frame from ``predict``: ``match_weight`` (log2 odds),
``match_probability`` and one ``w_<comparison>`` column per comparison holding its
log2 contribution, so a link can be explained comparison by comparison.

Models are saved as JSON with a ``format_version``; they are never pickled.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxid.errors import CxidError, NotFittedError
from cxid.progress import Progress, as_progress

logger = logging.getLogger(__name__)

#: Version of the JSON written by :meth:`FellegiSunter.to_json`.
FORMAT_VERSION = 1

_FLOOR = 1e-6  # smallest probability kept for any level, so log weights stay finite
_LN2 = math.log(2.0)


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """One comparison of the model: its name and level labels (index = level code,
    ``0`` = weakest "else" up to the strongest). ``tf`` marks comparisons whose top
    level receives a term-frequency adjustment at prediction time."""

    name: str
    levels: tuple[str, ...]
    tf: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "levels", tuple(str(label) for label in self.levels))
        if not self.name or not str(self.name).replace("_", "").isalnum():
            raise ValueError(f"comparison name must be letters, digits or '_', got {self.name!r}")
        if len(self.levels) < 2:
            raise ValueError(f"comparison {self.name!r} needs at least 2 levels")

    @property
    def n_levels(self) -> int:
        """Number of levels (missing excluded)."""
        return len(self.levels)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"name": self.name, "levels": list(self.levels), "tf": self.tf}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Comparison:
        """Inverse of :meth:`to_dict`."""
        return cls(name=data["name"], levels=tuple(data["levels"]), tf=bool(data.get("tf", False)))


# --------------------------------------------------------------------------- helpers


def _check_levels(levels: np.ndarray, comparisons: Sequence[Comparison], what: str) -> np.ndarray:
    """Validate a level matrix against the comparisons; return it as int8."""
    arr = np.asarray(levels)
    if arr.ndim != 2 or arr.shape[1] != len(comparisons):
        raise ValueError(f"{what} must have shape (n_pairs, {len(comparisons)}), got {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{what} must hold integer level codes, got dtype {arr.dtype}")
    arr = arr.astype(np.int8, copy=False)
    if arr.shape[0]:
        low, high = arr.min(axis=0), arr.max(axis=0)
        for j, comp in enumerate(comparisons):
            if low[j] < -1 or high[j] >= comp.n_levels:
                raise ValueError(
                    f"{what}: comparison {comp.name!r} has levels -1..{comp.n_levels - 1}, "
                    f"found {int(low[j])}..{int(high[j])}"
                )
    return arr


def _patterns(
    levels: np.ndarray, comparisons: Sequence[Comparison]
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of the level matrix with their counts.

    Rows are packed into one int64 key (mixed radix on ``level + 1``) and counted with a
    hash table, which is much faster than ``np.unique(axis=0)`` on millions of rows.
    """
    radix = np.array([c.n_levels + 1 for c in comparisons], dtype=np.int64)
    if float(np.prod(radix.astype(np.float64))) >= 2.0**62:
        unique, counts = np.unique(levels, axis=0, return_counts=True)
        return unique.astype(np.int8), counts.astype(np.float64)
    place = np.concatenate([np.cumprod(radix[::-1])[::-1][1:], [1]]).astype(np.int64)
    key = (levels.astype(np.int64) + 1) @ place
    counts = pd.Series(key).value_counts(sort=False)
    keys = counts.index.to_numpy(dtype=np.int64)
    unique = ((keys[:, None] // place[None, :]) % radix[None, :] - 1).astype(np.int8)
    return unique, counts.to_numpy(dtype=np.float64)


def _level_probabilities(
    patterns: np.ndarray, weights: np.ndarray, n_levels: int, smoothing: float
) -> np.ndarray:
    """Weighted distribution of one comparison's levels over patterns (missing ignored)."""
    present = patterns >= 0
    totals = np.bincount(patterns[present], weights=weights[present], minlength=n_levels)
    totals = totals + smoothing
    probs = totals / totals.sum() if totals.sum() > 0 else np.full(n_levels, 1.0 / n_levels)
    probs = np.maximum(probs, _FLOOR)
    return probs / probs.sum()


def monotone_ratio(m: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``m`` adjusted so that the Bayes factor ``m / u`` never decreases from one level
    to the next (levels are ordered by agreement): adjacent levels that violate the
    order are pooled, and a pool's m is shared out in proportion to its u, which gives
    every level in it the pool's factor (pool-adjacent-violators). Sums are kept."""
    blocks: list[list[float]] = []  # [m sum, u sum, number of levels]
    for mk, uk in zip(m.tolist(), u.tolist(), strict=True):
        blocks.append([mk, uk, 1])
        while len(blocks) > 1 and blocks[-2][0] * blocks[-1][1] > blocks[-1][0] * blocks[-2][1]:
            last = blocks.pop()
            blocks[-1] = [blocks[-1][0] + last[0], blocks[-1][1] + last[1],
                          blocks[-1][2] + last[2]]
    out = np.empty(len(m))
    start = 0
    for m_sum, u_sum, n in blocks:
        part = u[start:start + n]
        out[start:start + n] = m_sum * part / u_sum
        start += n
    out = np.maximum(out, _FLOOR)
    return out / out.sum()


def _log_likelihood_terms(patterns: np.ndarray, tables: Sequence[np.ndarray]) -> np.ndarray:
    """Sum over comparisons of ``log(p_j[level])`` per pattern, 0 for missing levels."""
    out = np.zeros(patterns.shape[0])
    for j, table in enumerate(tables):
        logs = np.append(np.log(table), 0.0)  # index -1 -> 0 (missing)
        out += logs[patterns[:, j]]
    return out


def _initial_m(n_levels: int) -> np.ndarray:
    """Starting m: mass rising geometrically towards the strongest level."""
    raw = 4.0 ** np.arange(n_levels)
    return raw / raw.sum()


def _weights_frame(
    weight: np.ndarray, contributions: np.ndarray, names: Sequence[str], probability: np.ndarray
) -> pd.DataFrame:
    data: dict[str, np.ndarray] = {"match_weight": weight, "match_probability": probability}
    for j, name in enumerate(names):
        data[f"w_{name}"] = contributions[:, j]
    return pd.DataFrame(data)


def _probability_from_weight(weight: np.ndarray) -> np.ndarray:
    """``1 / (1 + 2**-w)`` computed without overflow."""
    return 0.5 * (1.0 + np.tanh(weight * _LN2 / 2.0))


class _Params:
    """``get_params`` / ``set_params`` of the scikit-learn estimator contract."""

    _param_names: tuple[str, ...] = ()

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor parameters, as scikit-learn's ``get_params``."""
        return {name: getattr(self, name) for name in self._param_names}

    def set_params(self, **params: Any) -> Any:
        """Set constructor parameters (scikit-learn contract); return self."""
        unknown = set(params) - set(self._param_names)
        if unknown:
            raise ValueError(f"unknown parameter(s) {sorted(unknown)} for {type(self).__name__}")
        for name, value in params.items():
            setattr(self, name, value)
        return self


# --------------------------------------------------------------------------- Fellegi–Sunter


class FellegiSunter(_Params):
    """Fellegi–Sunter match model whose m-probabilities are learnt by EM.

    ``u`` (level distribution among non-matches) is estimated from the levels of random
    pairs when ``u_levels`` is given to :meth:`fit` (Laplace-smoothed) and then kept fixed
    if ``fix_u`` (Splink's approach); otherwise EM updates it too. EM runs on the
    distinct rows of the level matrix with their counts, so its cost depends on the
    number of level patterns, not of pairs.

    Parameters
    ----------
    comparisons : the comparisons, in the column order of the level matrices.
    max_iter, tol : EM stops after ``max_iter`` iterations or when no parameter moves
        by more than ``tol``.
    prior : starting value of the match rate λ among candidate pairs (e.g. the
        deterministic-match rate); 0.01 when None. ``fit(prior=...)`` overrides it.
    fix_u : keep u fixed at its random-pair estimate during EM.
    ordinal : the levels are ordered by agreement, so EM keeps each learnt comparison's
        Bayes factor ``m / u`` non-decreasing from level to level (see
        :func:`monotone_ratio`). Without it, a sparse comparison can end up with its
        top level counting *against* a match.
    progress : reports EM iterations (see :mod:`cxid.progress`).
    """

    _param_names = ("comparisons", "max_iter", "tol", "prior", "fix_u", "ordinal", "progress")

    def __init__(
        self,
        comparisons: Sequence[Comparison],
        max_iter: int = 50,
        tol: float = 1e-4,
        prior: float | None = None,
        fix_u: bool = True,
        ordinal: bool = True,
        progress: Progress | bool | None = None,
    ):
        self.comparisons = comparisons
        self.max_iter = max_iter
        self.tol = tol
        self.prior = prior
        self.fix_u = fix_u
        self.ordinal = ordinal
        self.progress = progress

    # ----------------------------------------------------------------- fitting
    def fit(
        self,
        levels: np.ndarray,
        *,
        u_levels: np.ndarray | None = None,
        prior: float | None = None,
        m_levels: np.ndarray | None = None,
        m_from_labels: Sequence[str] = (),
    ) -> FellegiSunter:
        """Estimate u (from ``u_levels``), then m and λ by EM on ``levels``; return self.

        ``m_levels`` are levels of pairs known to match (e.g. records linked by a shared
        account id): the m of the comparisons named in ``m_from_labels`` is estimated
        from them and held fixed during EM, which then only learns λ and the other m's.
        Pinning m this way keeps EM from mistaking another structure of the candidates
        (households sharing an address) for "match".
        """
        comparisons = self._validated_comparisons()
        levels = _check_levels(levels, comparisons, "levels")
        if levels.shape[0] == 0:
            raise ValueError("cannot fit on zero pairs")
        start = prior if prior is not None else self.prior
        lam = 0.01 if start is None else float(start)
        if not 0.0 < lam < 1.0:
            raise ValueError(f"prior must be strictly between 0 and 1, got {lam}")
        report = as_progress(self.progress)

        patterns, counts = _patterns(levels, comparisons)
        logger.info(
            "EM on %d pairs, %d distinct level patterns", levels.shape[0], patterns.shape[0]
        )
        if u_levels is not None:
            u_arr = _check_levels(u_levels, comparisons, "u_levels")
            u_patterns, u_counts = _patterns(u_arr, comparisons)
            u = [
                _level_probabilities(u_patterns[:, j], u_counts, c.n_levels, smoothing=1.0)
                for j, c in enumerate(comparisons)
            ]
            update_u = not self.fix_u
        else:
            # candidate pairs are mostly non-matches: their overall distribution is a
            # reasonable starting u, which EM then refines
            u = [
                _level_probabilities(patterns[:, j], counts, c.n_levels, smoothing=1.0)
                for j, c in enumerate(comparisons)
            ]
            update_u = True
        m = [_initial_m(c.n_levels) for c in comparisons]
        pinned: dict[int, np.ndarray] = {}
        if m_from_labels:
            if m_levels is None:
                raise ValueError("m_from_labels needs m_levels")
            m_arr = _check_levels(m_levels, comparisons, "m_levels")
            m_patterns, m_counts = _patterns(m_arr, comparisons)
            names = [c.name for c in comparisons]
            for name in m_from_labels:
                j = names.index(name)
                if (m_patterns[:, j] >= 0).any():
                    pinned[j] = _level_probabilities(m_patterns[:, j], m_counts,
                                                     comparisons[j].n_levels, smoothing=1.0)
                    m[j] = pinned[j]

        converged = False
        n_iter = 0
        total = counts.sum()
        for n_iter in range(1, self.max_iter + 1):
            # E step: posterior match probability of each pattern
            log_m = _log_likelihood_terms(patterns, m)
            log_u = _log_likelihood_terms(patterns, u)
            log_odds = math.log(lam) - math.log1p(-lam) + log_m - log_u
            gamma = 0.5 * (1.0 + np.tanh(log_odds / 2.0))
            # M step
            w_match = counts * gamma
            new_lam = float(np.clip(w_match.sum() / total, _FLOOR, 1.0 - _FLOOR))
            new_m = [
                pinned[j] if j in pinned
                else _level_probabilities(patterns[:, j], w_match, c.n_levels, smoothing=0.0)
                for j, c in enumerate(comparisons)
            ]
            if update_u:
                w_non = counts * (1.0 - gamma)
                new_u = [
                    _level_probabilities(patterns[:, j], w_non, c.n_levels, smoothing=0.0)
                    for j, c in enumerate(comparisons)
                ]
            else:
                new_u = u
            if self.ordinal:
                new_m = [new_m[j] if j in pinned else monotone_ratio(new_m[j], new_u[j])
                         for j in range(len(comparisons))]
            change = abs(new_lam - lam)
            change = max(
                change, *(float(np.abs(a - b).max()) for a, b in zip(new_m, m, strict=True)),
                *(float(np.abs(a - b).max()) for a, b in zip(new_u, u, strict=True)),
            )
            u = new_u
            m, lam = new_m, new_lam
            report.update("EM", n_iter, self.max_iter, "iterations")
            logger.debug("EM iteration %d: lambda=%.6f, max change=%.2e", n_iter, lam, change)
            if change < self.tol:
                converged = True
                break
        if not converged:
            logger.warning("EM did not converge in %d iterations (tol=%g)", self.max_iter, self.tol)
        report.message(
            f"EM: {n_iter} iterations, match rate {lam:.4%}, "
            f"{'converged' if converged else 'not converged'}"
        )

        self._set_learned(m, u, lam, n_iter, converged)
        self._sanity_check()
        return self

    def _validated_comparisons(self) -> tuple[Comparison, ...]:
        comparisons = tuple(self.comparisons)
        if not comparisons:
            raise ValueError("FellegiSunter needs at least one comparison")
        names = [c.name for c in comparisons]
        if len(set(names)) != len(names):
            raise ValueError(f"comparison names must be unique, got {names}")
        return comparisons

    def _set_learned(
        self,
        m: Sequence[np.ndarray],
        u: Sequence[np.ndarray],
        lam: float,
        n_iter: int,
        converged: bool,
    ) -> None:
        self.m_ = [np.asarray(a, dtype=np.float64) for a in m]
        self.u_ = [np.asarray(a, dtype=np.float64) for a in u]
        self.lambda_ = float(lam)
        self.bayes_factors_ = [a / b for a, b in zip(self.m_, self.u_, strict=True)]
        self.log2_weights_ = [np.log2(bf) for bf in self.bayes_factors_]
        self.n_iter_ = int(n_iter)
        self.converged_ = bool(converged)

    def _sanity_check(self) -> None:
        """Warn when EM made agreement on a comparison's top level evidence *against* a match."""
        for comp, m, u, weights in zip(
            self.comparisons, self.m_, self.u_, self.log2_weights_, strict=True
        ):
            if m[-1] < u[-1]:
                logger.warning(
                    "comparison %r: m(%s)=%.4g < u=%.4g after EM; its top level counts "
                    "against a match - check the comparison or the blocking",
                    comp.name,
                    comp.levels[-1],
                    m[-1],
                    u[-1],
                )
            elif np.any(np.diff(weights) < 0):
                logger.info("comparison %r: level weights are not monotonic", comp.name)

    def _check_fitted(self) -> None:
        if not hasattr(self, "m_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet; call fit() before predict()"
            )

    # ----------------------------------------------------------------- predicting
    @property
    def prior_log2_odds_(self) -> float:
        """log2 of the prior match odds λ / (1 - λ)."""
        self._check_fitted()
        return math.log2(self.lambda_) - math.log2(1.0 - self.lambda_)

    def u_exact(self, name: str) -> float:
        """u-probability of the top level of comparison ``name`` (for ``tf_adjustment``)."""
        self._check_fitted()
        return float(self.u_[self._index_by_name(name)][-1])

    def _index_by_name(self, name: str) -> int:
        names = [c.name for c in self.comparisons]
        if name not in names:
            raise KeyError(f"no comparison named {name!r}; known: {names}")
        return names.index(name)

    def predict(
        self,
        levels: np.ndarray,
        *,
        tf_adjust: np.ndarray | Mapping[str, np.ndarray] | None = None,
    ) -> pd.DataFrame:
        """Match weight, probability and per-comparison contributions of each pair.

        ``tf_adjust`` holds additive log2 term-frequency adjustments (see
        :func:`cxid.link.compare.tf_adjustment`): an ``(n_pairs, n_comparisons)`` array
        or a mapping ``comparison name -> (n_pairs,)`` array. They are applied only to
        comparisons with ``tf=True`` and only where the pair is at the top level.
        """
        self._check_fitted()
        comparisons = tuple(self.comparisons)
        levels = _check_levels(levels, comparisons, "levels")
        n = levels.shape[0]
        contributions = np.zeros((n, len(comparisons)), dtype=np.float64)
        for j, weights in enumerate(self.log2_weights_):
            table = np.append(weights, 0.0)  # index -1 (missing) -> 0
            contributions[:, j] = table[levels[:, j]]
        if tf_adjust is not None:
            self._apply_tf(contributions, levels, tf_adjust)
        weight = self.prior_log2_odds_ + contributions.sum(axis=1)
        return _weights_frame(
            weight, contributions, [c.name for c in comparisons], _probability_from_weight(weight)
        )

    def _apply_tf(
        self,
        contributions: np.ndarray,
        levels: np.ndarray,
        tf_adjust: np.ndarray | Mapping[str, np.ndarray],
    ) -> None:
        n = levels.shape[0]
        if isinstance(tf_adjust, Mapping):
            columns = {
                self._index_by_name(name): np.asarray(v, dtype=np.float64)
                for name, v in tf_adjust.items()
            }
        else:
            arr = np.asarray(tf_adjust, dtype=np.float64)
            if arr.shape != levels.shape:
                raise ValueError(f"tf_adjust must have shape {levels.shape}, got {arr.shape}")
            columns = {j: arr[:, j] for j in range(arr.shape[1])}
        for j, adjust in columns.items():
            comp = self.comparisons[j]
            if adjust.shape != (n,):
                raise ValueError(f"tf_adjust for {comp.name!r} must have shape ({n},)")
            if not comp.tf:
                if np.any(adjust != 0):
                    logger.warning(
                        "tf adjustment given for %r, which has tf=False; ignored", comp.name
                    )
                continue
            top = levels[:, j] == comp.n_levels - 1
            contributions[top, j] += np.nan_to_num(adjust[top])

    def match_weights(self) -> pd.DataFrame:
        """One row per comparison level: m, u, Bayes factor and log2 weight (for reports)."""
        self._check_fitted()
        rows = [
            {
                "comparison": comp.name,
                "level": code,
                "label": label,
                "m": float(self.m_[j][code]),
                "u": float(self.u_[j][code]),
                "bayes_factor": float(self.bayes_factors_[j][code]),
                "log2_weight": float(self.log2_weights_[j][code]),
            }
            for j, comp in enumerate(self.comparisons)
            for code, label in enumerate(comp.levels)
        ]
        return pd.DataFrame(rows)

    # ----------------------------------------------------------------- persistence
    def to_json(self) -> str:
        """The model as JSON: ``format_version``, comparisons, parameters, learned arrays."""
        fitted = None
        if hasattr(self, "m_"):
            fitted = {
                "m": [a.tolist() for a in self.m_],
                "u": [a.tolist() for a in self.u_],
                "lambda": self.lambda_,
                "n_iter": self.n_iter_,
                "converged": self.converged_,
            }
        doc = {
            "format_version": FORMAT_VERSION,
            "model": "FellegiSunter",
            "comparisons": [c.to_dict() for c in self.comparisons],
            "params": {
                "max_iter": self.max_iter,
                "tol": self.tol,
                "prior": self.prior,
                "fix_u": self.fix_u,
                "ordinal": self.ordinal,
            },
            "fitted": fitted,
        }
        return json.dumps(doc, indent=2)

    @classmethod
    def from_json(cls, text: str) -> FellegiSunter:
        """Rebuild a model written by :meth:`to_json`."""
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as err:
            raise CxidError(f"not a cxid model: invalid JSON ({err})") from err
        if not isinstance(doc, dict) or doc.get("model") != "FellegiSunter":
            raise CxidError("not a cxid FellegiSunter model (missing 'model': 'FellegiSunter')")
        version = doc.get("format_version")
        if version != FORMAT_VERSION:
            raise CxidError(
                f"unsupported FellegiSunter model format_version {version!r}; "
                f"this cxid reads format_version {FORMAT_VERSION}"
            )
        try:
            comparisons = [Comparison.from_dict(c) for c in doc["comparisons"]]
            params = doc["params"]
            model = cls(
                comparisons,
                max_iter=int(params["max_iter"]),
                tol=float(params["tol"]),
                prior=None if params["prior"] is None else float(params["prior"]),
                fix_u=bool(params["fix_u"]),
                # models written before this parameter existed were fitted without it
                ordinal=bool(params.get("ordinal", False)),
            )
            fitted = doc.get("fitted")
            if fitted is not None:
                m = [np.asarray(a, dtype=np.float64) for a in fitted["m"]]
                u = [np.asarray(a, dtype=np.float64) for a in fitted["u"]]
                for comp, m_j, u_j in zip(comparisons, m, u, strict=True):
                    if m_j.shape != (comp.n_levels,) or u_j.shape != (comp.n_levels,):
                        raise ValueError(f"m/u of {comp.name!r} do not match its levels")
                model._set_learned(
                    m, u, float(fitted["lambda"]), int(fitted["n_iter"]), bool(fitted["converged"])
                )
        except (KeyError, TypeError, ValueError) as err:
            raise CxidError(f"malformed FellegiSunter model: {err}") from err
        return model

    def save(self, path: str | Path) -> None:
        """Write :meth:`to_json` to ``path`` (atomically: temp file then rename)."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(self.to_json(), encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path) -> FellegiSunter:
        """Read a model saved by :meth:`save`."""
        return cls.from_json(Path(path).read_text(encoding="utf-8"))

    def __repr__(self) -> str:
        names = ", ".join(c.name for c in self.comparisons)
        return f"FellegiSunter(comparisons=[{names}], max_iter={self.max_iter}, tol={self.tol}, prior={self.prior}, fix_u={self.fix_u})"


# --------------------------------------------------------------------------- supervised


def one_hot_levels(levels: np.ndarray, comparisons: Sequence[Comparison]) -> pd.DataFrame:
    """One indicator column ``<name>=<label>`` per comparison level (missing -> all zeros)."""
    levels = _check_levels(levels, comparisons, "levels")
    columns: dict[str, np.ndarray] = {}
    for j, comp in enumerate(comparisons):
        for code, label in enumerate(comp.levels):
            columns[f"{comp.name}={label}"] = (levels[:, j] == code).astype(np.float64)
    return pd.DataFrame(columns)


class SupervisedModel(_Params):
    """Match model trained on labelled pairs with a recordlinkage classifier.

    Features are one-hot comparison levels. ``classifier`` is any
    ``recordlinkage`` classifier instance (default ``LogisticRegressionClassifier()``).
    With a logistic classifier, ``w_<comparison>`` columns hold each comparison's
    contribution to the log2 odds; other classifiers give NaN contributions.
    Requires the optional extra: ``pip install 'cxid[recordlinkage]'``.
    """

    _param_names = ("comparisons", "classifier", "progress")

    def __init__(
        self,
        comparisons: Sequence[Comparison],
        classifier: Any = None,
        progress: Progress | bool | None = None,
    ):
        self.comparisons = comparisons
        self.classifier = classifier
        self.progress = progress

    @staticmethod
    def _import_recordlinkage() -> Any:
        try:
            import recordlinkage
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ImportError(
                "SupervisedModel needs recordlinkage: pip install 'cxid[recordlinkage]'"
            ) from err
        return recordlinkage

    @staticmethod
    def _pair_index(n: int) -> pd.MultiIndex:
        ids = np.arange(n)
        return pd.MultiIndex.from_arrays([ids, ids], names=["pair", "pair_"])

    def fit(self, levels: np.ndarray, y: np.ndarray) -> SupervisedModel:
        """Train on a level matrix and 0/1 labels (1 = same person); return self."""
        recordlinkage = self._import_recordlinkage()
        comparisons = tuple(self.comparisons)
        features = one_hot_levels(levels, comparisons)
        labels = np.asarray(y).astype(bool).ravel()
        if labels.shape != (len(features),):
            raise ValueError(f"y must have {len(features)} labels, got {labels.shape}")
        if labels.all() or not labels.any():
            raise ValueError("training needs both matching and non-matching pairs")
        features.index = self._pair_index(len(features))
        classifier = (
            self.classifier
            if self.classifier is not None
            else recordlinkage.LogisticRegressionClassifier()
        )
        report = as_progress(self.progress)
        report.message(f"training {type(classifier).__name__} on {len(features):,} labelled pairs")
        classifier.fit(features, features.index[labels])
        self.classifier_ = classifier
        self.feature_names_ = list(features.columns)
        self.n_features_in_ = len(comparisons)
        return self

    def _linear_terms(self) -> tuple[np.ndarray, float] | None:
        kernel = getattr(self.classifier_, "kernel", None)
        from sklearn.linear_model import LogisticRegression

        if isinstance(kernel, LogisticRegression):
            return np.asarray(kernel.coef_[0], dtype=np.float64), float(kernel.intercept_[0])
        return None

    def predict(self, levels: np.ndarray) -> pd.DataFrame:
        """Same frame as :meth:`FellegiSunter.predict`: ``match_weight`` is the log2 odds."""
        if not hasattr(self, "classifier_"):
            raise NotFittedError(
                "this SupervisedModel is not fitted yet; call fit() before predict()"
            )
        comparisons = tuple(self.comparisons)
        features = one_hot_levels(levels, comparisons)
        n = len(features)
        names = [c.name for c in comparisons]
        linear = self._linear_terms()
        if linear is not None:
            coef, intercept = linear
            x = features.to_numpy()
            contributions = np.zeros((n, len(comparisons)))
            col = 0
            for j, comp in enumerate(comparisons):
                block = slice(col, col + comp.n_levels)
                contributions[:, j] = x[:, block] @ coef[block] / _LN2
                col += comp.n_levels
            weight = intercept / _LN2 + contributions.sum(axis=1)
            return _weights_frame(weight, contributions, names, _probability_from_weight(weight))
        features.index = self._pair_index(n)
        try:
            probability = np.asarray(self.classifier_.prob(features), dtype=np.float64)
        except (AttributeError, NotImplementedError):  # e.g. SVMClassifier: classes only
            matches = self.classifier_.predict(features)
            probability = features.index.isin(matches).astype(np.float64)
        clipped = np.clip(probability, 1e-12, 1.0 - 1e-12)
        weight = np.log2(clipped) - np.log2(1.0 - clipped)
        return _weights_frame(weight, np.full((n, len(comparisons)), np.nan), names, probability)
