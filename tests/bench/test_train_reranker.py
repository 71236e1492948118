"""The training command end to end on a tiny corpus of our own (seconds, not the real training)."""

import argparse
import json
import os
import subprocess
import sys

import numpy as np
import torch
from safetensors.torch import load_file

from index.core.models import ArticleIn
from index.core.settings import Settings
from index.engine import Engine
from index.search.rerank import CrossEncoderReranker, base_model
from tests.bench.corpus import ingested
from tests.conftest import FIXTURES, ROOT


def test_train_reranker_builds_a_folder_the_engine_loads(tmp_path, model):
    corpus = FIXTURES / "rerank"
    data = ingested(tmp_path, model)
    out, cache = tmp_path / "reranker", tmp_path / "pools"
    inputs = [
        "--reqa-questions",
        str(corpus / "questions.jsonl"),
        "--reqa-articles",
        str(corpus / "articles.jsonl"),
        "--validate-articles",
        "1",
        "--cache",
        str(cache),
    ]
    collected = _train(["--reqa", str(data), *inputs, "--pools-only"])
    assert collected.returncode == 0, collected.stderr[-2000:]
    assert [p.name.split("-")[0] for p in cache.iterdir()] == ["reqa"] and not out.exists()
    # the pools come from the cache while their inputs and the data dir are unchanged
    done = _train(
        [
            "--reqa",
            str(data),
            *inputs,
            "--epochs",
            "2",
            "--batch",
            "2",
            "--negatives",
            "2",
            "--before",
            "--out",
            str(out),
        ]
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"reqa pools from {next(cache.iterdir())}" in done.stderr
    manifest = json.loads((out / "reranker.json").read_text())
    # the even-line articles train (r-mill); the last even one (r-bus) is kept back to validate on
    assert manifest["training"]["questions"] == 2
    assert set(manifest["validation_hit@1"]["reqa"]) >= {"first stage", "20/1.0"}
    assert manifest["trained_layers"] == [0, 1, 2, 3, 4, 5] and manifest["before"] is True
    assert manifest["top"] == 10  # --max-top's default: the latency budget, whatever validates best
    reranker = CrossEncoderReranker(out)
    scores = reranker.score(
        "who will run the mill museum", ["Mill: The trust will run it.", "Mill: It closed."]
    )
    assert scores.shape == (2,) and np.isfinite(scores).all()
    assert manifest["quantize"] is False  # served in float32 unless --int8
    # --revalidate serves the same tensors another way and re-chooses, keeping the training report
    redone = _train(["--reqa", str(data), *inputs, "--out", str(out), "--revalidate", "--int8"])
    assert redone.returncode == 0, redone.stderr[-2000:]
    revalidated = json.loads((out / "reranker.json").read_text())
    assert revalidated["quantize"] is True and revalidated["training"] == manifest["training"]
    assert set(revalidated["validation_hit@1"]["reqa"]) >= {"first stage", "20/1.0"}

    # an ingest changes what the first stage finds: the pools are collected anew
    engine = Engine(Settings(data_dir=data, rerank=False, _env_file=None), embedder=model)
    engine.ingest([ArticleIn("Mill news", "The mill museum opens in May.")])
    engine.close()
    assert _train(["--reqa", str(data), *inputs, "--pools-only"]).returncode == 0
    assert len(list(cache.iterdir())) == 2


def test_a_training_run_stopped_for_time_resumes_where_it_stopped(tmp_path, model):
    """A chunk that runs out of --max-minutes checkpoints and exits 3; --resume ends the same run with
    the same tensors as one never stopped (in mixed precision, as the shipped one trains)."""
    corpus = FIXTURES / "rerank"
    data = ingested(tmp_path, model)
    common = [
        *("--reqa", str(data), "--reqa-questions", str(corpus / "questions.jsonl")),
        *("--reqa-articles", str(corpus / "articles.jsonl"), "--validate-articles", "0"),
        *("--cache", str(tmp_path / "pools"), "--epochs", "3", "--batch", "1", "--negatives", "1"),
        *("--max-length", "32", "--negative-depth", "3", "--span-weight", "0.5"),  # its head resumes too
        "--bfloat16",
    ]
    whole = _train([*common, "--out", str(tmp_path / "whole")])
    assert whole.returncode == 0, whole.stderr[-2000:]
    state = tmp_path / "state"
    stopped = _train(
        [*common, "--out", str(tmp_path / "parts"), "--checkpoint", str(state), "--max-minutes", "0"]
    )
    assert stopped.returncode == 3, stopped.stderr[-2000:]
    assert (state / "training.pt").exists() and not (tmp_path / "parts").exists()
    resumed = _train([*common, "--out", str(tmp_path / "parts"), "--checkpoint", str(state), "--resume"])
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resumed from" in resumed.stderr and "at step 1/" in resumed.stderr
    one, other = (load_file(str(tmp_path / name / "delta.safetensors")) for name in ("whole", "parts"))
    assert one.keys() == other.keys()
    assert all(torch.allclose(one[k].float(), other[k].float(), atol=1e-3) for k in one)


def test_pools_saved_where_the_data_is_train_elsewhere_without_it(tmp_path, model):
    """--save-pools writes what the engine collected; --pools trains from that file alone (no data dir,
    no question files: a GPU machine has neither) to the same tensors as training where it was collected."""
    corpus = FIXTURES / "rerank"
    data = ingested(tmp_path, model)
    collect = [
        *("--reqa", str(data), "--reqa-questions", str(corpus / "questions.jsonl")),
        *("--reqa-articles", str(corpus / "articles.jsonl"), "--validate-articles", "1"),
    ]
    recipe = ["--epochs", "1", "--batch", "1", "--negatives", "1", "--max-length", "32", "--device", "cpu"]
    pools = tmp_path / "pools.xz"
    saved = _train([*collect, "--save-pools", str(pools), "--out", str(tmp_path / "never")])
    assert saved.returncode == 0, saved.stderr[-2000:]
    assert pools.exists() and not (tmp_path / "never").exists()
    here = _train([*collect, *recipe, "--out", str(tmp_path / "here")])
    there = _train(["--pools", str(pools), *recipe, "--out", str(tmp_path / "there")])
    assert here.returncode == 0 and there.returncode == 0, there.stderr[-2000:]
    manifests = [json.loads((tmp_path / name / "reranker.json").read_text()) for name in ("here", "there")]
    assert manifests[0]["validation_hit@1"] == manifests[1]["validation_hit@1"]
    # trained on the sentence alone, it is also validated reading each candidate again with the one before
    assert {"20/1.0", "20/1.0/0.5", "30/0.5/1.0"} <= set(manifests[0]["validation_hit@1"]["reqa"])
    assert manifests[0]["before_weight"] in (0.0, 0.5, 1.0)
    assert manifests[1]["training"]["questions"] == 2
    one, other = (load_file(str(tmp_path / name / "delta.safetensors")) for name in ("here", "there"))
    assert one.keys() == other.keys() and all(torch.equal(one[k], other[k]) for k in one)
    # --reqa-share takes every n-th of reqa's training questions from the file as collecting would
    half = _train(["--pools", str(pools), *recipe, "--reqa-share", "0.5", "--out", str(tmp_path / "half")])
    assert half.returncode == 0, half.stderr[-2000:]
    assert json.loads((tmp_path / "half" / "reranker.json").read_text())["training"]["questions"] == 1
    neither = _train(["--out", str(tmp_path / "none")])
    assert neither.returncode == 2 and "--pools" in neither.stderr


def test_the_served_mix_is_the_best_within_the_pairs_budget_a_second_reading_counted_at_its_cost(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import train_reranker

    table = {
        group: {key: 0.5 for key in ("10/0.5", "15/0.5", "20/0.5", "30/0.5", "10/0.5/1.0", "15/0.5/1.0")}
        for group in ("news", "reqa")
    }
    table["news"]["30/0.5"] = table["reqa"]["15/0.5/1.0"] = 0.7
    assert train_reranker.pick(table, 20) == (10, 0.5, 0.0)  # all alike within 20 pairs: the fewest
    # 30 read once (30 pairs) or 15 read twice (36.75, the second reading's pairs longer): the same mean,
    # and within 40 the cheaper is served...
    assert train_reranker.pick(table, 40) == (30, 0.5, 0.0)
    table["reqa"]["15/0.5/1.0"] = 0.95
    assert train_reranker.pick(table, 40) == (15, 0.5, 1.0)  # ...until the second reading earns its place
    assert train_reranker.pick(table, 30) == (30, 0.5, 0.0)  # and never past the budget


def test_pools_read_the_stories_the_shipped_model_trained_on_whatever_the_engine_reads(monkeypatch, tmp_path):
    """The engine reads 20 stories a question; the shipped model's pools read 10, and the rebuild command
    must collect the same pools to train the same model, whatever the environment says."""
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import train_reranker

    monkeypatch.setenv("NEWSBOT_MAX_STORIES", "7")
    assert train_reranker._first_stage_settings(tmp_path).max_stories == train_reranker.POOL_STORIES == 10
    assert Settings(data_dir=tmp_path, _env_file=None).max_stories == 7


def test_each_fold_keeps_back_another_fifth_of_the_news_articles(monkeypatch):
    """--fold K validates on the K-th fifth of the news articles: the five folds hold each article back
    once, never in training and validation both; fold 0 is the split the pools were collected with, and
    reqa's kept-back articles stay whatever the fold."""
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import train_reranker

    def example(group: str, article: str, n: int) -> "train_reranker.Example":
        none = np.zeros(1, np.float32)
        return train_reranker.Example(f"{article} q{n}", [], none.astype(bool), none, group, article=article)

    news = [example("news", f"n{a}", n) for a in range(10) for n in range(2)]
    train, validation = train_reranker.split_news(news)
    pools = {
        "train": [example("reqa", "r1", 0), *train, example("reqa", "r2", 0)],
        "validation": [example("reqa", "r3", 0), *validation],
    }
    assert train_reranker.refold(pools, 0) == pools
    held = []
    for fold in range(5):
        split = train_reranker.refold(pools, fold)
        kept = {e.article for e in split["validation"] if e.group == "news"}
        assert kept == {f"n{a}" for a in sorted(range(10), key=str)[fold::5]}
        assert not kept & {e.article for e in split["train"]}
        assert [e.article for e in split["train"] if e.group == "reqa"] == ["r1", "r2"]
        assert [e.article for e in split["validation"] if e.group == "reqa"] == ["r3"]
        assert len(split["train"]) + len(split["validation"]) == 23
        held += sorted(kept)
    assert sorted(held) == sorted({e.article for e in news})


def test_answer_tags_mark_the_answer_words_of_the_sentence_only(monkeypatch):
    """--span-weight's targets: the expected answer's tokens in the pair's text, found whole-word and
    whatever its case; the question's tokens and the padding are left out, a wrong sentence is all 0."""
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import train_reranker

    _, tokenizer = base_model()
    texts = ["Mill: The Heritage Trust will run it from May.", "Mill: Trustees run it."]
    enc = tokenizer(
        ["who runs the mill"] * 2, texts, padding=True, return_offsets_mapping=True, return_tensors="pt"
    )
    segments = [enc.sequence_ids(i) for i in range(2)]
    tags = train_reranker.answer_tags(
        texts, [("heritage trust", "the trust"), ("trust",)], enc["offset_mapping"], segments
    )
    tokens = [tokenizer.convert_ids_to_tokens(row) for row in enc["input_ids"]]
    assert [t for t, tag in zip(tokens[0], tags[0], strict=True) if tag == 1] == ["heritage", "trust"]
    assert all(tag == -1 for tag, seg in zip(tags[0], segments[0], strict=True) if seg != 1)
    assert not (tags[1] == 1).any()  # "trust" is no whole word of "Trustees"
    assert (tags[1] == 0).sum() == sum(seg == 1 for seg in segments[1])


def test_topic_queries_from_training_titles_are_right_for_their_article_alone(tmp_path, model, monkeypatch):
    """--topics: each news training article's title gives a watch's kind of query (content words in a
    row, the same every run), right for that article's sentences and no other's; a kept-back article
    gives none, and one kept back by another fold trains on nothing there."""
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import train_reranker

    title = "Old mill to reopen as a museum"
    topic = train_reranker.topic_of(title, "r-mill", 2)
    assert topic in {"old mill", "mill reopen", "reopen museum"}
    assert train_reranker.topic_of(title, "r-mill", 2) == topic
    corpus = FIXTURES / "rerank"
    data = ingested(tmp_path, model)
    pools = tmp_path / "pools.xz"
    saved = _train(
        [
            *("--reqa", str(data), "--reqa-questions", str(corpus / "questions.jsonl")),
            *("--reqa-articles", str(corpus / "articles.jsonl"), "--validate-articles", "1"),
            *("--news", str(data), "--news-questions", str(corpus / "questions.jsonl")),
            *("--topics", "2", "--save-pools", str(pools)),
        ]
    )
    assert saved.returncode == 0, saved.stderr[-2000:]
    collected = train_reranker.load_pools(pools)
    topics = [e for e in collected["train"] if e.group == "topic"]
    rows = [json.loads(line) for line in (corpus / "articles.jsonl").open()]
    titles = {row["id"]: row["title"] for row in rows}
    # three articles sorted: r-bus is fold 0's kept-back fifth
    assert sorted(e.article for e in topics) == ["r-mill", "r-orchard"]
    assert not any(e.group == "topic" for e in collected["validation"])
    for e in topics:
        assert e.question == train_reranker.topic_of(titles[e.article], e.article, 2)
        assert e.labels.any() and (~e.labels).any()
        assert list(e.labels) == [part[0] == titles[e.article] for part in e.parts]
    other = train_reranker.refold(collected, 1)  # fold 1 keeps r-mill back
    assert [e.article for e in other["train"] if e.group == "topic"] == ["r-orchard"]


def test_unanswerable_questions_train_the_slot_alone_and_half_stay_for_the_refusal_fit(
    tmp_path, model, monkeypatch
):
    """--unanswerable: half the news files' unanswerable questions (by their text, the same every run)
    join the training as "none" pools, every candidate wrong, target the "none of these" slot; the
    other half is never collected (bench/fit_refusal.py keeps it); without the slot it is refused."""
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import train_reranker

    corpus = FIXTURES / "rerank"
    asked = [
        "who bought the mill in 1990",
        "what will the orchard's apples sell for",
        "when did the night bus start running",
        "how many people visited the museum last year",
        "who drives the replacement taxis",
        "what did the council leader say about the orchard",
    ]
    questions = tmp_path / "news-train-x.jsonl"
    unanswerable = [
        {"id": f"u{i}", "question": q, "answers": [], "article": None} for i, q in enumerate(asked)
    ]
    questions.write_text(
        (corpus / "questions.jsonl").read_text() + "\n".join(json.dumps(q) for q in unanswerable) + "\n"
    )
    trains, stays = train_reranker.split_unanswerable(train_reranker.load_questions(questions)[6:])
    assert trains and stays and len(trains) + len(stays) == len(asked)
    data = ingested(tmp_path, model)
    news = ["--news", str(data), "--news-questions", str(questions), "--unanswerable"]
    collect = [
        *("--reqa", str(data), "--reqa-questions", str(corpus / "questions.jsonl")),
        *("--reqa-articles", str(corpus / "articles.jsonl"), "--validate-articles", "1"),
    ]
    refused = _train([*collect, *news, "--pools-only"])
    assert refused.returncode == 2 and "--no-answer-share" in refused.stderr
    pools = tmp_path / "pools.xz"
    saved = _train([*collect, *news, "--no-answer-share", "0.25", "--save-pools", str(pools)])
    assert saved.returncode == 0, saved.stderr[-2000:]
    collected = train_reranker.load_pools(pools)
    none = [e for e in collected["train"] if e.group == "none"]
    assert [e.question for e in none] == [q.question for q in trains]
    assert all(e.labels.size and not e.labels.any() for e in none)
    assert not any(e.group == "none" for e in collected["validation"])
    recipe = ["--epochs", "1", "--batch", "2", "--negatives", "1", "--max-length", "32", "--device", "cpu"]
    done = _train(
        ["--pools", str(pools), *recipe, "--no-answer-share", "0.25", "--out", str(tmp_path / "out")]
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((tmp_path / "out" / "reranker.json").read_text())["training"]
    # reqa's r-mill (2) and news r-mill + r-orchard (4) answerable, and the unanswerable half
    assert report["questions"] == 2 + 4 + len(trains)
    # without the slot an unanswerable pool has nothing to learn: it is left out
    plain = _train(["--pools", str(pools), *recipe, "--out", str(tmp_path / "plain")])
    assert plain.returncode == 0, plain.stderr[-2000:]
    assert json.loads((tmp_path / "plain" / "reranker.json").read_text())["training"]["questions"] == 6


def _train(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / "train_reranker.py"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )


def test_reqa_share_trains_on_every_nth_even_question_and_keeps_validation_whole(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "bench"))
    import train_reranker

    articles, questions = tmp_path / "articles.jsonl", tmp_path / "questions.jsonl"
    articles.write_text("\n".join(json.dumps({"id": f"a{i}", "title": "t", "text": "x."}) for i in range(6)))
    lines = [{"id": f"q{n}", "question": "q", "answers": ["x"], "article": f"a{n % 6}"} for n in range(60)]
    questions.write_text("\n".join(json.dumps(q) for q in lines))
    args = argparse.Namespace(
        reqa=tmp_path / "data",
        reqa_questions=questions,
        reqa_articles=articles,
        validate_articles=1,
        news=None,
    )
    whole, quarter = (
        train_reranker._parts(argparse.Namespace(**vars(args), reqa_share=share))[0] for share in (1.0, 0.25)
    )
    # even lines a0, a2, a4 (30 questions); a4 is kept back to validate on
    assert [q.id for q in quarter.questions["train"]] == [q.id for q in whole.questions["train"]][::4]
    assert len(whole.questions["train"]) == 20 and len(quarter.questions["train"]) == 5
    assert quarter.questions["validation"] == whole.questions["validation"]
    assert quarter.cache_file(tmp_path) != whole.cache_file(tmp_path)  # its pools are its own
    # A setting the first stage does not read (a feed's) keeps the pools; one it reads does not.
    monkeypatch.setenv("NEWSBOT_FEED_MAX_ITEMS", "7")
    monkeypatch.setenv("NEWSBOT_DATABASE_URL", "postgresql://u@h/db")
    again = train_reranker._parts(argparse.Namespace(**vars(args), reqa_share=1.0))[0]
    assert again.cache_file(tmp_path) == whole.cache_file(tmp_path)
    monkeypatch.setenv("NEWSBOT_BM25_CANDIDATES", "61")
    changed = train_reranker._parts(argparse.Namespace(**vars(args), reqa_share=1.0))[0]
    assert changed.cache_file(tmp_path) != whole.cache_file(tmp_path)
