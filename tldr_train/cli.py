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
)


@click.group(cls=TldrGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(package_name="tldr")
@debug_option
def cli() -> None:
    """Train reasoning models on TLDR mixtures in rounds, and measure them.

    \b
    Loop:
      refs    measure the System-1 / System-2 reference points on a dev set
      round   mix at the current ratio, train, evaluate on dev, update the ratio
      run     several rounds in one process
      select  pick the paper's checkpoint; report  table + plot; eval  benchmarks
    """


# --- tiny: local random models -------------------------------------------------------------------


@cli.command()
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
def tiny(output: str, corpus: tuple[str, ...], as_json: bool, **sizes) -> None:
    """Build a tiny random Qwen2 model with a locally trained tokenizer.

    The folder loads with AutoModelForCausalLM / AutoTokenizer / vllm.LLM like any Qwen checkpoint:
    ChatML chat template, <|im_end|> as eos, <think> tags as added tokens, one token per digit.

    \b
    Example:
      tldr-train tiny -o models/tiny --corpus problems.parquet
      tldr-train tiny -o models/small --hidden 256 --layers 4 --vocab-size 4000 --corpus traces/
    """
    from tldr_train.tiny import build_tiny

    summary = build_tiny(output, corpus=corpus, **sizes)
    line = (
        f"built tiny Qwen2 ({summary['parameters']:,} parameters, vocab {summary['vocab_size']:,}) "
        f"in {summary['seconds']:.1f}s -> {summary['path']}"
    )
    emit_summary(summary, line, as_json)


# --- sft: supervised fine-tuning with TRL --------------------------------------------------------


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.option("-m", "--model", required=True, help="Model folder or hub id to fine-tune")
@click.option(
    "-d", "--dataset", required=True, type=click.Path(), help="Mixture folder or prompt-completion file"
)
@output_option("Checkpoint folder (model + tokenizer + tldr_sft_config.json)")
@click.option("--max-steps", type=int, help="Optimizer steps  [default: -1, i.e. --num_train_epochs, 3]")
@click.option("--lr", type=float, help="Peak learning rate  [default: 1e-05]")
@click.option("--batch-size", type=int, help="Sequences per device per step  [default: 8]")
@click.option("--grad-accum", type=int, help="Gradient accumulation steps  [default: 1]")
@click.option(
    "--max-length", type=int, help="Tokens per sequence; longer rows are refused  [default: no limit]"
)
@click.option(
    "--truncate/--no-truncate",
    default=None,
    help="Cut rows longer than --max-length instead of refusing them",
)
@click.option("--lora/--no-lora", default=None, help="Train a LoRA adapter, merged into the saved weights")
@click.option("--lora-r", type=int, help="LoRA rank  [default: 16]")
@click.option("--lora-alpha", type=int, help="LoRA alpha  [default: 32]")
@click.option(
    "--packing/--no-packing",
    default=None,
    help="Pack sequences into max-length rows (TRL's bfd, padding-free)",
)
@click.option(
    "--bf16/--no-bf16", default=None, help="bf16 mixed precision [default: on GPUs that support it]"
)
@click.option(
    "--report-to", type=click.Choice(["none", "tensorboard", "wandb"]), help="Training logs  [default: none]"
)
@click.option("--seed", type=int, help="Random seed  [default: 0]")
@json_option
@click.argument("extra_args", nargs=-1, type=click.UNPROCESSED)
def sft(
    model: str, dataset: str, output: str, lr: float, as_json: bool, extra_args: tuple[str, ...], **options
) -> None:
    """Fine-tune a model on a mixture with TRL's SFTTrainer (loss on completions only).

    Unknown options go to TRL's SFTConfig/ModelConfig untouched, in their own spelling
    (`--lr_scheduler_type cosine`, `--warmup_ratio 0.1`, `--config recipe.yaml`). Re-running a finished
    checkpoint is a no-op; a killed run resumes from its last `checkpoint-N`.
    Across GPUs: `accelerate launch -m tldr_train.sft ...`.

    \b
    Input:  prompt-completion data (the `mixture` contract: chat-message `prompt` and `completion`)
    Output: a model folder that transformers and vLLM load as is
    Example:
      tldr-train sft -m models/tiny -d mix/ -o ckpt/ --max-steps 30 --lr 1e-3
      tldr-train sft -m Qwen/Qwen2.5-7B-Instruct -d mix/ -o ckpt/ --lora --lr_scheduler_type cosine
    """
    from tldr_train.sft import train

    summary = train(model, dataset, output, learning_rate=lr, extra_args=extra_args, **options)
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


# --- rounds: references, TLDR rounds, evaluation, checkpoint choice, report ----------------------


def decoding_options(fn):
    """The decoding protocol's options, shared by `refs` (recorded for the run) and `eval`."""
    options = [
        click.option("--temperature", type=float, default=0.7, help="Sampling temperature (0: greedy)"),
        click.option("--top-p", type=float, default=0.95, help="Nucleus sampling mass"),
        click.option("--max-tokens", type=int, default=4096, help="Completion token limit"),
        click.option("-n", type=int, default=1, help="Samples per problem (pass@n)"),
        click.option(
            "--backend",
            type=click.Choice(["vllm", "transformers"]),
            default=None,
            help="Generation engine  [default: vllm where installed, else transformers]",
        ),
        click.option(
            "--instruction", default=None, help="Instruction after each question  [default: the paper's]"
        ),
        seed_option,
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _protocol(temperature, top_p, max_tokens, n, backend, instruction, seed):
    from tldr_train.evaluate import Protocol

    extra = {} if instruction is None else {"instruction": instruction}
    return Protocol(
        temperature=temperature, top_p=top_p, max_tokens=max_tokens, n=n, backend=backend, seed=seed, **extra
    )


def parallel_options(fn):
    """How generation spreads over the GPUs: K engine processes of T GPUs each."""
    options = [
        click.option(
            "--data-parallel",
            type=int,
            default=1,
            metavar="K",
            help="Generate in K processes, each pinned to its own GPUs (one traces folder, --part I/K)",
        ),
        click.option(
            "--tensor-parallel-size", type=int, default=1, metavar="T", help="GPUs per engine (vllm)"
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def run_option(fn):
    """`--run RUN_DIR`: the run folder every round-level command works in."""
    option = click.option(
        "--run", "run_dir", required=True, type=click.Path(), help="Run folder (from `refs`)"
    )
    return option(fn)


@cli.command()
@click.option("--short-model", required=True, help="System-1 model (folder or hub id): the efficiency bound")
@click.option("--long-model", required=True, help="System-2 model: the accuracy bound and round 0's start")
@click.option("--short-pool", required=True, type=click.Path(), help="Short pool (`tldr-data select` output)")
@click.option("--long-pool", required=True, type=click.Path(), help="Long pool (`tldr-data select` output)")
@click.option("--dev", required=True, type=click.Path(), help="Dev set (`problems` Parquet)")
@output_option("Run folder to create (state.json, refs/)")
@click.option("--eta", type=float, default=4.0, help="Update step size")
@click.option("--c", "c", type=float, default=1e-4, help="Floor mass that keeps both pools alive")
@click.option("--tol", type=float, default=0.3, help="Accepted accuracy loss for checkpoint selection")
@click.option("--alpha0", type=float, default=0.5, help="Short-pool weight of round 0")
@click.option(
    "--mode", type=click.Choice(["tldr", "constant"]), default="tldr", help="constant: static baseline"
)
@decoding_options
@click.option("--steps", type=int, default=32, help="Optimizer steps per round (paper: 32)")
@click.option("--mix-size", type=int, help="Rows per mixture  [default: steps x batch size x grad accum]")
@click.option("--lr", type=float, help="Learning rate  [default: sft's, 1e-05]")
@click.option("--batch-size", type=int, default=8, help="Sequences per device per step")
@click.option("--grad-accum", type=int, default=1, help="Gradient accumulation steps")
@click.option(
    "--max-length", type=int, help="Tokens per training sequence; longer rows refused  [default: no limit]"
)
@click.option("--truncate", is_flag=True, help="Cut rows longer than --max-length instead of refusing them")
@click.option("--lr-scheduler", default="constant", help="LR schedule over the whole run (paper: constant)")
@click.option(
    "--fresh-optimizer",
    is_flag=True,
    help="Start each round's optimizer, schedule and step afresh  [default: one continuous optimisation]",
)
@click.option("--lora/--no-lora", default=None, help="Train LoRA adapters, merged into each checkpoint")
@click.option("--bf16/--no-bf16", default=None, help="bf16 mixed precision  [default: where the GPU has it]")
@click.option(
    "--gradient-checkpointing", is_flag=True, help="Recompute activations: long sequences in less memory"
)
@click.option(
    "--report-to", type=click.Choice(["none", "tensorboard", "wandb"]), default="none", help="Training logs"
)
@click.option(
    "--launcher",
    default=None,
    help="Train each round in a child process: python, 'torchrun --nproc_per_node 8', "
    "'accelerate launch --config_file recipes/accelerate/zero3.yaml'  [default: in this process]",
)
@parallel_options
@json_option
def refs(
    short_model,
    long_model,
    short_pool,
    long_pool,
    dev,
    output,
    eta,
    c,
    tol,
    alpha0,
    mode,
    temperature,
    top_p,
    max_tokens,
    n,
    backend,
    instruction,
    seed,
    steps,
    mix_size,
    lr,
    batch_size,
    grad_accum,
    max_length,
    truncate,
    lr_scheduler,
    fresh_optimizer,
    lora,
    bf16,
    gradient_checkpointing,
    report_to,
    launcher,
    data_parallel,
    tensor_parallel_size,
    as_json,
) -> None:
    """Start a run by measuring the references.

    Measures the System-1 (T_s, A_s) and System-2 (T_l, A_l) reference points on the dev set.
    The decoding protocol and training settings given here are recorded in RUN/state.json and reused by
    every round, so references and dev evaluations are measured alike. Traces stay in RUN/refs/.

    \b
    Input:  two models, two pools (`verified` rows), a dev set (`problems`)
    Output: RUN/state.json (references, eta, c, protocol, settings), RUN/refs/{short,long}/
    Example:
      tldr-train refs --short-model Qwen/Qwen2.5-7B-Instruct \\
        --long-model deepseek-ai/DeepSeek-R1-Distill-Qwen-7B \\
        --short-pool short.parquet --long-pool long.parquet --dev dev.parquet -o run/
    """
    from tldr_train.refs import refs as start_run

    training = {
        key: value
        for key, value in {
            "learning_rate": lr,
            "batch_size": batch_size,
            "grad_accum": grad_accum,
            "max_length": max_length,
            "truncate": truncate or None,
            "lr_scheduler_type": lr_scheduler,
            "lora": lora,
            "bf16": bf16,
            "gradient_checkpointing": gradient_checkpointing or None,
            "report_to": report_to,
        }.items()
        if value is not None
    }
    launch = {"train": launcher, "data_parallel": data_parallel, "tensor_parallel": tensor_parallel_size}
    summary = start_run(
        short_model,
        long_model,
        short_pool,
        long_pool,
        dev,
        output,
        protocol=_protocol(temperature, top_p, max_tokens, n, backend, instruction, seed),
        eta=eta,
        c=c,
        tol=tol,
        alpha0=alpha0,
        mode=mode,
        seed=seed,
        steps=steps,
        mix_size=mix_size,
        training=training,
        continuous=not fresh_optimizer,
        launch=launch,
        progress=progress_enabled(),
    )
    refs_ = summary["references"]
    line = (
        f"references: short {refs_['t_short']:,.1f} tok / {refs_['a_short']:.3f}, "
        f"long {refs_['t_long']:,.1f} tok / {refs_['a_long']:.3f} in {summary['seconds']:.1f}s "
        f"-> {output}/state.json"
    )
    emit_summary(summary, line, as_json)


@cli.command("round")
@run_option
@click.option("--steps", type=int, help="Optimizer steps this round  [default: the run's]")
@click.option("--mix-size", type=int, help="Rows in this round's mixture  [default: the run's]")
@json_option
def round_(run_dir: str, steps: int | None, mix_size: int | None, as_json: bool) -> None:
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
    from tldr_train.rounds import format_line, run_round

    entry = run_round(run_dir, steps=steps, mix_size=mix_size, progress=progress_enabled())
    emit_summary(entry, format_line(entry), as_json)


@cli.command("run")
@run_option
@click.option("--rounds", type=int, required=True, help="Rounds the run should have when done")
@click.option("--steps", type=int, help="Optimizer steps per round  [default: the run's]")
@click.option("--mix-size", type=int, help="Rows per mixture  [default: the run's]")
@json_option
def run_(run_dir: str, rounds: int, steps: int | None, mix_size: int | None, as_json: bool) -> None:
    """Run rounds in one process up to --rounds.

    The same loop as calling `tldr-train round` repeatedly, with the same results; re-running after a
    kill finishes the remaining rounds.

    \b
    Example:
      tldr-train run --run run/ --rounds 8
    """
    from tldr_train.rounds import format_line, run_rounds

    entries = []
    for entry in run_rounds(run_dir, rounds, steps=steps, mix_size=mix_size, progress=progress_enabled()):
        entries.append(entry)
        if not as_json:
            click.echo(format_line(entry))
    if as_json:
        click.echo(json.dumps({"run": run_dir, "rounds_run": entries}, indent=2, default=str))
    elif not entries:
        click.echo(f"{run_dir} already has {rounds} round(s); nothing to do")


@cli.command("eval")
@click.option("-m", "--model", required=True, help="Model folder or hub id to measure")
@click.option(
    "--bench", "benches", multiple=True, required=True, type=click.Path(), help="Benchmark `problems` Parquet"
)
@decoding_options
@parallel_options
@output_option("Folder to keep traces in (one subfolder per benchmark)  [default: a temporary folder]", False)
@json_option
def eval_(
    model,
    benches,
    temperature,
    top_p,
    max_tokens,
    n,
    backend,
    instruction,
    seed,
    data_parallel,
    tensor_parallel_size,
    output,
    as_json,
) -> None:
    """Measure a model's accuracy, tokens, pass@n.

    Per benchmark, and per difficulty level where the benchmark sets `difficulty`.
    Uses the same generate + verify + profile path as `refs` and `round`; pass the run's protocol
    settings to compare with its references.

    \b
    Input:  `problems` Parquet files (e.g. `tldr-data problems` on benchmark JSONL)
    Output: a Markdown table (or --json); with -o, DIR/<bench>/{traces/,verified.parquet}
    Example:
      tldr-train eval -m run/round-004/ckpt --bench math500.parquet --bench aime24.parquet -n 8
    """
    from tldr_train.evaluate import evaluate, render_table

    summary = evaluate(
        model,
        benches,
        output,
        _protocol(temperature, top_p, max_tokens, n, backend, instruction, seed),
        progress=progress_enabled(),
        processes=data_parallel if data_parallel > 1 else None,
        tensor_parallel_size=tensor_parallel_size,
    )
    emit_summary(summary, render_table(summary), as_json)


@cli.command("select")
@run_option
@click.option("--tol", type=float, help="Accepted accuracy loss  [default: the run's, 0.3]")
@json_option
def select_(run_dir: str, tol: float | None, as_json: bool) -> None:
    """Pick the checkpoint the paper would choose.

    The fewest dev tokens among rounds with dev accuracy >= (1 - tol) x A_l.

    \b
    Example:
      tldr-train select --run run/ --tol 0.3
    """
    from tldr_train.select import select

    chosen = select(run_dir, tol=tol)
    line = (
        f"round {chosen['round']}: dev accuracy {chosen['dev_accuracy']:.3f} "
        f">= {chosen['accuracy_floor']:.3f}, "
        f"{chosen['dev_tokens']:,.1f} tokens -> {chosen['checkpoint']}"
    )
    emit_summary(chosen, line, as_json)


@cli.command("report")
@run_option
@click.option("--tol", type=float, help="Accepted accuracy loss for the selection  [default: the run's]")
@click.option("--plot", "plot_path", type=click.Path(), help="PNG: accuracy vs tokens, ratio by round")
@click.option(
    "--test",
    "tests",
    multiple=True,
    metavar="NAME=EVAL.json",
    help="Held-out result of a model (`tldr-train eval --json` output) to report as test.NAME (repeatable)",
)
@json_option
def report_(
    run_dir: str, tol: float | None, plot_path: str | None, tests: tuple[str, ...], as_json: bool
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
    from tldr_train.report import plot, render_markdown, report

    named = {}
    for item in tests:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise click.BadParameter(f"{item!r}: expected NAME=EVAL.json", param_hint="--test")
        named[name] = path
    summary = report(run_dir, tol=tol, tests=named)
    if plot_path:
        plot(summary, plot_path)
    emit_summary(summary, render_markdown(summary), as_json)
