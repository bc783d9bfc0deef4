"""`tldr-train`: tiny models, SFT, TLDR rounds, evaluation and reports.

Each command parses options and calls one library function; heavy imports (torch, TRL, vLLM)
happen inside those functions so that `--help` stays instant.
"""

from __future__ import annotations

import json

import click

from tldr_data.clitools import (
    CONTEXT_SETTINGS,
    TldrGroup,
    debug_option,
    emit_summary,
    json_option,
    output_option,
    overwrite_option,
    progress_enabled,
    seed_option,
    settings_options,
)
from tldr_data.ratio import DEFAULT_C, DEFAULT_ETA, MODES
from tldr_train.evaluate import Protocol
from tldr_train.launch import Launch
from tldr_train.run import DEFAULT_ALPHA0, DEFAULT_TOL
from tldr_train.training import Training


@click.group(cls=TldrGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(package_name="tldr")
@debug_option
def cli() -> None:
    """Train reasoning models on TLDR mixtures in rounds, and measure them.

    \b
    Loop:
      init    start a run: measure the System-1 / System-2 reference points on dev
      round   mix at the current ratio, train, evaluate on dev, update the ratio
      run     several rounds in one process; record  a round trained elsewhere
      pick    the paper's checkpoint choice; eval  benchmarks; report  table + plot
    """


decoding_options = settings_options(Protocol, "protocol")


def _named_paths(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> list[tuple]:
    """`NAME=PATH` items as (name, path) pairs."""
    pairs = []
    for item in values:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise click.BadParameter(f"{item!r}: expected NAME=EVAL.json")
        pairs.append((name, path))
    return pairs


def run_option(fn):
    """`--run RUN_DIR`: the run folder every round-level command works in."""
    option = click.option(
        "--run", "run_dir", required=True, type=click.Path(), help="Run folder (from `init`)"
    )
    return option(fn)


@cli.command("tiny")
@output_option("Folder to write the model and tokenizer to")
@click.option("--layers", type=int, default=2, help="Transformer layers")
@click.option("--hidden", type=int, default=64, help="Hidden size")
@click.option(
    "--heads", type=int, default=None, help="Attention heads [default: hidden/32, head_dim 32 for vLLM-CPU]"
)
@click.option("--kv-heads", type=int, default=None, help="Key/value heads [default: heads]")
@click.option("--intermediate", type=int, default=None, help="MLP size [default: 4 x hidden]")
@click.option(
    "--vocab-size", type=int, default=1000, help="BPE vocabulary target (a small corpus gives fewer)"
)
@click.option("--max-position", type=int, default=2048, help="Context length (vLLM's max_model_len)")
@click.option(
    "--corpus",
    multiple=True,
    type=click.Path(),
    help="Tokenizer text: problems/traces/mixture Parquet, .txt, or folders of them (repeatable)",
)
@seed_option
@overwrite_option
@json_option
def tiny_command(output: str, corpus: tuple[str, ...], as_json: bool, **sizes) -> None:
    """Build a tiny random Qwen2 model with a locally trained tokenizer.

    The folder loads with AutoModelForCausalLM / AutoTokenizer / vllm.LLM like any Qwen checkpoint:
    ChatML chat template, <|im_end|> as eos, <think> tags as added tokens, one token per digit.

    \b
    Example:
      tldr-train tiny -o models/tiny --corpus problems.parquet
      tldr-train tiny -o models/small --hidden 256 --layers 4 --vocab-size 4000 --corpus traces/
    """
    from tldr_train import tiny

    summary = tiny.build_tiny(output, corpus=corpus, **sizes)
    line = (
        f"built tiny Qwen2 ({summary['parameters']:,} parameters, vocab {summary['vocab_size']:,}) "
        f"in {summary['seconds']:.1f}s -> {summary['path']}"
    )
    emit_summary(summary, line, as_json)


@cli.command("sft", context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("-m", "--model", required=True, help="Model folder or hub id to fine-tune")
@click.option(
    "-d", "--dataset", required=True, type=click.Path(), help="Mixture folder or prompt-completion file"
)
@output_option("Checkpoint folder (model + tokenizer + tldr_sft_config.json)")
@click.option("--max-steps", type=int, help="Optimizer steps  [default: -1, i.e. --num_train_epochs, 3]")
@settings_options(Training, "training")
@seed_option
@json_option
@click.argument("extra_args", nargs=-1, type=click.UNPROCESSED)
def sft_command(
    model: str,
    dataset: str,
    output: str,
    max_steps: int | None,
    training: Training,
    seed: int,
    as_json: bool,
    extra_args: tuple[str, ...],
) -> None:
    """Fine-tune a model on a mixture with TRL's SFTTrainer (loss on completions only).

    Unknown options go to TRL's SFTConfig/ModelConfig untouched, in their own spelling
    (`--lr_scheduler_type cosine`, `--warmup_ratio 0.1`, `--config recipe.yaml`); a recipe's value holds
    where the named option keeps its default. Re-running a finished checkpoint is a no-op; a killed run
    resumes from its last `checkpoint-N`. Across GPUs: `accelerate launch -m tldr_train.sft ...`.

    \b
    Input:  prompt-completion data (the `mixture` contract: chat-message `prompt` and `completion`)
    Output: a model folder that transformers and vLLM load as is
    Example:
      tldr-train sft -m models/tiny -d mix/ -o ckpt/ --max-steps 30 --lr 1e-3
      tldr-train sft -m Qwen/Qwen2.5-7B-Instruct -d mix/ -o ckpt/ --lora --lr_scheduler_type cosine
    """
    from tldr_train import sft

    summary = sft.train(
        model, dataset, output, training, max_steps=max_steps, seed=seed, extra_args=extra_args
    )
    if summary["skipped"]:
        line = (
            f"{summary['output']} already holds a finished training ({summary['steps']} steps); nothing to do"
        )
    else:
        line = (
            f"trained {summary['steps']:,} steps on {summary['train_tokens']:,} tokens "
            f"in {summary['seconds']:.1f}s ({summary['tokens_per_s']:,.0f} tok/s, "
            f"final loss {summary['final_loss']:.3f}) -> {summary['output']}"
        )
    emit_summary(summary, line, as_json)


@cli.command("init")
@click.option("--short-model", required=True, help="System-1 model (folder or hub id): the efficiency bound")
@click.option("--long-model", required=True, help="System-2 model: the accuracy bound and round 0's start")
@click.option("--short-pool", required=True, type=click.Path(), help="Short pool (`tldr-data select` output)")
@click.option("--long-pool", required=True, type=click.Path(), help="Long pool (`tldr-data select` output)")
@click.option("--dev", required=True, type=click.Path(), help="Dev set (`problems` Parquet)")
@output_option("Run folder to create (state.json, refs/)")
@click.option("--eta", type=float, default=DEFAULT_ETA, help="Update step size")
@click.option("--floor", "c", type=float, default=DEFAULT_C, help="Floor mass c keeping both pools alive")
@click.option(
    "--tol", type=float, default=DEFAULT_TOL, help="Accepted accuracy loss of the checkpoint choice"
)
@click.option("--alpha0", type=float, default=DEFAULT_ALPHA0, help="Short-pool weight of round 0")
@click.option("--mode", type=click.Choice(MODES), default="tldr", help="constant: static baseline")
@decoding_options
@click.option("--steps", type=int, default=32, help="Optimizer steps per round (paper: 32)")
@click.option("--mix-size", type=int, help="Rows per mixture  [default: steps x batch size x grad accum]")
@settings_options(Training, "training")
@click.option(
    "--fresh-optimizer",
    is_flag=True,
    help="Start each round's optimizer, schedule and step afresh  [default: one continuous optimisation]",
)
@settings_options(Launch, "launch")
@json_option
def init_command(
    short_model: str,
    long_model: str,
    short_pool: str,
    long_pool: str,
    dev: str,
    output: str,
    eta: float,
    c: float,
    tol: float,
    alpha0: float,
    mode: str,
    protocol: Protocol,
    steps: int,
    mix_size: int | None,
    training: Training,
    fresh_optimizer: bool,
    launch: Launch,
    as_json: bool,
) -> None:
    """Start a run: measure the reference points.

    Measures the System-1 (T_s, A_s) and System-2 (T_l, A_l) reference points on the dev set.
    The decoding protocol, training settings and launch settings given here are recorded in RUN/state.json
    and reused by every round, so references and dev evaluations are measured alike. Traces stay in
    RUN/refs/. Rounds continue one optimisation (Adam, schedule, step) unless --fresh-optimizer; with
    --launcher each round trains in a child process (`torchrun ...`, `accelerate launch ...`), and
    --data-parallel K generates in K processes pinned to their GPUs.

    \b
    Input:  two models, two pools (`verified` rows), a dev set (`problems`)
    Output: RUN/state.json (references, eta, c, protocol, settings), RUN/refs/{short,long}/
    Example:
      tldr-train init --short-model Qwen/Qwen2.5-7B-Instruct \\
        --long-model deepseek-ai/DeepSeek-R1-Distill-Qwen-7B \\
        --short-pool short.parquet --long-pool long.parquet --dev dev.parquet -o run/
    """
    from tldr_train import refs

    summary = refs.init_run(
        short_model,
        long_model,
        short_pool,
        long_pool,
        dev,
        output,
        protocol=protocol,
        eta=eta,
        c=c,
        tol=tol,
        alpha0=alpha0,
        mode=mode,
        seed=protocol.seed,
        steps=steps,
        mix_size=mix_size,
        training=training,
        continuous=not fresh_optimizer,
        launch=launch,
        progress=progress_enabled(),
    )
    points = summary["references"]
    line = (
        f"references: short {points['t_short']:,.1f} tok / {points['a_short']:.3f}, "
        f"long {points['t_long']:,.1f} tok / {points['a_long']:.3f} in {summary['seconds']:.1f}s "
        f"-> {output}/state.json"
    )
    emit_summary(summary, line, as_json)


@cli.command("round")
@run_option
@click.option("--steps", type=int, help="Optimizer steps this round  [default: the run's]")
@click.option("--mix-size", type=int, help="Rows in this round's mixture  [default: the run's]")
@json_option
def round_command(run_dir: str, steps: int | None, mix_size: int | None, as_json: bool) -> None:
    """Run one round: mix, train, evaluate, update.

    Draws the mixture at the current ratio, continues training from the latest checkpoint (round 0: the
    System-2 model), evaluates on the dev set with the run's protocol and updates the ratio.
    Safe to kill and re-run: a finished mixture, checkpoint or measurement is reused, and the round enters
    the history once. Writes RUN/round-NNN/{mix,ckpt,dev} and updates RUN/state.json.

    \b
    Example:
      tldr-train round --run run/
      for i in 1 2 3 4; do tldr-train round --run run/; done
    """
    from tldr_train import rounds

    entry = rounds.run_round(run_dir, steps=steps, mix_size=mix_size, progress=progress_enabled())
    emit_summary(entry, rounds.format_line(entry), as_json)


@cli.command("run")
@run_option
@click.option("--rounds", type=int, required=True, help="Rounds the run should have when done")
@click.option("--steps", type=int, help="Optimizer steps per round  [default: the run's]")
@click.option("--mix-size", type=int, help="Rows per mixture  [default: the run's]")
@json_option
def run_command(run_dir: str, rounds: int, steps: int | None, mix_size: int | None, as_json: bool) -> None:
    """Run rounds in one process up to --rounds.

    The same loop as calling `tldr-train round` repeatedly, with the same results; re-running after a
    kill finishes the remaining rounds.

    \b
    Example:
      tldr-train run --run run/ --rounds 8
    """
    from tldr_train import rounds as loop

    entries = []
    progress = progress_enabled()
    for entry in loop.run_rounds(run_dir, rounds, steps=steps, mix_size=mix_size, progress=progress):
        entries.append(entry)
        if not as_json:
            click.echo(loop.format_line(entry))
    if as_json:
        click.echo(json.dumps({"run": run_dir, "rounds_run": entries}, indent=2, default=str))
    elif not entries:
        click.echo(f"{run_dir} already has {rounds} round(s); nothing to do")


@cli.command("record")
@run_option
@click.option("--acc", type=float, required=True, help="Dev accuracy of the round's checkpoint")
@click.option("--tokens", type=float, required=True, help="Mean dev completion tokens of that checkpoint")
@click.option("--checkpoint", required=True, help="The round's checkpoint (the next round starts from it)")
@click.option("--mixture", help="The mixture the round trained on")
@json_option
def record_command(
    run_dir: str, acc: float, tokens: float, checkpoint: str, mixture: str | None, as_json: bool
) -> None:
    """Record a round trained elsewhere: update the ratio in the run.

    For an external trainer: draw the mixture with `tldr-data mix --ratio` (the run's current ratio),
    train, measure on dev with the run's protocol, then record the result here. The entry enters
    RUN/state.json like one written by `tldr-train round`.

    \b
    Example:
      tldr-train record --run run/ --acc 0.60 --tokens 7000 --checkpoint /ckpts/round-001
    """
    from tldr_train import run

    entry = run.record_round(run_dir, acc, tokens, checkpoint=checkpoint, mixture=mixture)
    line = (
        f"round {entry['round']:03d}  alpha_short {entry['alpha_short']:.4f}  "
        f"next alpha_short {entry['next_alpha_short']:.4f}  -> {run_dir}/state.json"
    )
    emit_summary(entry, line, as_json)


@cli.command("pick")
@run_option
@click.option("--tol", type=float, help="Accepted accuracy loss  [default: the run's, set by init]")
@json_option
def pick_command(run_dir: str, tol: float | None, as_json: bool) -> None:
    """Pick the checkpoint the paper would choose.

    The fewest dev tokens among rounds with dev accuracy >= (1 - tol) x A_l.

    \b
    Example:
      tldr-train pick --run run/ --tol 0.3
    """
    from tldr_train import pick

    chosen = pick.pick(run_dir, tol=tol)
    line = (
        f"round {chosen['round']}: dev accuracy {chosen['dev_accuracy']:.3f} "
        f">= {chosen['accuracy_floor']:.3f}, "
        f"{chosen['dev_tokens']:,.1f} tokens -> {chosen['checkpoint']}"
    )
    emit_summary(chosen, line, as_json)


@cli.command("eval")
@click.option("-m", "--model", required=True, help="Model folder or hub id to measure")
@click.option(
    "--bench", "benches", multiple=True, required=True, type=click.Path(), help="Benchmark `problems` Parquet"
)
@decoding_options
@settings_options(Launch, "launch", exclude=("launcher",))
@output_option("Folder to keep traces in (one subfolder per benchmark)  [default: a temporary folder]", False)
@json_option
def eval_command(
    model: str,
    benches: tuple[str, ...],
    protocol: Protocol,
    launch: Launch,
    output: str | None,
    as_json: bool,
) -> None:
    """Measure a model's accuracy, tokens, pass@n.

    Per benchmark, and per difficulty level where the benchmark sets `difficulty`.
    Uses the same generate + verify + profile path as `init` and `round`; pass the run's protocol
    settings to compare with its references.

    \b
    Input:  `problems` Parquet files (e.g. `tldr-data problems` on benchmark JSONL)
    Output: a Markdown table (or --json); with -o, DIR/<bench>/{traces/,verified.parquet}
    Example:
      tldr-train eval -m run/round-004/ckpt --bench math500.parquet --bench aime24.parquet -n 8
      tldr-train eval -m run/round-004/ckpt --bench aime24.parquet -n 8 --data-parallel 8   # 8 GPUs
    """
    from tldr_train import evaluate

    launch.check()
    summary = evaluate.evaluate(
        model, benches, output, protocol, progress=progress_enabled(), **launch.generation()
    )
    emit_summary(summary, evaluate.render_table(summary), as_json)


@cli.command("report")
@run_option
@click.option("--tol", type=float, help="Accepted accuracy loss for the selection  [default: the run's]")
@click.option("--plot", "plot_path", type=click.Path(), help="PNG: accuracy vs tokens, ratio by round")
@click.option(
    "--test",
    "tests",
    multiple=True,
    callback=_named_paths,
    metavar="NAME=EVAL.json",
    help="Held-out result of a model (`tldr-train eval --json` output) to report as test.NAME (repeatable)",
)
@json_option
def report_command(
    run_dir: str, tol: float | None, plot_path: str | None, tests: list[tuple[str, str]], as_json: bool
) -> None:
    """Show a run's references, rounds and choice.

    A Markdown table (or --json) of the references, every round and the selected round.

    With --test, the held-out results of the compared models join the report (a `test` object, a table
    and a third plot panel).

    \b
    Example:
      tldr-train report --run run/ --plot run/pareto.png
      tldr-train report --run run/ --test system2=eval/system2.json --test tldr=eval/tldr.json --json
    """
    from tldr_train import report

    summary = report.report(run_dir, tol=tol, tests=dict(tests))
    if plot_path:
        report.plot(summary, plot_path)
    emit_summary(summary, report.render_markdown(summary), as_json)
