"""Accuracy and thinking-length profile of `verified` rows per group, computed in DuckDB SQL.

Every row counts: a timeout or an error is a wrong answer, and its tokens count in the length statistics
(the reference code left failed verifications out of the mean, which flatters long models).
Token statistics are over `completion_tokens`, i.e. the generating model's tokenizer count after `verify`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from tldr_data.duck import columns, connect, contract_scan
from tldr_data.errors import InputError
from tldr_data.paths import check_outputs

METRICS = (
    "n",
    "accuracy",
    "mean_tokens",
    "median_tokens",
    "p90_tokens",
    "max_tokens",
    "truncated_rate",
    "pass_at_k",
)
DEFAULT_BY = ("system", "source")


def profile_sql(con: Any, inputs: Sequence[str | os.PathLike], by: Sequence[str] = DEFAULT_BY) -> str:
    """The profile query over `inputs`, one row per group, groups sorted.

    pass@k is the unbiased estimator of Chen et al. (2021), 1 - C(n-c, k) / C(n, k) per problem, with k
    the fewest samples any problem of the group has, averaged over the group's problems (each of a
    problem's rows carries 1/samples of its estimate; lgamma keeps the binomials finite). It is null
    where k < 2: with one sample it is plain accuracy.
    """
    table = contract_scan(con, inputs, "verified")
    present = columns(con, table)
    unknown = [name for name in by if name not in present]
    if unknown:
        raise InputError(
            f"--by {','.join(by)}: unknown column(s) {', '.join(unknown)}; known: {', '.join(present)}"
        )
    keys = ", ".join(f'"{name}"' for name in by)
    keys_then = f"{keys}, " if by else ""
    group_by = f"GROUP BY {keys} ORDER BY {keys}" if by else ""
    return f"""
WITH base AS (
    SELECT *, coalesce(correct, FALSE)::INTEGER AS hit FROM {table}
),
per_problem AS (
    SELECT *,
        count(*) OVER (PARTITION BY {keys_then}problem_id) AS samples,
        sum(hit) OVER (PARTITION BY {keys_then}problem_id) AS hits
    FROM base
),
estimates AS (
    SELECT *,
        CASE WHEN samples - hits < k THEN 1.0
             ELSE 1.0 - exp(lgamma(samples - hits + 1) - lgamma(samples - hits - k + 1)
                            - lgamma(samples + 1) + lgamma(samples - k + 1))
        END AS pass_estimate
    FROM (SELECT *, min(samples) OVER ({"PARTITION BY " + keys if by else ""}) AS k FROM per_problem)
)
SELECT {keys_then}
    count(*) AS n,
    avg(hit) AS accuracy,
    avg(completion_tokens) AS mean_tokens,
    quantile_cont(completion_tokens, 0.5) AS median_tokens,
    quantile_cont(completion_tokens, 0.9) AS p90_tokens,
    max(completion_tokens) AS max_tokens,
    avg((finish_reason = 'length')::INTEGER) AS truncated_rate,
    CASE WHEN min(k) < 2 THEN NULL
         ELSE sum(pass_estimate / samples) / count(DISTINCT problem_id) END AS pass_at_k
FROM estimates
{group_by}
"""


def profile(inputs: Sequence[str | os.PathLike], *, by: Sequence[str] = DEFAULT_BY) -> list[dict[str, Any]]:
    """One dict per group: the group columns, then METRICS."""
    con = connect()
    result = con.execute(profile_sql(con, inputs, by))
    names = [d[0] for d in result.description]
    rows = [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    if not rows:
        raise InputError(f"{', '.join(map(str, inputs))}: holds no rows to profile")
    return rows


def render_table(rows: list[dict[str, Any]], by: Sequence[str]) -> str:
    """A fixed-width text table: one line per group."""
    headers = [*by, *METRICS]
    cells = [[_cell(row[h]) for h in headers] for row in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(line, widths, strict=True)) for line in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if value < 10 else f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def plot(
    inputs: Sequence[str | os.PathLike],
    rows: list[dict[str, Any]],
    by: Sequence[str],
    path: str | os.PathLike,
) -> None:
    """Token-length histograms, one per group, titled with the group's accuracy; written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tldr_data.atomic import atomic_path

    check_outputs({"--plot": path}, inputs)
    con = connect()
    table = contract_scan(con, inputs, "verified")
    fig, axes = plt.subplots(len(rows), 1, figsize=(7, 2.2 * max(1, len(rows))), squeeze=False)
    for ax, row in zip(axes[:, 0], rows, strict=True):
        where = " AND ".join(f'"{name}" IS NOT DISTINCT FROM ?' for name in by) or "TRUE"
        tokens = [
            r[0]
            for r in con.execute(
                f"SELECT completion_tokens FROM {table} WHERE {where}", [row[n] for n in by]
            ).fetchall()
        ]
        ax.hist(tokens, bins=40, color="tab:blue", alpha=0.8)
        ax.axvline(
            row["mean_tokens"], color="tab:red", linestyle="--", label=f"mean {row['mean_tokens']:.0f}"
        )
        label = " / ".join(str(row[n]) for n in by) or "all"
        ax.set_title(f"{label}: accuracy {row['accuracy']:.3f}, n={row['n']}", fontsize=9)
        ax.legend(fontsize=8)
    axes[-1, 0].set_xlabel("completion tokens")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
