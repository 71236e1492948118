"""Train the reranker shipped in models/reranker (index/search/rerank.py) from the repo's own inputs.

    python bench/train_reranker.py --reqa /tmp/reqa --news /tmp/bbc --out models/reranker

Training questions, honestly obtained:
- reqa-squad questions of the articles at *even* 0-based lines of the articles file (the odd half is
  held out for measuring and is never read here);
- the news questions written for this project by reading BBC articles (bench/data/news-train-*.jsonl;
  bench/data/news-check-*.jsonl, a second set, is never trained on: adding it to training validated no
  better, so it measures the shipped model out of sample and feeds the refusal fit);
- with --unanswerable, half of those files' unanswerable questions (`split_unanswerable`), which train
  the "none of these" slot alone; the other half feeds the refusal fit. bench/question_overlap.py keeps
  the files clear of questions too close to an evaluation set's.
A few even-half articles and a fifth of the news questions (by article) are kept back to choose how
many candidates to rerank and how much the first stage's score weighs beside the model's. With
`--topics`, each news training article also gives a topic query, a watch's kind ("ferry strike"): a
few words of its title, any sentence of that article right; questions alone wear away plain topic
matches, which watches and short /ask queries need.

Each question's candidates are the engine's own first stage (so the negatives are the hard ones it
ranks high). The model is the bundled all-MiniLM-L6-v2 with a fresh one-logit head; the embeddings
stay frozen (and the lowest --frozen-layers layers), the rest and the head learn a listwise softmax
over one answering sentence and several of the first stage's best wrong ones (with --no-answer-share,
also a fixed "none of these" slot, the target for questions shown without their answer; with
--span-weight, also a token head that marks the expected answer's words, trained and dropped). The
defaults train the base model; the shipped one is a warm start from it, and bench/rebuild_reranker.sh
rebuilds it with both runs. Only the trained tensors are saved (float16), with a manifest: the
rest is the bundled base model. It is served in float32 (`--int8` quantises it: faster, but it
validated lower).

A long run goes in chunks: with `--checkpoint DIR --max-minutes 40` a chunk trains for 40 minutes, keeps
its whole state in DIR (every `--checkpoint-minutes` too) and exits 3; the same command with `--resume`
goes on from there, with the same batches as an unbroken run. `--cache` keeps the first-stage pools so a
chunk does not collect them again; `--init` starts from a trained folder instead of the base model.

Collecting the pools needs the engine and the data dirs; training needs only torch and the pools. So
`--save-pools FILE` writes them (then stops) and `--pools FILE` trains from them on another machine, a
GPU one for instance (`--device`, the GPU when there is one). `--fold K` keeps back another fifth of
the news articles, for choosing a recipe by cross-validation.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import lzma
import pickle
import random
import time
import zlib
from contextlib import closing
from dataclasses import dataclass, replace
from itertools import product
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from index.features.evaluate import Question, answer_span, by_position, contains_answer, load_questions
from index.search.cues import terms
from index.search.rerank import (
    MANIFEST,
    PRECISIONS,
    WEIGHTS,
    CrossEncoderReranker,
    Manifest,
    base_model,
    mix,
    pair_parts,
    pair_text,
)

if TYPE_CHECKING:  # the engine is loaded only to collect pools (see `_first_stage_engine`)
    from index.core.settings import Settings
    from index.engine import Engine
    from index.storage.embed import Embedder

log = logging.getLogger("train_reranker")
ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "eval" / "reqa-squad"
POOL = 30  # first-stage candidates kept per question: the rerank never reads more than this
POOL_STORIES = 10  # stories the first stage reads for a pool (see `_first_stage_settings`)
TOPS = (10, 15, 20, 30)
FIRST_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
BEFORE_WEIGHTS = (0.0, 0.5, 1.0)  # a second reading with the sentence before: see `rerank.rerank`
SECOND_READING_COST = 1.45  # a pair with the sentence before, in pairs without it (see `_pairs`)
CHECKPOINT = "training.pt"
UNFINISHED = 3  # the exit status of a chunk that ran out of --max-minutes: run it again with --resume


@dataclass
class Example:
    """One question's first-stage pool: pair parts, labels and first-stage scores, best first."""

    question: str
    parts: list[tuple[str, str, str]]  # (title, sentence, sentence before): see `pair_parts`
    labels: np.ndarray
    first: np.ndarray
    group: str  # "reqa", "news" or "topic" (training only): validation is reported per group
    answers: tuple[str, ...] = ()  # the expected answers, for --span-weight (attached after the pools)
    article: str = ""  # the question's article, for --fold (attached after the pools)

    def texts(self, before: bool) -> list[str]:
        return [pair_text(t, s, b if before else "") for t, s, b in self.parts]


Split = TypeVar("Split", Question, Example)  # what `split_news` divides by article


def collect(engine: Engine, questions: list[Question], group: str) -> list[Example]:
    """The engine's first stage for each question, as `newsbot ask` runs it. A sentence is right when
    it holds an expected answer; for a topic query, when it is of the topic's article."""
    examples = []
    queries = engine.queries([q.question for q in questions])
    for q, query in zip(questions, queries, strict=True):
        cands, first = engine.first_stage(query, None, engine.settings.max_stories)
        order = cands.best_quotable(first, POOL)
        if group == "topic":
            right = [cands.articles[cands.article_of(p)]["id"] == q.article for p in order]
        else:
            right = [contains_answer(cands.sentences[p]["text"], q.answers) for p in order]
        examples.append(
            Example(
                q.question,
                pair_parts(cands, order),
                np.asarray(right, bool),
                first[order].astype(np.float32),
                group,
            )
        )
    return examples


def topic_of(title: str, article: str, words: int = 3) -> str:
    """A watch's kind of query from a title: `words` of its content words in a row, lower-cased, from
    a place drawn by the article's id (so every run draws the same topics)."""
    content = terms(title)
    start = random.Random(article).randrange(max(1, len(content) - words + 1))
    return " ".join(content[start : start + words])


def topics(data_dir: Path, articles: list[str], words: int) -> list[Question]:
    """A topic query from each of these articles' titles (those with two content words or more)."""
    from index.engine.parts import open_store

    found = []
    with closing(open_store(_first_stage_settings(data_dir))) as store:
        for article in sorted(set(articles)):
            row = store.article_in_scope(article, None)
            query = topic_of(row["title"], article, words) if row else ""
            if len(query.split()) >= 2:
                found.append(Question(query, [], "topic", article=article))
    return found


def answer_tags(
    texts: list[str], answers: list[tuple[str, ...]], offsets: torch.Tensor, segments: list[list[int | None]]
) -> torch.Tensor:
    """Per token of each pair, 1 where it lies in the first expected answer found in the pair's text
    (not the question: only the second segment is tagged), -1 where it is no text token (ignored)."""
    tags = torch.full(offsets.shape[:2], -1.0)
    for i, (text, wanted) in enumerate(zip(texts, answers, strict=True)):
        found = answer_span(text, wanted)
        for t, segment in enumerate(segments[i]):
            if segment == 1:
                start, end = (int(x) for x in offsets[i, t])
                tags[i, t] = float(found is not None and start < found[1] and end > found[0])
    return tags


def _first_stage_settings(data_dir: Path) -> Settings:
    from index.core.settings import Settings

    # The shipped model's pools read 10 stories a question (the engine's default then; it now reads
    # 20): pinned, so the rebuild command trains on the same pools and yields the same model.
    return Settings(data_dir=data_dir, rerank=False, max_stories=POOL_STORIES, _env_file=None)


def _first_stage_key(data_dir: Path) -> str:
    """The settings that shape a question's first-stage candidates, as the pools' cache key takes them:
    only the sections the first stage reads, so a setting for feeds, storage, the bot or refusal (read
    by the answer stage alone: refitting it for a new reranker is routine) leaves the pools cached
    (collecting them again costs ~20 minutes)."""
    settings = _first_stage_settings(data_dir)
    sections = (settings.embedding, settings.vectors, settings.retrieval, settings.answers)
    return "|".join(section.model_dump_json() for section in sections)


def _first_stage_engine(data_dir: Path, embedder: Embedder | None = None) -> Engine:
    from index.engine import Engine  # here, not above: training from saved pools needs no engine

    return Engine(_first_stage_settings(data_dir), embedder=embedder)


def split_news(items: list[Split], every: int = 5, fold: int = 0) -> tuple[list[Split], list[Split]]:
    """Every `every`-th article's questions, from the `fold`-th on, go to validation (grouped by
    article, so none leaks)."""
    held = kept_back(items, every, fold)
    return [q for q in items if q.article not in held], [q for q in items if q.article in held]


def kept_back(items: list[Split], every: int = 5, fold: int = 0) -> set[str]:
    articles = sorted({q.article for q in items if q.article})
    return set(articles[fold % every :: every])


def split_unanswerable(items: list[Question]) -> tuple[list[Question], list[Question]]:
    """The unanswerable questions (no article to split by) halved by a hash of their text: the first
    half may train the "none of these" slot (--unanswerable), the second is always kept for
    bench/fit_refusal.py, whose unanswerable side they are."""

    def trains(question: Question) -> bool:
        return zlib.crc32(question.question.lower().encode()) % 2 == 1

    return [q for q in items if trains(q)], [q for q in items if not trains(q)]


def refold(pools: dict[str, list[Example]], fold: int) -> dict[str, list[Example]]:
    """The news pools split again with the `fold`-th fifth of their articles kept back (fold 0 is the
    split they were collected with, in the same order); reqa's kept-back articles stay."""
    held = kept_back(
        [e for name in ("train", "validation") for e in pools[name] if e.group == "news"], fold=fold
    )

    def validates(e: Example, before: bool) -> bool:
        return e.article in held if e.group == "news" else before

    everything = [(e, name == "validation") for name in ("train", "validation") for e in pools[name]]
    return {
        # a topic query of a kept-back article trains on nothing: its article validates
        "train": [
            e
            for e, before in everything
            if not validates(e, before) and not (e.group == "topic" and e.article in held)
        ],
        "validation": [e for e, before in everything if validates(e, before)],
    }


def train(
    examples: list[Example], args: argparse.Namespace
) -> tuple[torch.nn.Module, dict[str, float | int]] | None:
    """The model trained on ``examples``; None when ``--max-minutes`` ran out first, with the state
    checkpointed in ``--checkpoint`` for ``--resume`` to go on from (the same steps, the same batches,
    as if never stopped)."""
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    device = torch.device(args.device)
    model, tokenizer = base_model()
    if args.init:  # a warm start: another reranker folder's trained tensors over the base
        model.load_state_dict(
            {k: v.float() for k, v in load_file(str(args.init / WEIGHTS)).items()}, strict=False
        )
    layers = model.bert.encoder.layer
    for p in model.bert.embeddings.parameters():
        p.requires_grad = False
    for layer in layers[: args.frozen_layers]:
        for p in layer.parameters():
            p.requires_grad = False
    head = [p for n, p in model.named_parameters() if p.requires_grad and not n.startswith("bert.encoder")]
    body = [p for n, p in model.named_parameters() if p.requires_grad and n.startswith("bert.encoder")]
    # --span-weight: a token head, trained beside and never served, that marks the answer's words in the
    # answering sentence, so the encoder learns where an answer is and not only what the sentence is about
    spans = torch.nn.Linear(model.config.hidden_size, 1).to(device) if args.span_weight else None
    model.to(device)
    head += list(spans.parameters()) if spans else []
    optimiser = torch.optim.AdamW([{"params": body, "lr": args.lr}, {"params": head, "lr": args.head_lr}])
    slot = args.no_answer_share > 0
    # an unanswerable question ("none") trains the slot alone: all its candidates are wrong
    usable = [e for e in examples if (e.labels.any() or (slot and e.group == "none")) and (~e.labels).any()]
    news = ("news", "none")
    plan = [i for i, e in enumerate(usable) for _ in range(args.news_repeat if e.group in news else 1)]
    steps = max(1, args.epochs * len(plan) // args.batch)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / max(1, steps // 20)) * max(0.0, 1 - s / steps)
    )
    state = {"step": 0, "pairs": 0, "seconds": 0.0, "losses": [], "running": []}
    checkpoint = args.checkpoint / CHECKPOINT if args.checkpoint else None
    if args.resume and checkpoint and checkpoint.exists():
        saved = torch.load(checkpoint, weights_only=False)
        if saved["steps"] != steps or saved["questions"] != len(usable):
            raise SystemExit(
                f"{checkpoint} is of another run ({saved['steps']} steps): remove it to start anew"
            )
        model.load_state_dict(saved["model"], strict=False)
        if spans:
            spans.load_state_dict(saved["spans"])
        optimiser.load_state_dict(saved["optimiser"])
        schedule.load_state_dict(saved["schedule"])
        rng.setstate(saved["rng"])
        torch.set_rng_state(saved["torch_rng"])
        if device.type == "cuda" and saved.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(saved["cuda_rng"], device)
        plan, state = saved["plan"], saved["state"]
        log.info("resumed from %s at step %d/%d", checkpoint, state["step"], steps)
    log.info("training on %d questions (%d with repeats), %d steps", len(usable), len(plan), steps)

    def keep() -> None:
        """The whole training state, written to a temp file and renamed (a kill leaves the last one)."""
        trained = {n: t for n, t in model.state_dict().items() if not n.startswith("bert.embeddings")}
        saved = {
            "steps": steps,
            "questions": len(usable),
            "model": trained,
            "spans": spans.state_dict() if spans else None,
            "optimiser": optimiser.state_dict(),
            "schedule": schedule.state_dict(),
            "rng": rng.getstate(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state(device) if device.type == "cuda" else None,
            "plan": plan,
            "state": state,
        }
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        torch.save(saved, checkpoint.with_suffix(".tmp"))
        checkpoint.with_suffix(".tmp").replace(checkpoint)
        log.info("checkpoint at step %d/%d in %s", state["step"], steps, checkpoint)

    model.train()
    chunk_started = last_kept = time.perf_counter()
    done_before = state["seconds"]
    while state["step"] < steps:
        step = state["step"]
        if step % max(1, len(plan) // args.batch) == 0:
            rng.shuffle(plan)
        batch = [
            usable[i] for i in plan[(step * args.batch) % len(plan) :][: args.batch] or plan[: args.batch]
        ]
        questions, texts, targets, wanted_answers = [], [], [], []
        for e in batch:
            positives = np.flatnonzero(e.labels)
            answered = bool(positives.size) and (not slot or rng.random() >= args.no_answer_share)
            chosen = [int(rng.choice(positives))] if answered else []
            wanted = 1 + args.negatives - len(chosen)
            depth = args.negative_depth or 2 * wanted  # the first stage's best wrong ones
            negatives = np.flatnonzero(~e.labels)[:depth]
            chosen += [int(n) for n in rng.sample(list(negatives), min(wanted, len(negatives)))]
            chosen += [chosen[-1]] * (1 + args.negatives - len(chosen))  # pad short pools
            targets.append(int(answered) if slot else 0)
            questions += [e.question] * len(chosen)
            pair_texts = e.texts(args.before)
            texts += [pair_texts[i] for i in chosen]
            wanted_answers += [e.answers if e.labels[i] else () for i in chosen]
        enc = tokenizer(
            questions,
            texts,
            truncation="longest_first",
            max_length=args.max_length,
            padding=True,
            return_tensors="pt",
            return_offsets_mapping=bool(args.span_weight),
        )
        offsets = enc.pop("offset_mapping", None)
        segments = [enc.sequence_ids(i) for i in range(len(texts))] if spans else []
        with torch.autocast(device.type, torch.bfloat16, enabled=args.bfloat16):
            out = model(**enc.to(device), output_hidden_states=bool(args.span_weight))
        logits = out.logits.float().view(len(batch), 1 + args.negatives)
        if slot:  # slot 0: "none of these answers", a fixed logit of 0
            logits = torch.cat([torch.zeros(len(batch), 1, device=device), logits], dim=1)
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor(targets, device=device))
        if spans:
            tags = answer_tags(texts, wanted_answers, offsets, segments).to(device)
            marked = spans(out.hidden_states[-1].float()).squeeze(-1)
            kept = tags >= 0
            loss = loss + args.span_weight * torch.nn.functional.binary_cross_entropy_with_logits(
                marked[kept], tags[kept]
            )
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        state["step"] += 1
        state["pairs"] += len(texts)
        state["running"].append(loss.item())
        now = time.perf_counter()
        state["seconds"] = done_before + now - chunk_started
        if state["step"] % args.log_every == 0 or state["step"] == steps:
            state["losses"].append(round(float(np.mean(state["running"])), 4))
            log.info(
                "step %d/%d  loss %.4f  %.1f pairs/s",
                state["step"],
                steps,
                state["losses"][-1],
                state["pairs"] / state["seconds"],
            )
            state["running"] = []
        out_of_time = args.max_minutes is not None and now - chunk_started >= args.max_minutes * 60
        if (
            checkpoint
            and state["step"] < steps
            and (out_of_time or now - last_kept >= args.checkpoint_minutes * 60)
        ):
            keep()
            last_kept = now
        if out_of_time and state["step"] < steps:
            return None
    losses = state["losses"]
    return model, {
        "questions": len(usable),
        "steps": steps,
        "pairs": state["pairs"],
        "seconds": round(state["seconds"], 1),
        "loss_first": losses[0] if losses else None,
        "loss_last": losses[-1] if losses else None,
    }


def save(model: torch.nn.Module, out: Path, args: argparse.Namespace) -> Manifest:
    """Only the trained tensors, float16, and a manifest saying which layers they are."""
    out.mkdir(parents=True, exist_ok=True)
    frozen = {f"bert.encoder.layer.{i}." for i in range(args.frozen_layers)}
    delta = {
        name: tensor.detach().cpu().to(torch.float16).contiguous()
        for name, tensor in model.state_dict().items()
        if not name.startswith("bert.embeddings") and not any(name.startswith(f) for f in frozen)
    }
    save_file(delta, str(out / WEIGHTS))
    trained = list(range(args.frozen_layers, len(model.bert.encoder.layer)))
    manifest = Manifest(args.max_length, trained, quantize=args.int8, before=args.before)
    manifest.write(out)
    return manifest


def choose(reranker: CrossEncoderReranker, validation: list[Example], max_top: int) -> dict:
    """hit@1 of the first stage alone and of every (top, first_weight, before_weight) mix, per
    validation group, and the mix `pick` serves. A model trained on the sentence alone is also tried
    reading each candidate a second time with the sentence before it (keys "top/first/before")."""
    if not validation:
        return {}
    model_scores = [reranker.score(e.question, e.texts(reranker.before)) for e in validation]
    befores = BEFORE_WEIGHTS if not reranker.before else (0.0,)
    # the second reading, where there is one; else the first fills the slot `mix` never weighs at 0
    contexts = model_scores
    if befores[1:]:
        contexts = [reranker.score(e.question, e.texts(True)) for e in validation]
    table: dict[str, dict[str, float]] = {}
    for group in sorted({e.group for e in validation}):
        items = [
            (e, m, c)
            for e, m, c in zip(validation, model_scores, contexts, strict=True)
            if e.group == group and e.labels.size
        ]
        row = {"first stage": _hit1([(e, e.first) for e, _, _ in items])}
        for top, weight, before in product(TOPS, FIRST_WEIGHTS, befores):
            row[_key(top, weight, before)] = _hit1(  # the pool is in first-stage order: its head is the top
                [(e, mix(m[:top], e.first[:top], weight, c[:top], before)) for e, m, c in items]
            )
        table[group] = row
    top, weight, before = pick(table, max_top)
    return {"top": top, "first_weight": weight, "before_weight": before, "validation_hit@1": table}


def pick(table: dict[str, dict[str, float]], max_top: int) -> tuple[int, float, float]:
    """The mix with the best mean hit@1 over the groups among those that read at most `max_top` pairs
    (the latency budget; a second reading reads every candidate again, longer: `_pairs`); on a tie,
    the cheaper."""
    validated = set(next(iter(table.values())))  # a model trained on the sentence before reads once
    mixes = [
        (top, weight, before)
        for top, weight, before in product(TOPS, FIRST_WEIGHTS, BEFORE_WEIGHTS)
        if _pairs(top, before) <= max_top and _key(top, weight, before) in validated
    ]
    return max(
        mixes,
        key=lambda k: (round(np.mean([t[_key(*k)] for t in table.values()]), 4), -_pairs(k[0], k[2]), -k[2]),
    )


def _pairs(top: int, before_weight: float) -> float:
    """What a mix reads, in pairs of the first reading: the second's are longer (the sentence before
    added), each costing 1.45 of the first's (docs/benchmarks.md: 30 candidates read once and then
    again took `/ask` from 225 to 500 ms on one machine, against 189 ms for the first reading alone)."""
    return top * (1 + SECOND_READING_COST if before_weight else 1)


def _key(top: int, first_weight: float, before_weight: float) -> str:
    return f"{top}/{first_weight}/{before_weight}" if before_weight else f"{top}/{first_weight}"


def _hit1(scored: list[tuple[Example, np.ndarray]]) -> float:
    if not scored:
        return 0.0
    return round(float(np.mean([e.labels[int(np.argmax(s))] for e, s in scored])), 4)


@dataclass
class Part:
    """One group's questions (training and kept back) over its data dir, and the inputs its pools
    depend on: the question files, the data dir's index manifest (its count and change generation),
    the first stage's settings and the pools' own format."""

    group: str
    data_dir: Path
    questions: dict[str, list[Question]]
    inputs: list[Path | str]

    def cache_file(self, folder: Path) -> Path:
        digest = hashlib.sha256()
        for item in self.inputs:
            if isinstance(item, str):
                digest.update(item.encode())
            elif item.exists():  # a data dir not indexed yet has no manifest
                digest.update(item.read_bytes())
        return folder / f"{self.group}-{digest.hexdigest()[:16]}.pkl"


def every_nth(items: list[Split], share: float) -> list[Split]:
    """Every n-th of `items` for a `share` of 1/n, so each article keeps its share of questions."""
    return items[:: round(1 / share)] if share < 1.0 else items


def _parts(args: argparse.Namespace) -> list[Part]:
    even = by_position(load_questions(args.reqa_questions), args.reqa_articles, "even")
    ids = [json.loads(x)["id"] for x in args.reqa_articles.open()]
    articles = sorted({q.article for q in even}, key=ids.index)
    held = set(articles[len(articles) - args.validate_articles :]) if args.validate_articles else set()
    train = [q for q in even if q.article not in held]
    train = every_nth(train, args.reqa_share)
    reqa = {"train": train, "validation": [q for q in even if q.article in held]}
    inputs = [args.reqa_questions, args.reqa_articles, f"{args.validate_articles}/{args.reqa_share}"]
    parts = [Part("reqa", args.reqa, reqa, inputs)]
    if args.news:
        news = [q for path in args.news_questions for q in load_questions(path) if q.answers]
        train, validation = split_news(news)
        parts.append(
            Part("news", args.news, {"train": train, "validation": validation}, list(args.news_questions))
        )
        if args.unanswerable:
            unanswerable = [q for path in args.news_questions for q in load_questions(path) if not q.answers]
            inputs = [*args.news_questions, "unanswerable halves"]
            parts.append(Part("none", args.news, {"train": split_unanswerable(unanswerable)[0]}, inputs))
        if args.topics:
            found = topics(args.news, [q.article for q in train if q.article], args.topics)
            parts.append(Part("topic", args.news, {"train": found}, [*args.news_questions, f"{args.topics}"]))
    for part in parts:
        key = _first_stage_key(part.data_dir)
        part.inputs += [part.data_dir / "passages.json", key, "pools of pair parts"]
    return parts


def gather(args: argparse.Namespace) -> dict[str, list[Example]]:
    """Each part's first-stage pools, from --cache when collected before, with every question's
    expected answers and article attached."""
    pools: dict[str, list[Example]] = {"train": [], "validation": []}
    embedder = None
    for part in _parts(args):
        cached = part.cache_file(args.cache) if args.cache else None
        if cached and cached.exists():
            log.info("%s pools from %s", part.group, cached)
            got = pickle.loads(cached.read_bytes())
        else:
            with closing(_first_stage_engine(part.data_dir, embedder)) as engine:
                embedder = engine.embedder
                got = {name: collect(engine, qs, part.group) for name, qs in part.questions.items()}
            if cached:
                cached.parent.mkdir(parents=True, exist_ok=True)
                cached.write_bytes(pickle.dumps(got))
        for name, examples in got.items():  # collected in the questions' order
            pools[name] += [attach(e, q) for e, q in zip(examples, part.questions[name], strict=True)]
    return pools


def save_pools(pools: dict[str, list[Example]], path: Path) -> None:
    """The pools as plain fields (xz-compressed), so any module can read them, not only this script
    run as __main__ (whose class a pickled `Example` would name)."""
    path.write_bytes(
        lzma.compress(pickle.dumps({name: [vars(e) for e in pool] for name, pool in pools.items()}))
    )


def load_pools(path: Path) -> dict[str, list[Example]]:
    fields = pickle.loads(lzma.decompress(path.read_bytes()))
    return {name: [Example(**f) for f in pool] for name, pool in fields.items()}


def attach(example: Example, question: Question) -> Example:
    return replace(example, answers=tuple(question.answers), article=question.article or "")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reqa", type=Path, help="data dir with reqa-squad's articles ingested")
    parser.add_argument("--reqa-questions", type=Path, default=SHARED / "questions.jsonl")
    parser.add_argument("--reqa-articles", type=Path, default=SHARED / "articles.jsonl")
    parser.add_argument("--validate-articles", type=int, default=3, help="even-half articles kept back")
    parser.add_argument(
        "--reqa-share",
        type=float,
        default=1.0,
        help="train on this share of the even half's questions (every n-th): a fine-tune aimed at news "
        "keeps some of reqa so the model does not forget it, at a fraction of the steps",
    )
    parser.add_argument("--news", type=Path, help="data dir with the BBC articles ingested")
    parser.add_argument(
        "--news-questions",
        type=Path,
        nargs="+",
        default=sorted((ROOT / "bench" / "data").glob("news-train-*.jsonl")),
    )
    parser.add_argument("--out", type=Path, default=ROOT / "models" / "reranker")
    parser.add_argument(
        "--cache", type=Path, help="folder keeping the first-stage pools, one file per group and inputs"
    )
    parser.add_argument("--pools-only", action="store_true", help="collect (and cache) the pools, then stop")
    parser.add_argument(
        "--save-pools", type=Path, help="write the collected pools to this file (xz-compressed), then stop"
    )
    parser.add_argument(
        "--pools", type=Path, help="train from a --save-pools file: no engine, data dir or eval set needed"
    )
    parser.add_argument(
        "--fold",
        type=int,
        default=0,
        help="which fifth of the news articles validates (0: the shipped split)",
    )
    parser.add_argument(
        "--device",
        default="cuda" if torch.cuda.is_available() else "cpu",
        help="where to train (default: the GPU if any)",
    )
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8, help="questions per step")
    parser.add_argument("--negatives", type=int, default=4, help="wrong candidates per question per step")
    parser.add_argument(
        "--news-repeat", type=int, default=3, help="times each news question is seen per epoch"
    )
    parser.add_argument(
        "--no-answer-share",
        type=float,
        default=0.0,
        help="share of questions shown without their answer, against a 'none of these' slot, so the logit "
        "says whether anything read answers (0: no slot; the shipped warm start uses 0.25)",
    )
    parser.add_argument(
        "--unanswerable",
        action="store_true",
        help="train the slot on half the news files' unanswerable questions too, all their candidates "
        "wrong (the other half stays for the refusal fit; needs --no-answer-share)",
    )
    parser.add_argument(
        "--before",
        action="store_true",
        help="the model reads each sentence's predecessor too (tried and validated worse)",
    )
    parser.add_argument(
        "--int8",
        action="store_true",
        help="serve it int8-quantised: faster, but it validated ~1 point of hit@1 below float32",
    )
    parser.add_argument(
        "--revalidate",
        action="store_true",
        help="train nothing: re-choose --out's candidates and first-stage weight as served (with --int8 "
        "or not), keeping its training report",
    )
    parser.add_argument(
        "--max-top",
        type=int,
        default=10,
        help="most candidate pairs the served mix may read (a second reading's, with the sentence before, "
        "count 1.45 each): the latency budget of /ask (mean 250 ms, p95 400 on 2 cores); what each costs "
        "is measured in docs/benchmarks.md",
    )
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="how validation reads the saved model, as NEWSBOT_RERANK_PRECISION serves it (auto: bfloat16 "
        "where the CPU multiplies it natively)",
    )
    parser.add_argument(
        "--span-weight",
        type=float,
        default=0.0,
        help="weight of a second loss, training only: marking the expected answer's words in the answering "
        "sentence (0: off; 1.0 warm-started validated no better, docs/benchmarks.md)",
    )
    parser.add_argument(
        "--topics",
        type=int,
        default=0,
        help="words of a topic query drawn from each news training article's title, right for any of its "
        "sentences (0: none; see the docstring)",
    )
    parser.add_argument("--max-length", type=int, default=96)
    parser.add_argument(
        "--bfloat16",
        action="store_true",
        help="train in mixed precision (the weights and the optimiser stay float32): on a CPU that "
        "multiplies bfloat16 natively, 1.5x the pairs per second for the same losses",
    )
    parser.add_argument("--frozen-layers", type=int, default=0, help="lower layers kept frozen (2 was tried)")
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--head-lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--init", type=Path, help="start from this reranker folder's tensors (a warm start)")
    parser.add_argument(
        "--negative-depth",
        type=int,
        help="draw the wrong candidates from the first stage's best N wrong ones (default: twice as many "
        "as are drawn, the ones a top-10 read sees; deeper when the served mix reads more)",
    )
    parser.add_argument(
        "--checkpoint",
        type=Path,
        help=f"folder for the training state ({CHECKPOINT}), kept every few minutes",
    )
    parser.add_argument("--checkpoint-minutes", type=float, default=10.0)
    parser.add_argument(
        "--max-minutes",
        type=float,
        help=f"stop training after this long, checkpointed, exiting {UNFINISHED}: a chunk of a long run",
    )
    parser.add_argument("--resume", action="store_true", help="go on from --checkpoint's state")
    parser.add_argument("--log-every", type=int, default=50)
    args = parser.parse_args()
    if (args.max_minutes is not None or args.resume) and args.checkpoint is None:
        parser.error("--max-minutes and --resume need --checkpoint, the folder the state is kept in")
    if args.save_pools and args.reqa_share < 1.0:
        parser.error("save the pools with all of reqa's questions: give --reqa-share when training from them")
    if args.unanswerable and args.no_answer_share <= 0:
        parser.error("--unanswerable trains the 'none of these' slot: give --no-answer-share too")
    if args.reqa is None and args.pools is None:
        parser.error("give --reqa (and --news) to collect the pools, or --pools to train from saved ones")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    torch.set_num_threads(args.threads)
    started = time.perf_counter()

    if args.pools:  # saved with all of reqa's training questions: --reqa-share applies here
        log.info("pools from %s", args.pools)
        pools = load_pools(args.pools)
        reqa = every_nth([e for e in pools["train"] if e.group == "reqa"], args.reqa_share)
        pools["train"] = reqa + [e for e in pools["train"] if e.group != "reqa"]
    else:
        pools = gather(args)
    if args.save_pools:
        save_pools(pools, args.save_pools)
        log.info(
            "saved %d training and %d validation pools to %s",
            len(pools["train"]),
            len(pools["validation"]),
            args.save_pools,
        )
    if args.pools_only or args.save_pools:
        return
    pools = refold(pools, args.fold)
    log.info("pools: %d training, %d validation questions", len(pools["train"]), len(pools["validation"]))

    if args.revalidate:  # the trained tensors stay; only how they are served changes
        report = json.loads((args.out / MANIFEST).read_text(encoding="utf-8"))["training"]
        manifest = replace(Manifest.read(args.out), quantize=args.int8)
        manifest.write(args.out, training=report)
    else:
        trained = train(pools["train"], args)
        if trained is None:
            log.info("out of --max-minutes: run the same command with --resume to go on")
            raise SystemExit(UNFINISHED)
        model, report = trained
        manifest = save(model, args.out, args)
        report["total_seconds"] = round(time.perf_counter() - started, 1)
    # as served, from disk; torch's dynamic int8 runs on the CPU alone
    device = "cpu" if manifest.quantize else args.device
    reranker = CrossEncoderReranker(args.out, device=device, precision=args.precision)
    chosen = choose(reranker, pools["validation"], args.max_top)
    if chosen:
        manifest = replace(
            manifest,
            top=chosen.pop("top"),
            first_weight=chosen.pop("first_weight"),
            before_weight=chosen.pop("before_weight"),
        )
    manifest.write(args.out, training=report, **chosen)
    log.info(
        "saved %s: top %d, first_weight %s, before_weight %s, %s",
        args.out,
        manifest.top,
        manifest.first_weight,
        manifest.before_weight,
        json.dumps({**report, **chosen}),
    )


if __name__ == "__main__":
    main()
