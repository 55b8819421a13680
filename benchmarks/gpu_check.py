"""The GPU path, measured: one prepared script for one device call (issue 13).

Sections, each under its own time budget, each printing as it goes and continuing past an error:

1. environment: date, Python, torch, transformers (the sampler subclasses transformers 5.x cache
   internals: another major version is reported and the rest still runs), CUDA, the GPU;
2. ceilings: HBM copy bandwidth (bytes read + written) and bf16 matrix-product rate, measured;
3. exactness on the device: the tests' tiny enumerable models (float32, and bfloat16 weights with
   float32 logits; a tiny soft-capped Gemma 2), sampled with ``sample_responses`` and checked against
   the exhaustive enumeration (chi-square, every log-probability) and full re-scoring;
4. the workflow's ``sample`` rule (``run_sampling``) on the device for one prompt;
5. throughput: random-weight models of Gemma 2's 2B and 9B shapes, bfloat16 body, float32 logits,
   eager attention with soft-capping, prompts of the paper's lengths, 256 new tokens:
   ``sample_responses`` against ``model.generate`` with every logits processor neutralised, in the
   same process; useful tokens per second, the ratio, and the fractions of the measured memory
   bandwidth and bf16 compute limits.

    PYTHONPATH=src python benchmarks/gpu_check.py --out $OUT                 # on the GPU (~4-5 min)
    PYTHONPATH=src python benchmarks/gpu_check.py --smoke --device cpu --out /tmp/gpucheck   # tiny, CPU

Writes ``gpu_check.json`` (every number) and ``gpu_check.log`` (this output) into ``--out``; the
JSON is rewritten after each section, so a run killed at its limit still leaves what it measured.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import gc
import importlib.util
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from types import SimpleNamespace

START = time.monotonic()
ROOT = Path(__file__).resolve().parents[1]
TESTS_LM = ROOT / "tests" / "lm"

import numpy as np  # noqa: E402
import torch  # noqa: E402

# Nothing here needs a model hub (the device machine reaches none): never wait on one.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Gemma 2 shapes (the public configs of google/gemma-2-2b and -9b); weights are random.
GEMMA2_COMMON = dict(
    vocab_size=256000,
    head_dim=256,
    sliding_window=4096,
    attn_logit_softcapping=50.0,
    final_logit_softcapping=30.0,
    query_pre_attn_scalar=256,
    max_position_embeddings=8192,
    bos_token_id=2,
    eos_token_id=1,
    pad_token_id=0,
)
SHAPES = {
    "gemma2-2b": dict(
        hidden_size=2304, num_hidden_layers=26, num_attention_heads=8, num_key_value_heads=4, intermediate_size=9216
    ),
    "gemma2-9b": dict(
        hidden_size=3584, num_hidden_layers=42, num_attention_heads=16, num_key_value_heads=8, intermediate_size=14336
    ),
}
SMOKE_COMMON = dict(GEMMA2_COMMON, vocab_size=1000, head_dim=16, query_pre_attn_scalar=16)
SMOKE_SHAPES = {
    "gemma2-2b": dict(
        hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, intermediate_size=128
    ),
    "gemma2-9b": dict(
        hidden_size=96, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, intermediate_size=192
    ),
}
# Prompt lengths of the paper's prompts under Gemma 2's chat template (about 30-40 tokens for the
# Alpaca prompts, about 250 for the translated abstract); random token ids of those lengths.
PROMPT_LENGTHS = {"alpaca": 32, "abstract": 250}


DEFINITIONS = {
    "useful_tokens": "generated tokens up to and including the end-of-sequence token (generate's steps "
    "on rows that have ended do not count)",
    "forward_calls": "the model's forward calls: the prompt pass plus one per decoding step",
    "fraction_bandwidth_weights": "forward calls/s x bytes of the weights one step reads (all but the input "
    "embedding; float32 head) / measured copy bandwidth (read + write)",
    "fraction_bandwidth_weights_kv": "the same, adding the key/value bytes attention reads per step at the "
    "mean context (prompt + max_new/2, every row)",
    "fraction_bf16_compute": "2 x matmul parameters x useful tokens/s / measured bf16 matmul FLOP/s "
    "(attention's own FLOPs not counted)",
}


class SectionTimeout(Exception):
    """A section ran past its time budget (raised from SIGALRM)."""


class Report:
    """Prints with flush, mirrors everything into the log file, keeps the JSON summary on disk."""

    def __init__(self, out: Path):
        self.out = out
        out.mkdir(parents=True, exist_ok=True)
        self.log_file = open(out / "gpu_check.log", "w", buffering=1)
        self.data = {"sections": {}}

    def say(self, message: str = "") -> None:
        line = f"[{time.monotonic() - START:6.1f}s] {message}"
        print(line, flush=True)
        self.log_file.write(line + "\n")

    def save(self) -> None:
        self.data["elapsed_s"] = round(time.monotonic() - START, 1)
        partial = self.out / ".gpu_check.json.partial"
        partial.write_text(json.dumps(self.data, indent=1, default=str))
        partial.replace(self.out / "gpu_check.json")

    @contextlib.contextmanager
    def section(self, name: str, seconds: float):
        """Run a section under SIGALRM after ``seconds``; print any error and carry on."""
        seconds = max(1.0, seconds)
        self.say(f"=== {name} (budget {seconds:.0f} s) ===")
        record = self.data["sections"].setdefault(name, {})
        began = time.monotonic()

        def on_alarm(signum, frame):
            raise SectionTimeout(f"section {name!r} ran past its {seconds:.0f} s budget")

        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield record
            record["status"] = "ok"
        except Exception as error:  # noqa: BLE001 - the point is to continue with the next section
            record["status"] = f"error: {type(error).__name__}: {error}"
            self.say(f"ERROR in {name}: {type(error).__name__}: {error}")
            for line in traceback.format_exc().rstrip().splitlines()[-12:]:
                self.say("    " + line)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            record["wall_s"] = round(time.monotonic() - began, 1)
            self.say(f"--- {name}: {record['status']}, {record['wall_s']} s")
            self.save()


def fmt(result: dict) -> str:
    return ", ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in result.items())


def sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device, reps: int, warmup: int = 3) -> float:
    """Median seconds of ``fn()`` (device events on CUDA, after ``warmup`` calls)."""
    for _ in range(warmup):
        fn()
    sync(device)
    times = []
    for _ in range(reps):
        if torch.device(device).type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) / 1e3)
        else:
            began = time.perf_counter()
            fn()
            times.append(time.perf_counter() - began)
    return float(np.median(times))


def load_test_helpers():
    """The tests' tiny enumerable models and their exactness helpers, imported by path (one copy of
    that code: tests/lm/tiny_lm.py and tests/lm/test_lm_sampling.py)."""
    sys.path.insert(0, str(TESTS_LM))
    import tiny_lm

    spec = importlib.util.spec_from_file_location("gpu_check_lm_sampling", TESTS_LM / "test_lm_sampling.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tiny_lm, module.enumerate_outcomes, module.chisquare_pvalue


# --- 1. environment ---------------------------------------------------------------------------


def section_environment(report, record, device):
    import transformers

    record.update(
        date_utc=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        python=platform.python_version(),
        torch=torch.__version__,
        transformers=transformers.__version__,
        numpy=np.__version__,
        torch_cuda=torch.version.cuda,
        cuda_available=torch.cuda.is_available(),
        device=str(device),
        tf32_matmul=torch.backends.cuda.matmul.allow_tf32,
    )
    if torch.device(device).type == "cuda":
        props = torch.cuda.get_device_properties(device)
        record.update(
            gpu=props.name,
            gpu_memory_gib=round(props.total_memory / 2**30, 1),
            multiprocessors=props.multi_processor_count,
            compute_capability=f"{props.major}.{props.minor}",
        )
        with contextlib.suppress(Exception):
            record["nvidia_smi"] = subprocess.run(
                [
                    "nvidia-smi",
                    "--query-gpu=name,driver_version,clocks.sm,clocks.mem,power.draw",
                    "--format=csv,noheader",
                ],
                capture_output=True,
                text=True,
                timeout=15,
            ).stdout.strip()
    major = int(transformers.__version__.split(".")[0])
    record["transformers_major_ok"] = major == 5
    try:
        import bonkl.lm.sampling  # noqa: F401

        record["sampler_import"] = "ok"
    except SectionTimeout:
        raise
    except Exception as error:  # noqa: BLE001
        record["sampler_import"] = f"FAILED: {type(error).__name__}: {error}"
    for key, value in record.items():
        report.say(f"{key}: {value}")
    if major != 5:
        report.say(
            f"WARNING: transformers {transformers.__version__}: bonkl.lm.sampling subclasses "
            "transformers 5.x cache internals (DynamicLayer, Cache(layer_class_to_replicate=...)); "
            "its results below may fail or be wrong. The generate baseline and ceilings still run."
        )


# --- 2. ceilings ------------------------------------------------------------------------------


def section_ceilings(report, record, device, smoke):
    """Copy bandwidth (read + write bytes) and bf16 matrix-product rate, on random data."""
    elements = 1 << (20 if smoke else 29)  # bf16: 2 MiB / 1 GiB per buffer
    src = torch.randn(elements, device=device, dtype=torch.bfloat16)
    dst = torch.empty_like(src)
    seconds = timed(lambda: dst.copy_(src), device, reps=20)
    record["copy_bytes"] = 2 * src.nbytes
    record["copy_bandwidth_GBps"] = 2 * src.nbytes / seconds / 1e9
    ok = bool(torch.equal(dst, src))
    src = dst = None  # free the buffers before the matrix product
    size = 256 if smoke else 8192
    a, b = (torch.randn(size, size, device=device, dtype=torch.bfloat16) for _ in range(2))
    seconds = timed(lambda: a @ b, device, reps=10)
    record["matmul_size"] = size
    record["bf16_TFLOPs"] = 2 * size**3 / seconds / 1e12
    a = b = None
    report.say(
        f"copy bandwidth {record['copy_bandwidth_GBps']:.0f} GB/s (read + write, copy correct: {ok}); "
        f"bf16 matmul {size}^3: {record['bf16_TFLOPs']:.1f} TFLOP/s"
    )


# --- 3. exactness -----------------------------------------------------------------------------


class OnDevice:
    """Lets the tests' CPU-side enumeration run its full forward passes on the device."""

    def __init__(self, model):
        self.model = model

    def __call__(self, input_ids, **kwargs):
        out = self.model(input_ids=input_ids.to(self.model.device), **kwargs)
        return SimpleNamespace(logits=out.logits.float().cpu())


def check_exact(report, name, model, tokenizer, prompt, device, num_samples, helpers, cpu_reference=None):
    """Sample on ``device``; compare with the exhaustive enumeration (on the device, full forward
    passes, no cache) and with full re-scoring of every distinct sequence."""
    from bonkl.lm.sampling import sample_responses, score_sequences

    _, enumerate_outcomes, chisquare_pvalue = helpers
    max_new = 4
    exact = enumerate_outcomes(OnDevice(model), prompt, max_new, [0])
    began = time.perf_counter()
    frame = sample_responses(model, tokenizer, prompt, num_samples, max_new, seed=7, batch_size=256)
    seconds = time.perf_counter() - began
    observed = frame["token_ids"].map(tuple).value_counts().to_dict()
    want = frame["token_ids"].map(lambda s: exact[tuple(s)]).to_numpy()
    distinct = [list(s) for s in observed]
    rescored = dict(zip(observed, score_sequences(model, prompt, distinct)))
    rescore = frame["token_ids"].map(lambda s: rescored[tuple(s)]).to_numpy()
    result = {
        "samples": len(frame),
        "outcomes": len(exact),
        "seen_outcomes": len(observed),
        "unknown_outcomes": len(set(observed) - set(exact)),
        "sampling_s": round(seconds, 2),
        "chisquare_p": float(chisquare_pvalue(observed, exact, len(frame))),
        "max_abs_logprob_vs_enumeration": float(np.abs(frame["logprob"].to_numpy() - want).max()),
        "max_abs_logprob_vs_rescoring": float(np.abs(frame["logprob"].to_numpy() - rescore).max()),
    }
    if cpu_reference is not None:
        cpu = frame["token_ids"].map(lambda s: cpu_reference[tuple(s)]).to_numpy()
        result["max_abs_logprob_vs_cpu_float32_enumeration"] = float(np.abs(frame["logprob"].to_numpy() - cpu).max())
    report.say(f"{name}: {fmt(result)}")
    return result


def section_exactness(report, record, device, smoke, helpers):
    from bonkl.lm.load import _float32_head
    from bonkl.lm.prompts import chat_prompt_ids

    tiny_lm, enumerate_outcomes, _ = helpers
    tokenizer = tiny_lm.build_tokenizer()
    prompt = chat_prompt_ids(tokenizer, "ab")
    num = 2000 if smoke else 20_000
    model = tiny_lm.build_model()
    cpu_reference = enumerate_outcomes(model, prompt, 4, [0])  # float32 on the CPU: independent device
    model.to(device)
    record["llama_float32"] = check_exact(
        report, "tiny Llama float32", model, tokenizer, prompt, device, num, helpers, cpu_reference
    )
    model.to(torch.bfloat16)
    _float32_head(model)  # what load_model does for dtype bfloat16: float32 logits
    record["llama_bfloat16_float32_logits"] = check_exact(
        report, "tiny Llama bf16 weights, f32 logits", model, tokenizer, prompt, device, num, helpers
    )
    gemma = tiny_lm.build_gemma2().to(device)
    record["gemma2_float32_softcaps"] = check_exact(
        report, "tiny Gemma 2 float32 (soft-caps, eager)", gemma, tokenizer, prompt, device, num // 5, helpers
    )
    passed = all(r["chisquare_p"] > 1e-3 and r["unknown_outcomes"] == 0 for r in record.values() if isinstance(r, dict))
    float32_ok = all(
        record[k]["max_abs_logprob_vs_enumeration"] < 1e-5 for k in ("llama_float32", "gemma2_float32_softcaps")
    )
    record["verdict"] = {"chisquare_all_pass": passed, "float32_logprobs_within_1e-5": float32_ok}
    report.say(f"verdict: {record['verdict']}")


# --- 4. the workflow's sample rule ------------------------------------------------------------


def section_run_sampling(report, record, device, smoke):
    from dataclasses import asdict

    from bonkl.files.intermediates import SAMPLE_COLUMNS
    from bonkl.lm.load import load_model
    from bonkl.lm.prompts import chat_prompt_ids
    from bonkl.lm.sampling import score_sequences
    from bonkl.lm.settings import SamplingSettings
    from bonkl.lm.tiny import write_tiny_model
    from bonkl.pipeline.sample_step import run_sampling

    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        spec = {"path": str(write_tiny_model(Path(tmp) / "model")), "dtype": "bfloat16", "device": str(device)}
        prompt = {"id": "P3", "text": "What is the capital of France?"}
        settings = SamplingSettings(
            num_samples=100 if smoke else 2000,
            max_new_tokens=32 if smoke else 64,
            seed=0,
            shard_size=50 if smoke else 1000,
        )
        batch = {"batch_size": 32 if smoke else 256, "progress": False}
        began = time.perf_counter()
        frame = run_sampling(spec, prompt, "alpaca/P3", Path(tmp) / "a.parquet", settings, **batch)
        seconds = time.perf_counter() - began
        again = run_sampling(spec, prompt, "alpaca/P3", Path(tmp) / "b.parquet", settings, **batch)
        model, tokenizer = load_model(spec)
        head = frame.head(50)
        rescored = score_sequences(model, chat_prompt_ids(tokenizer, prompt["text"]), head["token_ids"].tolist())
    record.update(
        model_device=str(model.device),
        model_dtype=str(next(model.parameters()).dtype),
        rows=len(frame),
        columns_ok=list(frame.columns) == SAMPLE_COLUMNS,
        sampling_s=round(seconds, 2),
        finished=float(frame["finished"].mean()),
        mean_tokens=float(frame["num_tokens"].mean()),
        logprob_finite_nonpositive=bool(np.isfinite(frame["logprob"]).all() and (frame["logprob"] <= 0).all()),
        rerun_identical=bool(frame.equals(again)),
        max_abs_logprob_vs_rescoring_first50=float(np.abs(rescored - head["logprob"].to_numpy()).max()),
        settings={**asdict(settings), **batch},
    )
    report.say(fmt(record))


# --- 5. throughput ----------------------------------------------------------------------------


def id_tokenizer(vocab_size: int, eos_id: int):
    """A fast tokenizer whose tokens are the ids themselves (``<i>``): decodes any sampled id."""
    from tokenizers import Tokenizer, decoders, models
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.WordLevel(vocab={f"<{i}>": i for i in range(vocab_size)}, unk_token="<0>"))
    core.decoder = decoders.Fuse()
    return PreTrainedTokenizerFast(tokenizer_object=core, eos_token=f"<{eos_id}>", pad_token="<0>", unk_token="<0>")


def build_gemma2(shape: dict, common: dict, device):
    """Random-weight Gemma 2, built directly on the device in bfloat16, float32 logits (load_model's
    path for dtype bfloat16), eager attention (soft-capped)."""
    from transformers import AutoModelForCausalLM, Gemma2Config

    from bonkl.lm.load import _float32_head

    config = Gemma2Config(**common, **shape)
    torch.manual_seed(0)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16, attn_implementation="eager")
    _float32_head(model)
    return model.eval()


def weight_counts(model):
    """Parameters and bytes read by one decoding step: all weights but the input embedding (only
    its looked-up rows are read), the output head included."""
    embedding = model.get_input_embeddings().weight
    params = [p for p in model.parameters() if p is not embedding]
    head = model.get_output_embeddings().weight
    if head is embedding:  # tied: the head reads it all
        params.append(embedding)
    return sum(p.numel() for p in params), sum(p.numel() * p.element_size() for p in params)


def kv_bytes_per_step(config, rows: int, context: float) -> float:
    """Key/value bytes that attention reads per step (bf16), at a given context length."""
    return 2 * config.num_hidden_layers * config.num_key_value_heads * config.head_dim * 2 * rows * context


def neutral_generation_config(max_new_tokens: int, eos: int):
    """Sampling at temperature 1 with every processor off (explicitly, whatever the defaults)."""
    from transformers import GenerationConfig

    return GenerationConfig(
        do_sample=True,
        temperature=1.0,
        top_k=0,
        top_p=1.0,
        min_p=None,
        typical_p=1.0,
        epsilon_cutoff=0.0,
        eta_cutoff=0.0,
        repetition_penalty=1.0,
        no_repeat_ngram_size=0,
        min_length=0,
        min_new_tokens=None,
        max_new_tokens=max_new_tokens,
        eos_token_id=eos,
        pad_token_id=eos,
        bos_token_id=2,
        bad_words_ids=None,
        suppress_tokens=None,
        begin_suppress_tokens=None,
        forced_bos_token_id=None,
        forced_eos_token_id=None,
        renormalize_logits=False,
        remove_invalid_values=False,
        exponential_decay_length_penalty=None,
        sequence_bias=None,
        return_dict_in_generate=True,
    )


class ForwardCounter:
    """Counts the model's forward calls (decoding steps, the prompt pass included)."""

    def __init__(self, model):
        self.calls = 0
        model.register_forward_pre_hook(self._hook)

    def _hook(self, module, args):
        self.calls += 1


def spy_logits_processors(model, seen: list):
    """Record the processors that generate builds (transformers' private hook; absent: not checked)."""
    original = getattr(model, "_get_logits_processor", None)
    if original is None:
        return

    def spy(*args, **kwargs):
        processors = original(*args, **kwargs)
        seen.append([type(p).__name__ for p in processors])
        return processors

    model._get_logits_processor = spy


def run_generate(model, prompt_ids, rows, max_new, eos, device, seen):
    torch.manual_seed(0)
    inputs = torch.tensor([prompt_ids], device=device).expand(rows, -1)
    out = model.generate(
        inputs, attention_mask=torch.ones_like(inputs), generation_config=neutral_generation_config(max_new, eos)
    )
    generated = out.sequences[:, len(prompt_ids) :]
    ended = generated == eos
    lengths = torch.where(ended.any(1), ended.int().argmax(1) + 1, generated.shape[1])
    cache = type(getattr(out, "past_key_values", None)).__name__
    return int(lengths.sum()), {"cache": cache, "processors": seen[-1] if seen else "not checked"}


def run_bonkl(model, tokenizer, prompt_ids, rows, max_new, keep=None):
    from bonkl.lm.sampling import sample_responses

    frame = sample_responses(model, tokenizer, prompt_ids, rows, max_new, seed=0, batch_size=rows)
    if keep is not None:
        keep["frame"] = frame
    return int(frame["num_tokens"].sum()), {"finished": float(frame["finished"].mean())}


def rescoring_gap(report, model, prompt_ids, frame, count=8):
    """bf16 body: incremental decoding against one full forward pass per sample, at scale."""
    from bonkl.lm.sampling import score_sequences

    head = frame.head(count)
    gap = np.abs(score_sequences(model, prompt_ids, head["token_ids"].tolist()) - head["logprob"].to_numpy())
    result = {
        "samples": len(head),
        "max_abs": float(gap.max()),
        "max_abs_per_token": float((gap / head["num_tokens"].to_numpy()).max()),
        "mean_logprob": float(head["logprob"].mean()),
    }
    report.say(
        f"  re-scoring gap (bf16 body, f32 logits; {len(head)} samples): max |logprob - full forward| "
        f"{result['max_abs']:.3g} nats ({result['max_abs_per_token']:.2g} per token; "
        f"logprob about {result['mean_logprob']:.0f})"
    )
    return result


def measure(report, label, fn, model, counter, device, ceilings, params, weight_bytes, kv_bytes):
    """Run ``fn`` once, timed; useful tokens/s and the fractions of the two ceilings."""
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    sync(device)
    calls, began = counter.calls, time.perf_counter()
    useful, extra = fn()
    sync(device)
    seconds = time.perf_counter() - began
    steps = counter.calls - calls
    result = {
        "useful_tokens": useful,
        "seconds": round(seconds, 3),
        "forward_calls": steps,
        "useful_tokens_per_s": useful / seconds,
        "steps_per_s": steps / seconds,
        "ms_per_step": 1e3 * seconds / max(steps, 1),
        **extra,
    }
    bandwidth, flops = ceilings.get("copy_bandwidth_GBps"), ceilings.get("bf16_TFLOPs")
    if bandwidth:
        result["fraction_bandwidth_weights"] = steps / seconds * weight_bytes / (bandwidth * 1e9)
        result["fraction_bandwidth_weights_kv"] = steps / seconds * (weight_bytes + kv_bytes) / (bandwidth * 1e9)
    if flops:
        result["fraction_bf16_compute"] = 2 * params * useful / seconds / (flops * 1e12)
    if device.type == "cuda":
        result["peak_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    report.say(f"  {label}: {fmt(result)}")
    return result


def section_throughput(report, record, device, name, shape, common, batches, prompts, max_new, deadline):
    """Build the model on the device, then per (prompt, batch): generate, then sample_responses."""
    free_memory(device)  # the previous section's model, if any
    began = time.perf_counter()
    model = build_gemma2(shape, common, device)
    sync(device)
    params, weight_bytes = weight_counts(model)
    eos = common["eos_token_id"]
    tokenizer = id_tokenizer(common["vocab_size"], eos)
    record.update(
        build_s=round(time.perf_counter() - began, 1),
        params_matmul=params,
        weight_bytes_per_step=weight_bytes,
        dtype="bfloat16 body, float32 head",
        attention=model.config._attn_implementation,
        device=str(next(model.parameters()).device),
    )
    report.say(
        f"{name}: built in {record['build_s']} s; {params / 1e9:.2f} G matmul parameters, "
        f"{weight_bytes / 1e9:.2f} GB read per step (bf16 body + float32 head)"
    )
    counter, seen = ForwardCounter(model), []
    spy_logits_processors(model, seen)
    rng = np.random.default_rng(0)
    ceilings = report.data["sections"].get("ceilings", {})
    with torch.inference_mode():  # warm-up: kernels, handles, allocator
        warm = [2] + rng.integers(3, common["vocab_size"], 8).tolist()
        run_generate(model, warm, 2, 4, eos, device, seen)
    try:  # without the sampler (another transformers, say) the baseline's numbers still come
        run_bonkl(model, tokenizer, warm, 2, 4)
        bonkl_error = None
    except SectionTimeout:
        raise
    except Exception as error:  # noqa: BLE001
        bonkl_error = record["bonkl_error"] = f"{type(error).__name__}: {error}"
        report.say(f"{name}: bonkl's sampler fails ({bonkl_error}); measuring generate alone")
    runs, step_ms = record.setdefault("runs", []), None
    for prompt_name, batch in [(p, b) for p in prompts for b in batches]:
        length = PROMPT_LENGTHS[prompt_name]
        ids = [2] + rng.integers(3, common["vocab_size"], length - 1).tolist()
        # Two runs of about max_new steps each; a step's time grows with the batch, slower than linearly
        # (launch overhead dominates at these batches); the alarm is the backstop.
        scale = max(1.0, batch / runs[-1]["batch"]) ** 0.5 if runs else 1.0
        guess = 2 * max_new * (step_ms or 60.0) / 1e3 * scale
        left = deadline - time.monotonic()
        if guess > left:
            report.say(f"  skipped {prompt_name} x batch {batch}: about {guess:.0f} s needed, {left:.0f} s left")
            runs.append({"prompt": prompt_name, "batch": batch, "skipped": f"needs ~{guess:.0f} s, {left:.0f} s left"})
            continue
        kv = kv_bytes_per_step(model.config, batch, length + max_new / 2)
        run = {
            "prompt": prompt_name,
            "prompt_tokens": length,
            "batch": batch,
            "max_new_tokens": max_new,
            "kv_bytes_per_step_mean": kv,
        }
        report.say(f"{name}, {prompt_name} prompt ({length} tokens), batch {batch}, {max_new} new tokens:")
        args = (model, counter, device, ceilings, params, weight_bytes, kv)
        with torch.inference_mode():
            run["generate"] = measure(
                report, "generate", lambda: run_generate(model, ids, batch, max_new, eos, device, seen), *args
            )
        try:
            if bonkl_error:
                raise RuntimeError(f"sampler unavailable: {bonkl_error}")
            keep = {}
            run["bonkl"] = measure(
                report, "bonkl   ", lambda: run_bonkl(model, tokenizer, ids, batch, max_new, keep), *args
            )
            run["ratio_bonkl_over_generate"] = (
                run["bonkl"]["useful_tokens_per_s"] / run["generate"]["useful_tokens_per_s"]
            )
            report.say(f"  ratio bonkl / generate (useful tokens/s): {run['ratio_bonkl_over_generate']:.2f}x")
            if "rescoring_gap" not in record:
                record["rescoring_gap"] = rescoring_gap(report, model, ids, keep.pop("frame"))
        except SectionTimeout:
            raise
        except Exception as error:  # noqa: BLE001 - keep the baseline's numbers
            run["bonkl"] = f"error: {type(error).__name__}: {error}"
            report.say(f"  bonkl ERROR: {type(error).__name__}: {error}")
        step_ms = max(
            run["generate"]["ms_per_step"], run["bonkl"]["ms_per_step"] if isinstance(run["bonkl"], dict) else 0
        )
        runs.append(run)
        report.save()
    distinct = sorted({tuple(names) for names in seen})
    record["generate_logits_processors"] = [list(names) for names in distinct] if seen else "not checked"
    report.say(
        f"{name}: generate's logits processors over {len(seen)} calls: "
        + (("none" if distinct == [()] else str(distinct)) if seen else "not checked (no hook)")
    )
    model = counter = seen = None  # let the caller free the GPU memory
    free_memory(device)


def free_memory(device) -> None:
    """Collect the reference cycles that keep a model alive (hooks, the spy), then return its memory."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


# --- main -------------------------------------------------------------------------------------


def summary_table(report):
    report.say("=== summary: useful tokens/s (fraction of bandwidth limit, weights only | + KV; of bf16 compute) ===")
    for name in SHAPES:
        for run in report.data["sections"].get(f"throughput {name}", {}).get("runs", []):
            if "skipped" in run:
                continue
            cells = []
            for method in ("generate", "bonkl"):
                r = run.get(method)
                cells.append(
                    f"{method} {r['useful_tokens_per_s']:8.0f} ({r.get('fraction_bandwidth_weights', 0):.3g}"
                    f" | {r.get('fraction_bandwidth_weights_kv', 0):.3g}; {r.get('fraction_bf16_compute', 0):.3g})"
                    if isinstance(r, dict)
                    else f"{method} {r}"
                )
            ratio = run.get("ratio_bonkl_over_generate")
            report.say(
                f"{name:10s} {run['prompt']:8s} batch {run['batch']:4d}: "
                + " | ".join(cells)
                + (f" | ratio {ratio:.2f}x" if ratio else "")
            )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder for gpu_check.json and gpu_check.log")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--smoke", action="store_true", help="tiny shapes (a CPU run in about a minute)")
    parser.add_argument(
        "--budget",
        type=float,
        default=None,
        help="seconds for the whole script (default 450 on the GPU, 115 with --smoke)",
    )
    parser.add_argument("--max-new-tokens", type=int, default=None, help="default 256 (16 with --smoke)")
    args = parser.parse_args(argv)
    report = Report(Path(args.out))
    with contextlib.suppress(Exception):  # the loaders' progress bars would fill the log
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
    device = torch.device(args.device)
    budget = args.budget or (115.0 if args.smoke else 450.0)
    max_new = args.max_new_tokens or (16 if args.smoke else 256)
    shapes, common = (SMOKE_SHAPES, SMOKE_COMMON) if args.smoke else (SHAPES, GEMMA2_COMMON)
    report.data.update(
        budget_s=budget, smoke=args.smoke, max_new_tokens=max_new, argv=sys.argv[1:], definitions=DEFINITIONS
    )
    if args.smoke and device.type == "cpu":
        torch.set_num_threads(1)  # tiny models: threads only wait for each other on a shared CPU
    report.say(f"gpu_check: device {device}, smoke {args.smoke}, budget {budget:.0f} s, {max_new} new tokens")

    def until(fraction):
        """Seconds from now to ``fraction`` of the budget: a section ending early leaves its time to
        the next; one running late is stopped there."""
        return START + fraction * budget - time.monotonic()

    # Each section gets at least a floor of seconds: slow imports on a loaded machine must not starve
    # the short checks; the throughput runs skip what no longer fits.
    with report.section("environment", max(30, until(0.1))) as record:
        section_environment(report, record, device)
    with report.section("ceilings", max(15, until(0.15))) as record:
        section_ceilings(report, record, device, args.smoke)
    with report.section("exactness", max(30, until(0.35))) as record:
        section_exactness(report, record, device, args.smoke, load_test_helpers())
    with report.section("run_sampling", max(30, until(0.45))) as record:
        section_run_sampling(report, record, device, args.smoke)
    plans = [("gemma2-2b", [4, 8] if args.smoke else [64, 256], 0.78), ("gemma2-9b", [4] if args.smoke else [64], 1.0)]
    for name, batches, fraction in plans:
        with report.section(f"throughput {name}", until(fraction)) as record:
            section_throughput(
                report,
                record,
                device,
                name,
                shapes[name],
                common,
                batches,
                list(PROMPT_LENGTHS),
                max_new,
                deadline=START + fraction * budget - 2,
            )
    summary_table(report)
    report.say(f"done in {time.monotonic() - START:.0f} s; wrote {report.out / 'gpu_check.json'} and gpu_check.log")
    report.save()


if __name__ == "__main__":
    main()
