"""Cooperative games and their exact and sampled Shapley values (chapter 1).

A *game* on ``n`` players is any callable ``v(masks)`` that takes a boolean array of
shape ``(k, n)`` (one row per coalition ``S``, ``True`` = player present) and returns
``k`` floats ``v(S)``. Everything in this module works on that contract, so the same
functions explain a table of numbers, a model with "missing" features, or anything else.

Coalitions are numbered by bit masks: coalition ``k`` contains player ``j`` exactly when
bit ``j`` of ``k`` is set. ``0`` is the empty coalition and ``2**n - 1`` the grand one.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence

import numpy as np

from .checks import (
    as_float_array,
    as_rng,
    check_flag,
    check_int,
    check_masks,
    check_positive,
)

__all__ = [
    "Game",
    "MAX_EXACT_PLAYERS",
    "MAX_PERMUTATION_PLAYERS",
    "TabularGame",
    "three_player_game",
    "coalition_masks",
    "as_float_array",
    "evaluate_game",
    "shapley_values",
    "shapley_by_permutations",
    "permutation_estimate",
]

Game = Callable[[np.ndarray], np.ndarray]

#: Largest n for which :func:`shapley_values` enumerates all 2**n coalitions.
MAX_EXACT_PLAYERS = 22
#: Largest n for which :func:`shapley_by_permutations` walks all n! orderings.
MAX_PERMUTATION_PLAYERS = 9
#: Coalitions per call of the game: bounds the memory of one batched evaluation.
DEFAULT_CHUNK = 1 << 15
#: With a ``tolerance``, :func:`permutation_estimate` first draws this many independent
#: units (orderings, or ordering-and-reverse pairs), then doubles the count: a standard
#: deviation from fewer units is itself too noisy to stop on.
TOLERANCE_START_UNITS = 32


# ----------------------------------------------------------------------------- helpers
def _subset_weights(n: int) -> np.ndarray:
    r"""``w[s]`` :math:`= s!\,(n-s-1)!/n! = 1/(n \binom{n-1}{s})` for ``s = 0 .. n-1``.

    Each entry is the correctly rounded float of the fraction (Python divides ints
    exactly), the same bits as :func:`companion.shapley_weight`, which chapter 2 derives
    and checks by counting orderings; computed here so that this module does not import
    that one (which builds on this).
    """
    return np.array([1 / (n * math.comb(n - 1, s)) for s in range(n)])


def _check_n(n: object, what: str = "n") -> int:
    return check_int(n, what, kind="an int number of players")


def _resolve_n(game: Game, n: int | None) -> int:
    """Number of players: the explicit ``n`` or the game's ``.n`` attribute."""
    if not callable(game):
        raise TypeError(f"game must be callable as v(masks), got {type(game).__name__}")
    game_n = getattr(game, "n", None)
    if n is None:
        if game_n is None:
            raise ValueError(
                "the game has no .n attribute: pass the number of players as n=..."
            )
        return _check_n(game_n, "game.n")
    n = _check_n(n)
    if game_n is not None and int(game_n) != n:
        raise ValueError(f"n={n} disagrees with the game's own n={game_n}")
    return n


#: Largest n for which a coalition code fits an int64 with room to spare.
MAX_CODE_PLAYERS = 62


def coalition_masks(codes: np.ndarray, n: int) -> np.ndarray:
    """Boolean masks ``(len(codes), n)``: row r has player j iff bit j of codes[r].

    ``codes`` is a 1-D integer array (or one int) with every code in ``0 .. 2**n - 1``;
    ``n`` an int in ``1 .. 62``. Anything else is a TypeError or ValueError, never a
    silently wrong mask.
    """
    n = check_int(n, "n", kind="an int number of players")
    if n > MAX_CODE_PLAYERS:
        raise ValueError(
            f"n={n} players do not fit an int64 coalition code; the limit is "
            f"{MAX_CODE_PLAYERS}. Build boolean masks directly for more players"
        )
    arr = np.asarray(codes)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(
            f"codes must be integers (coalition codes), got dtype {arr.dtype}; "
            "convert whole numbers with codes.astype(np.int64)"
        )
    if arr.ndim == 0:
        arr = arr[None]
    if arr.ndim != 1:
        raise ValueError(
            f"codes must be a 1-D array of coalition codes, got shape {arr.shape}"
        )
    if arr.size and (arr.min() < 0 or arr.max() > (1 << n) - 1):
        bad = arr[(arr < 0) | (arr > (1 << n) - 1)][0]
        raise ValueError(
            f"codes must lie in 0 .. 2**n - 1 = {(1 << n) - 1} for n={n} players, "
            f"got {bad}"
        )
    arr = arr.astype(np.int64)
    return ((arr[:, None] >> np.arange(n, dtype=np.int64)) & 1).astype(bool)


def _mask_codes(masks: np.ndarray) -> np.ndarray:
    """Inverse of :func:`coalition_masks`: the integer code of every row."""
    weights = np.left_shift(np.int64(1), np.arange(masks.shape[1], dtype=np.int64))
    return masks.astype(np.int64) @ weights


def evaluate_game(game: Game, masks: np.ndarray) -> np.ndarray:
    """Call ``game(masks)`` once and check it returns ``k`` finite floats ``v(S)``."""
    try:
        values = as_float_array(game(masks), "the game's output")
    except TypeError as err:
        raise ValueError(f"the game returned something that is not numbers: {err}") \
            from None
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.shape != (masks.shape[0],):
        raise ValueError(
            f"the game returned shape {values.shape} for {masks.shape[0]} coalitions; "
            f"v(masks) must return one float per row, shape ({masks.shape[0]},)"
        )
    if not np.all(np.isfinite(values)):
        raise ValueError(
            "the game returned NaN or inf for some coalition; every v(S) must be finite"
        )
    return values


def _all_values(game: Game, n: int, chunk: int) -> np.ndarray:
    """``v(S)`` for all ``2**n`` coalitions, indexed by code, in calls of <= chunk rows."""
    total = 1 << n
    values = np.empty(total, dtype=float)
    for start in range(0, total, chunk):
        codes = np.arange(start, min(start + chunk, total), dtype=np.int64)
        values[start : start + len(codes)] = evaluate_game(game, coalition_masks(codes, n))
    return values


def _popcount(codes: np.ndarray) -> np.ndarray:
    """Number of set bits of every int64 code: |S| for every coalition."""
    counts = np.zeros(codes.shape, dtype=np.int64)
    c = codes.copy()
    while np.any(c):
        counts += c & 1
        c >>= 1
    return counts


# ----------------------------------------------------------------------------- games
def _player_list(players: object) -> list:
    """``players`` as a list of hashable names (a string is refused: not a list)."""
    if isinstance(players, str) or not isinstance(players, Iterable):
        raise TypeError(
            f"players must be a list of names such as ['A', 'B', 'C'], got {players!r}"
        )
    players = list(players)
    for p in players:
        if not isinstance(p, Hashable):
            raise TypeError(f"player names must be hashable (str, int, ...), got {p!r}")
    return players


def _table_items(values: object) -> Iterable[tuple[object, object]]:
    """(coalition, v(S)) pairs from a mapping or from a list of pairs."""
    if isinstance(values, Mapping):
        return list(values.items())
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(
            "values must be a mapping {coalition: v(S)} such as {(): 0, ('A',): 1}, "
            f"or a list of (coalition, v(S)) pairs, not {type(values).__name__}"
        )
    pairs = list(values)
    for pair in pairs:
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(
                f"values as a list must hold (coalition, v(S)) pairs, got {pair!r}"
            )
    return pairs


class TabularGame:
    """A game given by a table ``{coalition: v(S)}`` over named players.

    ``players`` is a sequence of distinct hashable names; ``values`` maps every one of
    the ``2**n`` coalitions (as a frozenset, set, tuple or list of names) to a finite
    number, as a mapping or a list of ``(coalition, v(S))`` pairs; a coalition given
    twice (``("A", "B")`` and ``("B", "A")``) is an error. The object is a game:
    ``game(masks)`` returns ``v(S)`` for each boolean row.
    """

    def __init__(self, players: Sequence[Hashable], values: Mapping[Iterable, float]):
        players = _player_list(players)
        if not players:
            raise ValueError("a game needs at least one player; players is empty")
        if len(set(players)) != len(players):
            raise ValueError(f"player names must be distinct, got {players}")
        n = len(players)
        if n > MAX_EXACT_PLAYERS:
            raise ValueError(
                f"a table of 2**{n} coalitions is too large; at most "
                f"{MAX_EXACT_PLAYERS} players are supported"
            )
        index = {p: j for j, p in enumerate(players)}
        table = np.full(1 << n, np.nan)
        given: dict[int, object] = {}
        for coalition, value in _table_items(values):
            if isinstance(coalition, str):
                raise TypeError(
                    f"coalition {coalition!r} is a string; give a frozenset of names "
                    f"such as frozenset({{{coalition!r}}})"
                )
            try:
                members = frozenset(coalition)
            except TypeError:
                raise TypeError(
                    f"coalition {coalition!r} must be a set, tuple or list of names"
                ) from None
            unknown = members - index.keys()
            if unknown:
                raise ValueError(
                    f"values: coalition {set(members)} names unknown players "
                    f"{sorted(map(str, unknown))}; "
                    f"the players are {players}"
                )
            if isinstance(value, (bool, np.bool_)) or not isinstance(
                value, (int, float, np.integer, np.floating)
            ):
                raise TypeError(
                    f"values: v({set(members) or '{}'}) must be a number, not "
                    f"{type(value).__name__} ({value!r})"
                )
            value = float(value)
            if not math.isfinite(value):
                raise ValueError(
                    f"values: v({set(members) or '{}'}) = {value} is not finite"
                )
            code = sum(1 << index[p] for p in members)
            if code in given:
                raise ValueError(
                    f"values gives coalition {set(members) or '{}'} twice (as "
                    f"{given[code]!r} and {coalition!r}); give each coalition once"
                )
            given[code] = coalition
            table[code] = value
        missing = np.flatnonzero(np.isnan(table))
        if missing.size:
            examples = [
                "{" + ", ".join(str(players[j]) for j in range(n) if code >> j & 1) + "}"
                for code in missing[:4]
            ]
            raise ValueError(
                f"values lacks {missing.size} of the {1 << n} coalitions "
                f"(for example {', '.join(examples)}); give v(S) for every subset of players, "
                "including the empty one"
            )
        self.players = tuple(players)
        self.n = n
        self._table = table

    @classmethod
    def from_table(cls, table: np.ndarray, players: Sequence[Hashable] | None = None) -> "TabularGame":
        """A game from ``2**n`` numbers indexed by coalition code: ``v(S) = table[code(S)]``.

        Coalition ``S`` has code ``sum(2**j for j in S)`` (see :func:`coalition_masks`).
        ``players`` defaults to ``0, 1, ..., n-1``.
        """
        table = np.array(table)
        if table.dtype.kind not in "biuf":
            raise TypeError(f"table must hold numbers v(S), got dtype {table.dtype}")
        table = table.astype(float)
        if table.ndim != 1 or table.size < 2 or table.size & (table.size - 1):
            raise ValueError(
                f"table must be 1-D with 2**n entries (one per coalition), got shape {table.shape}"
            )
        if not np.all(np.isfinite(table)):
            raise ValueError("every v(S) in the table must be finite")
        n = table.size.bit_length() - 1
        players = list(range(n)) if players is None else list(players)
        if len(players) != n or len(set(players)) != n:
            raise ValueError(f"need {n} distinct player names for a table of 2**{n} values, got {players}")
        if n > MAX_EXACT_PLAYERS:
            raise ValueError(f"a table of 2**{n} values is too large; at most {MAX_EXACT_PLAYERS} players")
        game = cls.__new__(cls)
        game.players, game.n, game._table = tuple(players), n, table
        return game

    @property
    def table(self) -> np.ndarray:
        """``v(S)`` for every coalition, indexed by code (a read-only view)."""
        view = self._table.view()
        view.flags.writeable = False
        return view

    def __call__(self, masks: np.ndarray) -> np.ndarray:
        """``v(S)`` for every boolean row of ``masks`` (shape ``(k, n)``)."""
        return self._table[_mask_codes(check_masks(masks, self.n))]

    def as_model(self) -> Callable[[np.ndarray], np.ndarray]:
        """The game as a model over 0/1 inputs: ``f(X) = v({j : X_rj = 1})`` for each row.

        Explained at ``x = (1, ..., 1)`` against one all-zeros background row, a model
        explainer that keeps present features at ``x`` and fills absent ones from the
        background feeds ``f`` the indicator of ``S``, so it sees exactly this game.
        """

        def f(X: np.ndarray) -> np.ndarray:
            X = np.asarray(X)
            if X.ndim != 2 or X.shape[1] != self.n:
                raise ValueError(f"X must have shape (m, {self.n}), got {X.shape}")
            if not np.all((X == 0) | (X == 1)):
                raise ValueError("this model is defined on 0/1 inputs only (1 = player present)")
            return self._table[_mask_codes(X == 1)]

        return f

    def value(self, coalition: Iterable[Hashable]) -> float:
        """``v(S)`` for one coalition given by player names.

        Any iterable of names works; a string is read as its characters, so with
        one-letter players ``game.value("AB")`` is ``v({A, B})`` and ``game.value("")``
        is ``v(∅)`` (a name that is not a player is refused, so a longer name written
        as a bare string fails loudly rather than silently).
        """
        members = set(coalition)
        unknown = members - set(self.players)
        if unknown:
            raise ValueError(f"unknown players {sorted(map(str, unknown))}; the players are {list(self.players)}")
        return float(self._table[sum(1 << self.players.index(p) for p in members)])

    def __repr__(self) -> str:
        return f"TabularGame(players={list(self.players)})"


def three_player_game() -> TabularGame:
    """The book's running example: players A, B, C with v(ABC) = 200.

    v: {} = 0, A = 100, B = 80, C = 60, AB = 180, AC = 160, BC = 140, ABC = 200;
    its Shapley values are phi = (260/3, 200/3, 140/3) = (86.67, 66.67, 46.67).
    """
    v = {
        (): 0, ("A",): 100, ("B",): 80, ("C",): 60,
        ("A", "B"): 180, ("A", "C"): 160, ("B", "C"): 140, ("A", "B", "C"): 200,
    }
    return TabularGame(["A", "B", "C"], v)


# ----------------------------------------------------------------------------- exact values
def shapley_values(game: Game, n: int | None = None, chunk: int = DEFAULT_CHUNK) -> np.ndarray:
    r"""Exact Shapley values by the subset formula.

    .. math::
        \phi_i = \sum_{S \subseteq N \setminus \{i\}} \frac{|S|!\,(n-|S|-1)!}{n!}
                 \big[v(S \cup \{i\}) - v(S)\big]

    All ``2**n`` coalitions are built as boolean masks and ``v`` is called on them in
    batches of at most ``chunk`` rows, so memory stays bounded; each coalition is
    evaluated exactly once. Refuses ``n > MAX_EXACT_PLAYERS``: use
    :func:`permutation_estimate` there.
    """
    n = _resolve_n(game, n)
    if n > MAX_EXACT_PLAYERS:
        raise ValueError(
            f"exact Shapley values need all 2**{n} coalitions; the limit is "
            f"{MAX_EXACT_PLAYERS} players. Use permutation_estimate(game, n_permutations, ...) "
            "for a sampled estimate instead"
        )
    chunk = check_int(chunk, "chunk", kind="a positive int number of coalitions")
    values = _all_values(game, n, chunk)
    weights = _subset_weights(n)  # w[s] = s! (n - s - 1)! / n!
    without_i = np.arange(1 << (n - 1), dtype=np.int64)  # coalitions of the n-1 others
    sizes = _popcount(without_i)
    w = weights[sizes]
    phi = np.empty(n)
    for i in range(n):
        # insert a zero bit at position i: S ranges over coalitions without player i
        low = without_i & ((1 << i) - 1)
        S = ((without_i >> i) << (i + 1)) | low
        phi[i] = np.dot(w, values[S | (1 << i)] - values[S])
    return phi


def shapley_by_permutations(game: Game, n: int | None = None) -> np.ndarray:
    r"""Exact Shapley values as the average marginal contribution over all n! orderings.

    .. math::
        \phi_i = \frac{1}{n!} \sum_{\pi} \big[v(P_i^\pi \cup \{i\}) - v(P_i^\pi)\big]

    where :math:`P_i^\pi` is the set of players before ``i`` in ordering :math:`\pi`.
    Every ordering is walked (``v`` is evaluated once per distinct coalition), so this is
    the definition itself, limited to ``n <= MAX_PERMUTATION_PLAYERS``.
    """
    n = _resolve_n(game, n)
    if n > MAX_PERMUTATION_PLAYERS:
        raise ValueError(
            f"{n}! orderings are too many to walk; the limit is {MAX_PERMUTATION_PLAYERS} "
            "players. Use shapley_values (subset formula) or permutation_estimate"
        )
    values = _all_values(game, n, DEFAULT_CHUNK)

    def lookup(masks: np.ndarray) -> np.ndarray:
        return values[_mask_codes(masks)]

    perms = np.array(list(itertools.permutations(range(n))), dtype=np.int64)
    return _ordering_marginals(lookup, perms, DEFAULT_CHUNK) / len(perms)


# ----------------------------------------------------------------------------- sampling
def _sample_orderings(n: int, n_permutations: int, rng: np.random.Generator, antithetic: bool) -> np.ndarray:
    """``n_permutations`` random orderings of ``range(n)``, one per row."""
    m = n_permutations // 2 if antithetic else n_permutations
    perms = rng.permuted(np.tile(np.arange(n), (m, 1)), axis=1)
    return np.concatenate([perms, perms[:, ::-1]]) if antithetic else perms


def _end_values(game: Game, n: int) -> tuple[float, float]:
    """``(v({}), v(N))``, in one call of ``game``."""
    ends = np.zeros((2, n), dtype=bool)
    ends[1] = True
    v_empty, v_full = evaluate_game(game, ends)
    return v_empty, v_full


def _ordering_marginals(
    game: Game,
    perms: np.ndarray,
    chunk: int,
    per_ordering: bool = False,
    ends: tuple[float, float] | None = None,
) -> np.ndarray:
    """Sum over the orderings in ``perms`` of each player's marginal contribution.

    With ``per_ordering=True`` the contributions are returned per ordering instead,
    shape ``(m, n)`` (row ``k``: each player's marginal contribution in ordering ``k``).

    Ordering k visits the n + 1 prefixes P_0 = {} , ..., P_n = N; prefix t holds the
    players of rank < t. The two ends P_0 = {} and P_n = N are the same in every ordering,
    so ``v({})`` and ``v(N)`` are evaluated once; only the n - 1 interior prefixes of each
    ordering are new. All interior prefixes of a block of orderings go through ``game`` in
    one call of at most about ``chunk`` coalitions, so the whole sum costs
    ``2 + m (n - 1)`` evaluations of ``v`` for ``m`` orderings (``m (n - 1)`` when
    ``ends`` passes :func:`_end_values` in).
    """
    m, n = perms.shape
    v_empty, v_full = _end_values(game, n) if ends is None else ends
    ranks = np.argsort(perms, axis=1)  # ranks[k, j]: position of player j in ordering k
    steps = np.arange(1, n)  # interior prefixes P_1, ..., P_{n-1}
    block = max(1, chunk // max(1, n - 1))
    total = np.zeros((m, n) if per_ordering else n)
    for start in range(0, m, block):
        r = ranks[start : start + block]
        values = np.empty((len(r), n + 1))
        values[:, 0], values[:, n] = v_empty, v_full
        if n > 1:
            masks = r[:, None, :] < steps[None, :, None]  # (b, n - 1, n)
            values[:, 1:n] = evaluate_game(game, masks.reshape(-1, n)).reshape(len(r), n - 1)
        contrib = np.diff(values, axis=1)  # contrib[k, t]: the player of rank t joins
        if per_ordering:
            rows = np.arange(start, start + len(r))[:, None]
            total[rows, perms[start : start + block]] = contrib
        else:
            total += np.bincount(perms[start : start + block].ravel(), weights=contrib.ravel(), minlength=n)
    return total


def permutation_estimate(
    game: Game,
    n_permutations: int,
    n: int | None = None,
    rng: np.random.Generator | int | None = None,
    antithetic: bool = False,
    chunk: int = DEFAULT_CHUNK,
    return_std: bool = False,
    tolerance: float | None = None,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    r"""Monte-Carlo Shapley values from ``n_permutations`` random orderings.

    .. math::
        \hat\phi_i = \frac{1}{m} \sum_{k=1}^{m} \big[v(P_i^{\pi_k} \cup \{i\}) - v(P_i^{\pi_k})\big]

    Unbiased, with error shrinking like :math:`1/\sqrt{m}`. An ordering visits ``n + 1``
    prefixes, but the first (``{}``) and the last (``N``) are the same in every ordering:
    ``v({})`` and ``v(N)`` are evaluated once, and each ordering adds its ``n - 1`` interior
    prefixes, so the estimate costs ``2 + m (n - 1)`` evaluations of ``v`` in all, done in
    batched calls of at most about ``chunk`` coalitions. With ``antithetic=True`` every
    sampled ordering is paired with its reverse (``n_permutations`` must then be even); the
    pair's errors are negatively correlated, which lowers the variance (Mitchell et al.
    2022). Efficiency :math:`\sum_i \hat\phi_i = v(N) - v(\varnothing)` holds exactly for
    every sample.

    With ``return_std=True`` it returns ``(phi, error_std)``: the standard error of each
    :math:`\hat\phi_i`, :math:`s_i/\sqrt{u}` with :math:`s_i` the sample standard
    deviation over the ``u`` independent units (orderings, or ordering-and-reverse pairs
    with ``antithetic=True``, each pair's mean contribution being one unit). It needs at
    least two units.

    ``tolerance``: sample until every standard error :math:`s_i/\sqrt{u}` is at most
    ``tolerance``, ``n_permutations`` becoming the most orderings to use. Units are drawn
    :data:`TOLERANCE_START_UNITS` at first, then as many again as are held (32, 64,
    128, ...), each batch from the same ``rng`` and kept: the orderings are those a call
    with as many ``n_permutations`` and the same ``rng`` draws, and so is the answer (up
    to rounding; bit for bit with ``return_std=True``), at the same cost of
    ``2 + m (n - 1)`` evaluations for the ``m`` orderings used. Every unit's
    contributions are kept until the stop (``n_permutations`` times ``n`` floats at
    most). If the cap is reached first, the estimate from all ``n_permutations``
    comes back with a ``UserWarning``. Stopping as soon as the estimated error is small
    favours draws whose estimated error came out small: read ``tolerance`` as a target,
    not a guarantee.
    """
    n = _resolve_n(game, n)
    n_permutations = check_int(n_permutations, "n_permutations")
    chunk = check_int(chunk, "chunk", kind="a positive int number of coalitions")
    antithetic = check_flag(antithetic, "antithetic")
    if antithetic and n_permutations % 2:
        raise ValueError(
            f"antithetic sampling pairs each ordering with its reverse: n_permutations "
            f"must be even, got {n_permutations}"
        )
    return_std = check_flag(return_std, "return_std")
    if tolerance is not None:
        tolerance = check_positive(
            tolerance, "tolerance", "; the largest standard error to accept, or None"
        )
    units = n_permutations // 2 if antithetic else n_permutations
    if (return_std or tolerance is not None) and units < 2:
        raise ValueError(
            f"a standard error (return_std, tolerance) needs at least two independent "
            f"units: n_permutations={n_permutations} gives {units}; use at least "
            f"{4 if antithetic else 2}"
        )
    generator = as_rng(rng)
    if tolerance is not None:
        phi, error_std = _until_tolerance(
            game, n, units, generator, antithetic, chunk, tolerance
        )
        return (phi, error_std) if return_std else phi
    perms = _sample_orderings(n, n_permutations, generator, antithetic)
    if not return_std:
        return _ordering_marginals(game, perms, chunk) / len(perms)
    return _mean_and_error(_ordering_marginals(game, perms, chunk, per_ordering=True),
                           antithetic)


def _until_tolerance(
    game: Game,
    n: int,
    units: int,
    rng: np.random.Generator,
    antithetic: bool,
    chunk: int,
    tolerance: float,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`permutation_estimate` with a ``tolerance``: batches of units, doubling.

    Each unit's mean contribution (an ordering, or an ordering and its reverse) is kept,
    so the estimate at the stop is the mean over every unit drawn.
    """
    per = 2 if antithetic else 1
    ends = _end_values(game, n)
    batches = []  # each unit's mean contribution, batch by batch
    done, size = 0, min(units, TOLERANCE_START_UNITS)
    while True:
        perms = _sample_orderings(n, per * size, rng, antithetic)
        contrib = _ordering_marginals(game, perms, chunk, per_ordering=True, ends=ends)
        batches.append(_unit_means(contrib, antithetic))
        done += size
        phi, error_std = _mean_and_error(np.concatenate(batches), antithetic=False)
        if np.all(error_std <= tolerance):
            return phi, error_std
        if done == units:
            warnings.warn(
                f"tolerance={tolerance:g} not reached within n_permutations="
                f"{per * units}: the largest standard error is {error_std.max():.3g}; "
                "raise n_permutations (the error shrinks like 1/sqrt(n_permutations))",
                UserWarning,
                stacklevel=3,
            )
            return phi, error_std
        size = min(done, units - done)


def _unit_means(contrib: np.ndarray, antithetic: bool) -> np.ndarray:
    """Per-ordering contributions ``(m, n)`` as independent units: antithetic orderings
    ``k`` and ``k + m/2`` (a sample and its reverse) averaged into one, ``(m/2, n)``;
    they are dependent, the pairs are independent."""
    if not antithetic:
        return contrib
    half = len(contrib) // 2
    return 0.5 * (contrib[:half] + contrib[half:])


def _mean_and_error(contrib: np.ndarray, antithetic: bool) -> tuple[np.ndarray, np.ndarray]:
    """Mean over orderings and its standard error over independent units
    (:func:`_unit_means`), ``(n,)`` each."""
    contrib = _unit_means(contrib, antithetic)
    return contrib.mean(axis=0), contrib.std(axis=0, ddof=1) / np.sqrt(len(contrib))
