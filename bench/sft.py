"""Training throughput of `tldr-train sft` with padding, packing and padding-free batching, side by side.

Reasoning traces vary a lot in length, so padded batches waste most of their compute on pad tokens. This
prints non-pad training tokens per second for each batching mode on the same tiny data in one run.

    PYTHONPATH=. python bench/sft.py --device cpu --steps 10
    python bench/sft.py --device cuda --hidden 1024 --layers 12 --steps 50 --batch-size 16
"""

from __future__ import annotations

import argparse
import random
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tldr_train.sft import train
from tldr_train.tiny import build_tiny
from tldr_train.training import Training

PHRASES = [
    "Let me check.",
    "Wait, 12 + 30 = 42.",
    "So the answer is 42.",
    "Step by step:",
    "Hmm, 7 * 8 = 56.",
]

MODES = {
    "padding": {"packing": False},
    "packing": {"packing": True},
    # TRL refuses a max_length with padding-free batching but no packing; only a recipe can set it to null.
    "padding-free": {"packing": False, "extra": ["--padding_free", "True"], "recipe": "max_length: null\n"},
}


def write_mixture(folder: Path, rows: int, seed: int) -> Path:
    """Completions from 5 to 120 phrases long, like short and long reasoning traces mixed."""
    rng = random.Random(seed)
    records = [
        {
            "prompt": [{"role": "user", "content": f"What is {i} + {i + 1}?"}],
            "completion": [
                {"role": "assistant", "content": " ".join(rng.choices(PHRASES, k=rng.randint(5, 120)))}
            ],
        }
        for i in range(rows)
    ]
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(records), folder / "train.parquet")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--rows", type=int, default=512)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-sft-") as tmp:
        root = Path(tmp)
        model = build_tiny(root / "model", hidden=args.hidden, layers=args.layers, seed=args.seed)
        dataset = write_mixture(root / "mix", args.rows, args.seed)
        device = ["--use_cpu", "True"] if args.device == "cpu" else ["--use_cpu", "False"]
        results = {}
        for name, mode in MODES.items():
            extra = [
                *device,
                "--save_strategy",
                "no",
                "--logging_steps",
                str(args.steps),
                *mode.get("extra", []),
            ]
            if "recipe" in mode:
                (root / f"{name}.yaml").write_text(mode["recipe"])
                extra += ["--config", str(root / f"{name}.yaml")]
            try:
                # A recipe's max_length applies where the flag keeps the default.
                length = {} if "recipe" in mode else {"max_length": args.max_length}
                settings = Training(
                    batch_size=args.batch_size, packing=mode["packing"], bf16=args.device == "cuda", **length
                )
                results[name] = train(
                    model["path"],
                    dataset,
                    root / name,
                    settings,
                    max_steps=args.steps,
                    seed=args.seed,
                    extra_args=extra,
                )
            except Exception as err:  # noqa: BLE001 - a mode the device cannot run is reported, not fatal
                results[name] = {"error": f"{type(err).__name__}: {str(err).splitlines()[0]}"}

    print(
        f"\nsft throughput: {args.device}, Qwen2 hidden {args.hidden} x {args.layers} layers "
        f"({model['parameters']:,} params), {args.steps} steps x batch {args.batch_size}, {args.rows} rows"
    )
    print(f"{'mode':<14}{'train tokens':>14}{'wall s':>10}{'tokens/s':>12}{'vs padding':>12}")
    base = results["padding"].get("tokens_per_s")
    for name, summary in results.items():
        if "error" in summary:
            print(f"{name:<14}  unsupported here: {summary['error']}")
            continue
        ratio = f"{summary['tokens_per_s'] / base:.2f}x" if base else "-"
        print(
            f"{name:<14}{summary['train_tokens']:>14,}{summary['seconds']:>10.1f}"
            f"{summary['tokens_per_s']:>12,.0f}{ratio:>12}"
        )


if __name__ == "__main__":
    main()
